package main

// Container tests: `make image` builds the image (deploy/Dockerfile) with
// podman, and the image imports into `insider-import fake` on the host's
// loopback the way a Kubernetes pod runs it: as user 65532 on a read-only
// root filesystem, with the config and the API key mounted read-only as
// files, the data mounted read-only and a writable volume for the
// checkpoint and rejects. Skipped when podman is absent, except under CI.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	imageOnce    sync.Once
	imageRef     string // NAME:VERSION, removed by removeImage
	imageVersion string
	imageErr     error
)

// removeImage removes the tag the container tests built (TestMain calls it);
// the layers stay shared with :latest.
func removeImage() {
	if imageRef != "" {
		_ = exec.Command("podman", "rmi", imageRef).Run()
	}
}

// podmanImage returns the image `make image` builds, building it on first
// use. It skips the test when podman is missing, unless CI is set.
func podmanImage(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("container tests build an image and run containers; skipped with -short")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("podman not found: CI must run the container tests (.ci/run installs podman and runc)")
		}
		t.Skip("podman not found; the container tests need it (apt-get install podman runc, see .ci/run)")
	}
	imageOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			imageErr = err
			return
		}
		name, err := exec.Command("make", "-s", "--no-print-directory", "-C", root, "image-name").Output()
		if err != nil {
			imageErr = fmt.Errorf("make image-name: %w", err)
			return
		}
		// A tag of this test run's own: tests of other checkouts on the
		// same machine may build and tag :latest at the same time.
		imageVersion = fmt.Sprintf("test-%d", os.Getpid())
		cmd := exec.Command("make", "-C", root, "image", "CONTAINER_TOOL=podman", "VERSION="+imageVersion)
		cmd.Env = append(childEnv(), "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("make image: %v\n%s", err, tail(out, 4000))
			return
		}
		imageRef = strings.TrimSpace(string(name)) + ":" + imageVersion
	})
	require.NoError(t, imageErr)
	return imageRef
}

// podman runs podman with args and returns its exit code and output.
func podman(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("podman", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestContainerImage checks what the image is: user 65532, the entrypoint,
// /work as the working directory, no shell, and `version` printing the
// commit `make image` stamped.
func TestContainerImage(t *testing.T) {
	image := podmanImage(t)
	code, out := podman(t, "image", "inspect", "--format",
		"{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.Entrypoint}}|{{.Size}}", image)
	require.Equal(t, 0, code, out)
	parts := strings.Split(strings.TrimSpace(out), "|")
	require.Len(t, parts, 4, out)
	assert.Equal(t, "65532:65532", parts[0], "user")
	assert.Equal(t, "/work", parts[1], "working directory")
	assert.Equal(t, `["/insider-import"]`, parts[2], "entrypoint")
	t.Logf("image %s: %s bytes", image, parts[3])

	commit, err := exec.Command("git", "rev-parse", "HEAD").Output()
	require.NoError(t, err)
	code, out = podman(t, "run", "--rm", "--read-only", image, "version")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "insider-import "+imageVersion+"\n", "the version make image stamped")
	assert.Contains(t, out, "commit "+strings.TrimSpace(string(commit)))
	assert.Regexp(t, `(?m)^go1\.\d+`, out)

	code, out = podman(t, "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true")
	assert.NotEqual(t, 0, code, "the image has no shell: %s", out)
}

// containerEnv is the host side of a container import: the config, key,
// data and work directories that are mounted into it.
type containerEnv struct {
	image, config, key, data, work string
	d                              *e2eData
}

const (
	containerConfig = "/etc/insider-import/import.yaml"
	containerKey    = "/var/run/secrets/insider/key"
)

func newContainerEnv(t *testing.T, image string, f *fake, d *e2eData, batchUsers, workers int, rps float64) *containerEnv {
	t.Helper()
	dir := t.TempDir()
	e := &containerEnv{image: image, d: d,
		config: filepath.Join(dir, "import.yaml"), key: filepath.Join(dir, "key"),
		data: filepath.Join(dir, "data"), work: filepath.Join(dir, "work")}
	require.NoError(t, os.Mkdir(e.data, 0o755))
	require.NoError(t, os.Mkdir(e.work, 0o755))
	// The volume is writable by the container's user, as fsGroup makes an
	// emptyDir or PVC in Kubernetes.
	require.NoError(t, os.Chmod(e.work, 0o777))
	writeCSV(t, filepath.Join(e.data, "users.csv"), e2eHeader, d.rows)

	cfg := e2eConfig("/data/users.csv", f.Port, batchUsers, workers, rps)
	require.Contains(t, cfg, "api_key_env: INSIDER_API_KEY")
	cfg = strings.Replace(cfg, "api_key_env: INSIDER_API_KEY", "api_key_file: "+containerKey, 1)
	require.NoError(t, os.WriteFile(e.config, []byte(cfg), 0o644))
	require.NoError(t, os.WriteFile(e.key, []byte(testKey+"\n"), 0o600))
	// A Secret volume's files belong to the pod's group; here the key is
	// the container user's own.
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chown(e.key, 65532, 65532))
	} else {
		require.NoError(t, os.Chmod(e.key, 0o644))
	}
	return e
}

// runArgs is the podman command line of an import in a container named name.
func (e *containerEnv) runArgs(name string) []string {
	return []string{"run", "--rm", "--name", name,
		"--read-only", "--user", "65532:65532", "--network", "host", "--http-proxy=false",
		"-v", e.config + ":" + containerConfig + ":ro",
		"-v", e.key + ":" + containerKey + ":ro",
		"-v", e.data + ":/data:ro",
		"-v", e.work + ":/work",
		e.image,
		"run", "-c", containerConfig, "--checkpoint", "/work/checkpoints", "--report", "/work/report.json",
		"--progress", "none", "--log-format", "json"}
}

func containerName(suffix string) string {
	return fmt.Sprintf("insider-import-test-%d-%s", os.Getpid(), suffix)
}

// startContainer starts `podman run` for an import; the container is
// removed when the test ends if it still runs.
func startContainer(t *testing.T, e *containerEnv, name string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command("podman", e.runArgs(name)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.start = time.Now()
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		p.res.Elapsed = time.Since(p.start)
		p.res.Code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = exec.Command("podman", "rm", "-f", "-t", "0", name).Run()
			<-p.done
		}
	})
	return p
}

// TestContainerImport imports ~1,400 rows with invalid ones in a container:
// exactly the valid events arrive once, the report adds up, the rejects and
// checkpoint are in the work volume (mode 0600, owned by 65532), the key is
// printed nowhere, and a second run finds the file finished.
func TestContainerImport(t *testing.T) {
	image := podmanImage(t)
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	d := genE2E(t, time.Now(), 21, 400, true)
	require.NotEmpty(t, d.invalid)
	e := newContainerEnv(t, image, f, d, 25, 4, 500)

	res := startContainer(t, e, containerName("import")).wait(t, 3*time.Minute)
	require.Equal(t, 3, res.Code, "exit 3: finished with rejects\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assert.NotContains(t, res.Stdout+res.Stderr, testKey, "the key is printed nowhere")

	assertExactlyOnce(t, d.expected, f.Events(t))
	rep := readReport(t, filepath.Join(e.work, "report.json"))
	assertCountsAddUp(t, rep.Counts)
	assert.Equal(t, d.want, rep.Counts, "report counters vs the generated input")
	assert.Equal(t, f.Stats(t).Requests, rep.Requests)

	// What the container wrote: the report, the checkpoint and the rejects
	// (beside the checkpoint by default), all in the volume.
	rejects := filepath.Join(e.work, "checkpoints", "insider-import-rejects.jsonl")
	assert.Len(t, readRejects(t, rejects), len(d.invalid))
	cp, ok := readCheckpoint(t, filepath.Join(e.work, "checkpoints"))
	require.True(t, ok, "a checkpoint in the volume")
	require.Contains(t, cp.Files, "/data/users.csv")
	assert.True(t, cp.Files["/data/users.csv"].Finished)
	for _, p := range []string{rejects, filepath.Join(e.work, "report.json")} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode of %s", p)
		assert.Equal(t, uint32(65532), fi.Sys().(*syscall.Stat_t).Uid, "owner of %s", p)
	}

	before := f.Stats(t).Requests
	res = startContainer(t, e, containerName("again")).wait(t, 3*time.Minute)
	require.Equal(t, 0, res.Code, "second run\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stdout, "finished by an earlier run")
	assert.Equal(t, before, f.Stats(t).Requests, "a finished file is not sent again")
}

// TestContainerStopResume stops a container import with `podman stop`
// (SIGTERM, then SIGKILL after 30s) mid-run: it exits 143 with the checkpoint
// saved in the volume, and a second container resumes it to exactly the full
// set of events.
func TestContainerStopResume(t *testing.T) {
	image := podmanImage(t)
	f := startFake(t, "--token", testKey, "--delay", "20ms")
	d := genE2E(t, time.Now(), 22, 4000, false)
	// 20 users a request at 15 requests/s: about 13s for the whole file.
	e := newContainerEnv(t, image, f, d, 20, 2, 15)

	name := containerName("stop")
	p := startContainer(t, e, name)
	deadline := time.Now().Add(2 * time.Minute)
	for f.Stats(t).Accepted < 20 {
		if p.exited() { // its output is complete only once it has exited
			t.Fatalf("the import ended before it was stopped (exit %d):\n%s", p.res.Code, tail(p.stderr.Bytes(), 3000))
		}
		require.True(t, time.Now().Before(deadline), "fewer than 20 requests accepted within 2 minutes")
		time.Sleep(100 * time.Millisecond)
	}
	code, out := podman(t, "stop", "-t", "30", name)
	require.Equal(t, 0, code, "podman stop: %s", out)
	res := p.wait(t, time.Minute)
	require.Equal(t, 143, res.Code, "exit 143 on SIGTERM\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))

	cp, ok := readCheckpoint(t, filepath.Join(e.work, "checkpoints"))
	require.True(t, ok, "the checkpoint is saved in the volume")
	require.Contains(t, cp.Files, "/data/users.csv")
	assert.False(t, cp.Files["/data/users.csv"].Finished, "stopped mid-run")
	assert.Less(t, len(f.Events(t)), len(d.expected), "stopped before every event was sent")

	res = startContainer(t, e, containerName("resume")).wait(t, 3*time.Minute)
	require.Equal(t, 0, res.Code, "resumed run\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assertExactlyOnce(t, d.expected, f.Events(t))
	cp, _ = readCheckpoint(t, filepath.Join(e.work, "checkpoints"))
	assert.True(t, cp.Files["/data/users.csv"].Finished)
	t.Logf("events %d; fake: %d requests, %d accepted", len(d.expected), f.Stats(t).Requests, f.Stats(t).Accepted)
}

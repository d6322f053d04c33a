package main

// Helpers for the end-to-end and crash tests: they run the real binary (built
// once per test binary run, without -race) against `insider-import fake`
// started as a separate process on loopback, and inspect the fake over HTTP.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/fakeapi"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeImage()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary returns the path of insider-import built from this package, building
// it on first use. It is built without -race even when the tests run with it:
// the processes under test should run at production speed.
// INSIDER_IMPORT_E2E_BINARY, if set, names a binary to test instead (another
// build of the same commands, e.g. a release candidate).
func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests build and run the binary; skipped with -short")
	}
	buildOnce.Do(func() {
		if p := os.Getenv("INSIDER_IMPORT_E2E_BINARY"); p != "" {
			buildBin, buildErr = filepath.Abs(p)
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "insider-import-e2e-")
		if buildErr != nil {
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		buildBin = filepath.Join(buildDir, "insider-import")
		cmd := exec.Command(gobin, "build", "-o", buildBin, ".")
		cmd.Env = append(os.Environ(), "GOFLAGS=") // no -race or other flags from the environment
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return buildBin
}

// childEnv is the environment for processes under test: the caller's, minus
// variables that would change what the binary does (shard index, key,
// partner), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "JOB_COMPLETION_INDEX", "INSIDER_API_KEY", "INSIDER_PARTNER_NAME", "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// fake is a running `insider-import fake` process.
type fake struct {
	URL     string // http://127.0.0.1:PORT
	Port    string
	cmd     *exec.Cmd
	stderr  string // path of its log
	done    chan struct{}
	waitErr error
}

// startFake starts `insider-import fake --addr 127.0.0.1:0 args...` and
// returns once it prints the address it listens on. The process is stopped
// when the test ends.
func startFake(t *testing.T, args ...string) *fake {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "fake.out"))
	require.NoError(t, err)
	defer stdout.Close()
	f := &fake{stderr: filepath.Join(dir, "fake.log"), done: make(chan struct{})}
	stderr, err := os.Create(f.stderr)
	require.NoError(t, err)
	defer stderr.Close()

	f.cmd = exec.Command(bin, append([]string{"fake", "--addr", "127.0.0.1:0"}, args...)...)
	f.cmd.Env = childEnv("INSIDER_API_KEY=")
	f.cmd.Stdout, f.cmd.Stderr = stdout, stderr
	require.NoError(t, f.cmd.Start())
	go func() { f.waitErr = f.cmd.Wait(); close(f.done) }()
	t.Cleanup(func() {
		f.stop(t)
		if t.Failed() {
			if b, err := os.ReadFile(f.stderr); err == nil {
				t.Logf("fake log (last 3000 bytes):\n%s", tail(b, 3000))
			}
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(stdout.Name())
		if line, _, ok := bytes.Cut(b, []byte("\n")); ok {
			const prefix = "fake Insider API listening on "
			s := string(line)
			require.Truef(t, strings.HasPrefix(s, prefix), "first line of the fake: %q", s)
			f.URL = strings.TrimPrefix(s, prefix)
			f.Port = f.URL[strings.LastIndexByte(f.URL, ':')+1:]
			require.True(t, strings.HasPrefix(f.URL, "http://127.0.0.1:"), f.URL)
			return f
		}
		select {
		case <-f.done:
			log, _ := os.ReadFile(f.stderr)
			t.Fatalf("the fake exited before listening (%v):\n%s", f.waitErr, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the fake did not print its address within 15s")
		}
	}
}

// stop ends the fake with SIGTERM (it shuts down cleanly) and kills it if it
// does not exit within 10s.
func (f *fake) stop(t *testing.T) {
	select {
	case <-f.done:
		return
	default:
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		t.Errorf("the fake did not stop within 10s of SIGTERM; killing it")
		_ = f.cmd.Process.Kill()
		<-f.done
	}
}

var httpClient = &http.Client{
	Transport: &http.Transport{Proxy: nil}, // loopback only, never through a proxy
	Timeout:   60 * time.Second,
}

func (f *fake) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := httpClient.Get(f.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", path)
	dec := json.NewDecoder(resp.Body)
	require.NoError(t, dec.Decode(v), "GET %s", path)
}

// Stats returns GET /stats.
func (f *fake) Stats(t *testing.T) fakeapi.Stats {
	t.Helper()
	var st fakeapi.Stats
	f.getJSON(t, "/stats", &st)
	return st
}

// EventsRaw returns the body of GET /events (a JSON object: event key →
// deliveries), undecoded.
func (f *fake) EventsRaw(t *testing.T) []byte {
	t.Helper()
	resp, err := httpClient.Get(f.URL + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /events")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// Events returns GET /events: event key → deliveries.
func (f *fake) Events(t *testing.T) map[string]int {
	t.Helper()
	ev := map[string]int{}
	f.getJSON(t, "/events", &ev)
	return ev
}

// result is how one run of the binary ended.
type result struct {
	Code     int // exit code; -1 when killed by a signal
	Signaled bool
	Stdout   string
	Stderr   string
	Elapsed  time.Duration
}

// proc is a running import.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	start          time.Time
	done           chan struct{}
	res            result
}

// startImport starts the binary with args and env (added to childEnv). The
// process is killed when the test ends if it is still running.
func startImport(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Env = childEnv(env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.start = time.Now()
	require.NoError(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		p.res.Elapsed = time.Since(p.start)
		p.res.Code = p.cmd.ProcessState.ExitCode()
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.res.Signaled = true
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.res.Stderr = err.Error()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits up to timeout for the process to exit; it kills it and fails the
// test if it does not.
func (p *proc) wait(t *testing.T, timeout time.Duration) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("the import did not finish within %v; stderr:\n%s", timeout, tail(p.stderr.Bytes(), 4000))
	}
	p.res.Stdout, p.res.Stderr = p.stdout.String(), p.stderr.String()+p.res.Stderr
	return p.res
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// runImport runs the binary to completion (at most 2 minutes).
func runImport(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return startImport(t, env, args...).wait(t, 2*time.Minute)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// writeCSV writes header and rows as a CSV file.
func writeCSV(t testing.TB, path string, header []string, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := csv.NewWriter(bufio.NewWriterSize(f, 1<<20))
	require.NoError(t, w.Write(header))
	require.NoError(t, w.WriteAll(rows)) // flushes
	require.NoError(t, f.Close())
}

// writeFile writes s to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
	return p
}

// readCheckpoint reads the one checkpoint in dir; ok is false when there is
// none yet.
func readCheckpoint(t *testing.T, dir string) (st checkpoint.State, ok bool) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	if len(files) == 0 {
		return st, false
	}
	require.Len(t, files, 1, "one job, one checkpoint in %s", dir)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st), "checkpoint %s", files[0])
	return st, true
}

// rfc3339 formats t as the importer sends event timestamps (UTC, "Z").
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

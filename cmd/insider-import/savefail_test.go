package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// makeReadOnly makes dir refuse new files, also for root (CI runs as root,
// for whom permission bits do not count): chmod, and as root the immutable
// attribute. It is undone when the test ends; undo undoes it earlier.
func makeReadOnly(t *testing.T, dir string) (undo func()) {
	t.Helper()
	require.NoError(t, os.Chmod(dir, 0o500))
	undo = func() { _ = os.Chmod(dir, 0o700) }
	if os.Geteuid() == 0 {
		out, err := exec.Command("chattr", "+i", dir).CombinedOutput()
		if err != nil {
			undo()
			if os.Getenv("CI") != "" {
				t.Fatalf("chattr +i %s (needed to make a directory read-only for root): %v: %s", dir, err, out)
			}
			t.Skipf("cannot make a directory read-only for root here (chattr +i: %v: %s)", err, out)
		}
		chmod := undo
		undo = func() { _ = exec.Command("chattr", "-i", dir).Run(); chmod() }
	}
	t.Cleanup(undo)
	return undo
}

// A checkpoint save that fails (here: the checkpoint directory turns
// read-only after the first save) stops the run: exit 1, the message names
// the directory and the error, never 130/143 since no signal came. Nothing
// is lost: once the directory is writable again, a resume delivers every
// event exactly once.
func TestSaveFailureReadOnlyCheckpointDir(t *testing.T) {
	f := startFake(t, "--delay", "100ms")
	d := genE2E(t, time.Now(), 11, 600, false)
	e := newE2EEnv(t, d, f, 10, 2, 1000)
	p := startImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, ok := readCheckpoint(t, e.checkpoints); ok {
			break
		}
		require.False(t, p.exited(), "the import ended before its first save")
		require.True(t, time.Now().Before(deadline), "no checkpoint within a minute")
		time.Sleep(5 * time.Millisecond)
	}
	undo := makeReadOnly(t, e.checkpoints)
	res := p.wait(t, 2*time.Minute)
	assert.Equal(t, exitFailure, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "saving the checkpoint to "+e.checkpoints)
	assert.Contains(t, res.Stderr, "save checkpoint", "the store's own error is quoted")
	assert.NotContains(t, res.Stderr, "context canceled")
	assert.NotContains(t, res.Stderr+res.Stdout, testKey)
	rep := readReport(t, e.report)
	assert.Equal(t, "failed", rep.Status)
	assert.Less(t, rep.UsersSent, int64(d.users), "the run stopped before the end")

	// No request started after the failure: everything delivered was
	// listed in flight by the last checkpoint that could be saved.
	st, ok := readCheckpoint(t, e.checkpoints)
	require.True(t, ok)
	fs := st.Files[e.csv]
	require.NotNil(t, fs)
	got := f.Events(t)
	for k, n := range got {
		row, known := d.expected[k]
		require.True(t, known, "unexpected event %s", k)
		require.Truef(t, int64(row) < fs.Frontier.Index || inRanges(fs.InFlight, row) || inRanges(fs.Done, row),
			"row %d was sent (%dx) though the last saved checkpoint (frontier %d, in flight %v) did not list it", row, n, fs.Frontier.Index, fs.InFlight)
	}

	// Nothing is lost: a resume delivers the rest, and sends again only
	// what that checkpoint listed in flight.
	undo()
	res = runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	got = f.Events(t)
	for k, row := range d.expected {
		n := got[k]
		require.NotZero(t, n, "event of row %d lost", row)
		if n > 1 {
			assert.Truef(t, inRanges(fs.InFlight, row) && n == 2, "row %d delivered %dx but not in flight at the failure", row, n)
		}
	}
	assert.Len(t, got, len(d.expected))
}

// An S3 checkpoint store that starts answering 403 (a revoked permission)
// stops the run with exit 1 and a message naming the store and S3's error,
// never 130.
func TestSaveFailureS3Forbidden(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bk := newNamedS3Bucket(t, "ckpt")
	ep := bk.ep

	// In front of the S3 server: after the first two writes (the first
	// save takes the lease, the second renews it), every write is refused
	// the way S3 refuses a revoked permission.
	target, err := url.Parse(ep.URL)
	require.NoError(t, err)
	var puts, refused atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && puts.Add(1) > 2 {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer ts.Close()

	f := startFake(t, "--delay", "50ms")
	d := genE2E(t, time.Now(), 12, 600, false)
	e := newE2EEnv(t, d, f, 10, 2, 1000)
	cfg := strings.Replace(e2eConfig(e.csv, f.Port, 10, 2, 1000), "  format: csv\n",
		"  format: csv\n  s3: {endpoint: \""+ts.URL+"\", path_style: true, region: us-east-1}\n", 1)
	e.config = writeFile(t, e.dir, "import.yaml", cfg)
	env := bk.env
	res := runImport(t, env, "run", "-c", e.config, "--checkpoint", "s3://ckpt/jobs/", "--report", e.report,
		"--rejects", filepath.Join(e.dir, "rejects.jsonl"), "--progress", "none", "--log-format", "json")
	assert.Equal(t, exitFailure, res.Code, res.Stderr)
	assert.Positive(t, refused.Load())
	assert.Contains(t, res.Stderr, "saving the checkpoint to s3://ckpt/jobs/")
	assert.Contains(t, res.Stderr, "403")
	assert.NotContains(t, res.Stderr, "context canceled")
	assert.NotContains(t, res.Stderr+res.Stdout, testKey)
	assert.Less(t, f.Stats(t).UsersAccepted, int64(d.users), "the run stopped before the end")
}

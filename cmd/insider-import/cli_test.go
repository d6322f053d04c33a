package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
)

// twoRowConfig writes in.csv (two users) and import.yaml into dir: the
// users go to the API at url, insider holds insider's further keys.
func twoRowConfig(t *testing.T, dir, url, insider string) string {
	t.Helper()
	if insider != "" {
		insider = ", " + insider
	}
	csv := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(csv, []byte("id,name\n1,Ann\n2,Bob\n"), 0o600))
	cfg := filepath.Join(dir, "import.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`source: {paths: [%q]}
insider: {endpoint: "%s/api/user/v1/upsert", partner: acme%s}
mapping:
  identifiers: {uuid: id}
  attributes: {name: name}
`, csv, url, insider)), 0o600))
	return cfg
}

// TestAPIKeyFromFile runs the command in process with the key in a file, as
// a Kubernetes secret mount gives it: the key is used, and printed nowhere.
func TestAPIKeyFromFile(t *testing.T) {
	const key = "k8s-secret-key-0123456789"
	srv := fakeapi.New(fakeapi.Options{Token: key})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))
	cfg := twoRowConfig(t, dir, ts.URL, fmt.Sprintf("api_key_file: %q", keyFile))
	t.Setenv("INSIDER_API_KEY", "")

	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, []string{"run", "-c", cfg, "--progress", "none", "--report", filepath.Join(dir, "report.json")}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.Equal(t, exitOK, exitCode(err))
	assert.EqualValues(t, 2, srv.Stats().UsersAccepted)
	report, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	for _, out := range []string{stdout.String(), stderr.String(), string(report)} {
		assert.NotContains(t, out, key)
	}

	// A key file that cannot be read is a usage error, before anything is sent.
	require.NoError(t, os.Remove(keyFile))
	stdout.Reset()
	stderr.Reset()
	err = run(ctx, []string{"run", "-c", cfg, "--progress", "none", "--restart"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, exitCode(err))
	assert.Contains(t, stderr.String(), "api_key_file")
	assert.EqualValues(t, 1, srv.Stats().Requests)
}

// TestStatus shows each file's state from the checkpoint: done, partial
// with a percentage, new, and changed since it was imported.
func TestStatus(t *testing.T) {
	const key = "status-key"
	srv := fakeapi.New(fakeapi.Options{Token: key})
	var allow atomic.Int64 // requests answered before the API goes down
	allow.Store(1 << 30)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow.Add(-1) < 0 {
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	dir := t.TempDir()
	write := func(name string, rows int) {
		var b strings.Builder
		b.WriteString("id,name\n")
		for i := range rows {
			fmt.Fprintf(&b, "%s-%d,Name %d\n", name, i, i)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o600))
	}
	cfg := filepath.Join(dir, "import.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`source: {paths: [%q]}
insider: {endpoint: "%s/api/user/v1/upsert", partner: acme}
delivery: {batch_users: 10, workers: 1, max_attempts: 1}
mapping:
  identifiers: {uuid: id}
  attributes: {name: name}
`, filepath.Join(dir, "*.csv"), ts.URL)), 0o600))
	t.Setenv("INSIDER_API_KEY", key)
	ctx := context.Background()
	cmd := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		return stdout.String(), err
	}

	write("a.csv", 30)
	_, err := cmd("run", "-c", cfg, "--progress", "none")
	require.NoError(t, err)
	write("b.csv", 40)
	write("c.csv", 50)
	allow.Store(2) // b.csv stops part way: the API goes down after 2 of its 4 batches
	_, err = cmd("run", "-c", cfg, "--progress", "none")
	require.Error(t, err)
	write("a.csv", 31) // changed since it was imported

	out, err := cmd("status", "-c", cfg)
	require.NoError(t, err)
	t.Log("\n" + out)
	state := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasSuffix(f[0], ".csv") {
			state[filepath.Base(f[0])] = strings.Join(f[1:len(f)-3], " ")
		}
	}
	assert.Equal(t, "changed", state["a.csv"])
	assert.Regexp(t, `^partial [1-9]\d%$`, state["b.csv"])
	// The reader may have begun c.csv before the failure stopped the run.
	assert.Contains(t, []string{"new", "partial"}, state["c.csv"])
}

// status lists a path of source.paths that matches nothing as missing,
// beside the files the others match, instead of failing the listing.
func TestStatusMissingPath(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,name\n1,x\n"), 0o600))
	nothere := filepath.Join(dir, "nothere", "*.csv")
	cfg := filepath.Join(dir, "import.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`source: {paths: [%q, %q]}
insider: {endpoint: "http://127.0.0.1:1/api/user/v1/upsert", partner: acme}
mapping:
  identifiers: {uuid: id}
  attributes: {name: name}
`, filepath.Join(dir, "a.csv"), nothere)), 0o600))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"status", "-c", cfg}, &stdout, &stderr), stderr.String())
	state := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) == 5 {
			state[f[0]] = f[1]
		}
	}
	assert.Equal(t, "new", state[filepath.Join(dir, "a.csv")], stdout.String())
	assert.Equal(t, "missing", state[nothere], stdout.String())
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
)

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
	csv := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(csv, []byte("id,name\n1,Ann\n2,Bob\n"), 0o600))
	cfg := filepath.Join(dir, "import.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`source: {paths: [%q]}
insider: {endpoint: "%s/api/user/v1/upsert", partner: acme, api_key_file: %q}
mapping:
  identifiers: {uuid: id}
  attributes: {name: name}
`, csv, ts.URL, keyFile)), 0o600))
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

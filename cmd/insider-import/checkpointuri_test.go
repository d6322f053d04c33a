package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
)

// --checkpoint is opened by its scheme (checkpoint.Open): a URI that is
// wrong is a usage error naming the flag, before anything is sent, and
// file://dir is the local store at dir, where the rejects file goes too.
func TestCheckpointURIScheme(t *testing.T) {
	const key = "ckpt-uri-key-0123456789"
	srv := fakeapi.New(fakeapi.Options{Token: key})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	cfg := twoRowConfig(t, dir, ts.URL, "")
	t.Setenv("INSIDER_API_KEY", key)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for uri, msg := range map[string]string{
		"gs://bucket/jobs/": `unknown scheme "gs://"`,
		"s3:///jobs/":       "has no bucket",
	} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, []string{"run", "-c", cfg, "--progress", "none", "--checkpoint", uri}, &stdout, &stderr)
		assert.Equal(t, exitUsage, exitCode(err), uri)
		assert.Contains(t, stderr.String(), "--checkpoint: ", uri)
		assert.Contains(t, stderr.String(), msg, uri)
	}
	assert.Zero(t, srv.Stats().Requests, "nothing sent with a wrong --checkpoint")

	store := filepath.Join(dir, "store")
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"run", "-c", cfg, "--progress", "none", "--checkpoint", "file://" + store}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.EqualValues(t, 2, srv.Stats().UsersAccepted)
	entries, err := filepath.Glob(filepath.Join(store, "*.json"))
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "the checkpoint is in the file:// directory")
}

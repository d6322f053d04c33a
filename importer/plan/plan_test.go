package plan

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// A checkpoint written for another mapping is refused with a config error
// that names the job and both ways out; --restart deletes it and plans the
// input from its first row.
func TestMakeRefusesCheckpointOfAnotherMapping(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte("email,tier\na@example.com,gold\n"), 0o600))
	cfg, err := config.Parse("test.yaml", []byte(`
source: {paths: [`+in+`]}
insider: {partner: acme}
mapping:
  identifiers: {email: email}
  attributes: {custom: {tier: tier}}
`), encode.CheckValue)
	require.NoError(t, err)
	job := cfg.JobID(0, 1)
	store := checkpoint.NewMemoryStore()
	updated := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, store.Save(context.Background(), job, checkpoint.State{
		Version: checkpoint.Version, Job: job, ConfigHash: "another mapping", Updated: updated}))
	opts := Options{Job: job, Store: store, ShardCount: 1, Now: time.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), List: func(FileReport) {}}

	_, err = Make(context.Background(), cfg, opts)
	var ce *config.ConfigError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Contains(t, err.Error(), "the mapping changed since the checkpoint of job "+job+" was written (2026-01-02T03:04:05Z)")
	assert.Contains(t, err.Error(), "--restart")
	assert.Contains(t, err.Error(), "restore the old config")

	opts.Restart = true
	p, err := Make(context.Background(), cfg, opts)
	require.NoError(t, err)
	assert.Equal(t, cfg.Hash(), p.State.ConfigHash)
	assert.Equal(t, []Task{{File: in}}, p.Todo, "read from the first row")
	_, err = store.Load(context.Background(), job)
	assert.ErrorIs(t, err, checkpoint.ErrNotFound, "the old checkpoint is deleted")
}

// The rows of a partly imported file are known once it was read to its
// end, else worked out from the bytes behind the frontier.
func TestEstimateRows(t *testing.T) {
	assert.EqualValues(t, 500, estimateRows(&checkpoint.FileState{Total: 500}))
	assert.EqualValues(t, 400, estimateRows(&checkpoint.FileState{
		Frontier: readers.Position{Index: 100, Offset: 1000}, Identity: readers.Identity{Size: 4000}}))
	assert.Zero(t, estimateRows(&checkpoint.FileState{Frontier: readers.Position{Index: 100, Offset: -1}}), "a position without an offset (Parquet)")
}

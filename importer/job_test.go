package importer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/fakeapi"
)

// The job is the sources, the account and the shard: the same import sent
// through another URL (a proxy, another port) resumes the same checkpoint
// and sends nothing again, while another partner or shard is another job.
func TestJobIdentityIgnoresTheEndpoint(t *testing.T) {
	dir := t.TempDir()
	files := []string{genCSV(t, dir, "a.csv", 60, time.Now())}
	srvA, urlA := startFake(t, fakeapi.Options{})
	srvB, urlB := startFake(t, fakeapi.Options{})
	cfgA := testConfig(t, urlA, files, "")
	cfgB := testConfig(t, urlB, files, "")
	require.NotEqual(t, cfgA.Insider.Endpoint, cfgB.Insider.Endpoint)
	assert.Equal(t, cfgA.JobID(0, 1), cfgB.JobID(0, 1), "only the endpoint differs")
	assert.NotEqual(t, cfgA.JobID(0, 1), cfgA.JobID(0, 2), "the shard is part of the job")
	other := testConfig(t, urlA, files, "")
	other.Insider.Partner = "otheraccount"
	assert.NotEqual(t, cfgA.JobID(0, 1), other.JobID(0, 1), "the account is part of the job")

	store := checkpoint.NewMemoryStore()
	rep, err := Run(context.Background(), cfgA, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 60, srvA.Stats().DistinctEvents)

	rep2, err := Run(context.Background(), cfgB, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Equal(t, rep.Job, rep2.Job)
	assert.Zero(t, rep2.RowsRead, "the checkpoint written through endpoint A is resumed through B")
	assert.Zero(t, srvB.Stats().Requests, "nothing is sent again")
	require.Len(t, rep2.Files, 1)
	assert.Equal(t, "skipped", rep2.Files[0].State)
}

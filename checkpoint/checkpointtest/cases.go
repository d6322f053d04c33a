package checkpointtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

func checkLoadMissing(t *testing.T, s checkpoint.Store) {
	_, err := s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
}

func checkRoundTrip(t *testing.T, s checkpoint.Store) {
	want := SampleState("job1")
	require.NoError(t, s.Save(t.Context(), "job1", want))
	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, Normalize(want), Normalize(got))
}

func checkSaveStampsVersionAndJob(t *testing.T, s checkpoint.Store) {
	require.NoError(t, s.Save(t.Context(), "job1", checkpoint.State{ConfigHash: "h"}))
	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, checkpoint.Version, got.Version)
	assert.Equal(t, "job1", got.Job)
	assert.Equal(t, "h", got.ConfigHash)
}

func checkSaveRefusesOtherJobOrVersion(t *testing.T, s checkpoint.Store) {
	st := SampleState("job2")
	assert.Error(t, s.Save(t.Context(), "job1", st), "State.Job of another job")
	st = SampleState("job1")
	st.Version = checkpoint.Version + 1
	assert.Error(t, s.Save(t.Context(), "job1", st), "State.Version of another format")
	_, err := s.Load(t.Context(), "job1")
	assert.ErrorIs(t, err, checkpoint.ErrNotFound, "a refused Save writes nothing")
}

func checkSaveReplaces(t *testing.T, s checkpoint.Store) {
	first := SampleState("job1")
	require.NoError(t, s.Save(t.Context(), "job1", first))
	second := SampleState("job1")
	delete(second.Files, "s3://bucket/b.parquet")
	second.Files["data/a.csv"].Frontier = readers.Position{Index: 900, Line: 901, Offset: 90000}
	second.Files["data/a.csv"].Done = nil
	second.Files["data/a.csv"].InFlight = nil
	second.Files["data/c.csv"] = &checkpoint.FileState{Identity: readers.Identity{Size: 1}, Finished: true}
	require.NoError(t, s.Save(t.Context(), "job1", second))
	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, Normalize(second), Normalize(got))
}

func checkNoAliasing(t *testing.T, s checkpoint.Store) {
	st := SampleState("job1")
	require.NoError(t, s.Save(t.Context(), "job1", st))
	st.Files["data/a.csv"].Frontier.Index = 12345
	st.Files["data/a.csv"].Done[0].End.Index = 12345
	st.Files["new"] = &checkpoint.FileState{}

	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, Normalize(SampleState("job1")), Normalize(got), "changing a saved State changes the checkpoint")
	got.Files["data/a.csv"].Frontier.Index = 54321
	got.Files["data/a.csv"].InFlight[0].Start.Index = 54321

	again, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, Normalize(SampleState("job1")), Normalize(again), "changing a loaded State changes the checkpoint")
}

func checkDelete(t *testing.T, s checkpoint.Store) {
	require.NoError(t, s.Save(t.Context(), "job1", SampleState("job1")))
	require.NoError(t, s.Delete(t.Context(), "job1"))
	_, err := s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
	// The job can start over.
	require.NoError(t, s.Save(t.Context(), "job1", SampleState("job1")))
	_, err = s.Load(t.Context(), "job1")
	require.NoError(t, err)
}

func checkDeleteMissing(t *testing.T, s checkpoint.Store) {
	require.NoError(t, s.Delete(t.Context(), "job1"))
	require.NoError(t, s.Delete(t.Context(), "job1"))
	_, err := s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
}

func checkJobsIndependent(t *testing.T, s checkpoint.Store) {
	one, two := SampleState("job1"), SampleState("job2")
	two.ConfigHash = "other"
	require.NoError(t, s.Save(t.Context(), "job1", one))
	require.NoError(t, s.Save(t.Context(), "job2", two))
	require.NoError(t, s.Delete(t.Context(), "job1"))
	_, err := s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
	got, err := s.Load(t.Context(), "job2")
	require.NoError(t, err)
	assert.Equal(t, Normalize(two), Normalize(got))
}

func checkOddJobIDs(t *testing.T, s checkpoint.Store) {
	// Job ids are hex hashes, but a store must not let an odd one
	// escape its place or collide with another.
	jobs := []string{"a/b", "a_b", "a%2Fb", "a%252Fb", "../escape", ".hidden", "A-b.c", "ünïcode", "sp ace"}
	for i, job := range jobs {
		st := checkpoint.State{ConfigHash: fmt.Sprint(i)}
		require.NoError(t, s.Save(t.Context(), job, st), job)
	}
	for i, job := range jobs {
		got, err := s.Load(t.Context(), job)
		require.NoError(t, err, job)
		assert.Equal(t, fmt.Sprint(i), got.ConfigHash, job)
		assert.Equal(t, job, got.Job)
	}
	assert.Error(t, s.Save(t.Context(), "", checkpoint.State{}), "empty job id")
}

func checkArchive(t *testing.T, s checkpoint.Store) {
	// Finished files moved to the archive are written once: each Save
	// appends the ones archived since, and Load returns them all.
	st := SampleState("job1")
	st.Archived = Archived("a", 3)
	require.NoError(t, s.Save(t.Context(), "job1", st))
	st.Archived = nil
	require.NoError(t, s.Save(t.Context(), "job1", st), "a save with nothing newly archived")
	st.Archived = Archived("b", 2)
	st.Files["data/c.csv"] = &checkpoint.FileState{Identity: readers.Identity{Size: 7}}
	require.NoError(t, s.Save(t.Context(), "job1", st))
	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	want := st
	want.Archived = append(Archived("a", 3), Archived("b", 2)...)
	assert.Equal(t, Normalize(want), Normalize(got))
	assert.True(t, got.FileOf("b-1").Finished)
	assert.Equal(t, int64(7), got.FileOf("data/c.csv").Identity.Size)
	assert.Nil(t, got.FileOf("nothing"))
	assert.Len(t, got.Index(), 2+1+5)

	// Saving after a Load appends to what was loaded.
	got.Archived = Archived("c", 1)
	require.NoError(t, s.Save(t.Context(), "job1", got))
	again, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Len(t, again.Archived, 6)

	// Delete drops the archive with the State.
	require.NoError(t, s.Delete(t.Context(), "job1"))
	_, err = s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
	fresh := SampleState("job1")
	require.NoError(t, s.Save(t.Context(), "job1", fresh))
	got, err = s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Empty(t, got.Archived)
}

// checkCloseTwice: a store closed twice returns no error the second time;
// Run does not close it for the case.
func checkCloseTwice(t *testing.T, s checkpoint.Store) {
	require.NoError(t, s.Save(t.Context(), "job1", SampleState("job1")))
	require.NoError(t, s.Close(context.Background()))
	require.NoError(t, s.Close(context.Background()))
}

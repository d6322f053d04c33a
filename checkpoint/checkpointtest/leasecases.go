package checkpointtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
)

func checkSecondStoreRefused(t *testing.T, a, b checkpoint.Store) {
	require.NoError(t, a.Save(t.Context(), "job1", SampleState("job1")))

	_, err := b.Load(t.Context(), "job1")
	assert.ErrorIs(t, err, checkpoint.ErrLeaseHeld, "Load")
	assert.ErrorIs(t, b.Save(t.Context(), "job1", checkpoint.State{ConfigHash: "b"}), checkpoint.ErrLeaseHeld, "Save")
	assert.ErrorIs(t, b.Delete(t.Context(), "job1"), checkpoint.ErrLeaseHeld, "Delete")

	// The holder goes on; other jobs are not affected.
	require.NoError(t, a.Save(t.Context(), "job1", SampleState("job1")))
	got, err := a.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, Normalize(SampleState("job1")), Normalize(got))
	require.NoError(t, b.Save(t.Context(), "job2", SampleState("job2")))
	assert.ErrorIs(t, a.Save(t.Context(), "job2", SampleState("job2")), checkpoint.ErrLeaseHeld)
}

func checkLoadTakesLease(t *testing.T, a, b checkpoint.Store) {
	_, err := a.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
	assert.ErrorIs(t, b.Save(t.Context(), "job1", SampleState("job1")), checkpoint.ErrLeaseHeld)
	require.NoError(t, a.Save(t.Context(), "job1", SampleState("job1")))
}

func checkDeleteKeepsLease(t *testing.T, a, b checkpoint.Store) {
	require.NoError(t, a.Save(t.Context(), "job1", SampleState("job1")))
	require.NoError(t, a.Delete(t.Context(), "job1"))
	assert.ErrorIs(t, b.Save(t.Context(), "job1", SampleState("job1")), checkpoint.ErrLeaseHeld)
	require.NoError(t, a.Close(context.Background()))
	_, err := b.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
}

func checkCloseReleasesAndKeepsState(t *testing.T, a, b checkpoint.Store) {
	want := SampleState("job1")
	require.NoError(t, a.Save(t.Context(), "job1", want))
	require.NoError(t, a.Close(context.Background()))

	got, err := b.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, Normalize(want), Normalize(got))
	require.NoError(t, b.Save(t.Context(), "job1", checkpoint.State{ConfigHash: "b"}))
}

// checkRaceExactlyOneWins has a and b save job1 at once, in the given
// round: exactly one takes the lease and its State is saved; the other is
// told the lease is held.
func checkRaceExactlyOneWins(t *testing.T, round int, a, b checkpoint.Store) {
	stores := []checkpoint.Store{a, b}
	errs := make([]error, len(stores))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			st := checkpoint.State{ConfigHash: fmt.Sprint("store", i)}
			errs[i] = s.Save(t.Context(), "job1", st)
		})
	}
	close(start)
	wg.Wait()

	winners := 0
	for i, err := range errs {
		if err == nil {
			winners++
			got, lerr := stores[i].Load(t.Context(), "job1")
			require.NoError(t, lerr)
			assert.Equal(t, fmt.Sprint("store", i), got.ConfigHash, "round %d: the winner's State is saved", round)
		} else {
			assert.ErrorIs(t, err, checkpoint.ErrLeaseHeld, "round %d: the loser is told the lease is held", round)
		}
	}
	require.Equal(t, 1, winners, "round %d: exactly one store takes the lease; errors %v", round, errs)
}

// Package checkpointtest is the suite every checkpoint.Store passes (restic
// internal/backend/test/suite.go): Run checks what each store must do alone,
// RunLease what two stores over the same backing must do to each other.
package checkpointtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

// Run checks the contract of checkpoint.Store. newStore returns a new store
// over a new, empty backing each time it is called; Run closes the stores.
func Run(t *testing.T, newStore func(t *testing.T) checkpoint.Store) {
	for _, c := range storeCases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			c.run(t, s)
		})
	}
	t.Run("CloseTwice", func(t *testing.T) { checkCloseTwice(t, newStore(t)) })
}

// storeCases are Run's cases, each given a store of its own over a new,
// empty backing, closed when the case ends.
var storeCases = []struct {
	name string
	run  func(t *testing.T, s checkpoint.Store)
}{
	{"LoadMissing", checkLoadMissing},
	{"RoundTrip", checkRoundTrip},
	{"SaveStampsVersionAndJob", checkSaveStampsVersionAndJob},
	{"SaveRefusesOtherJobOrVersion", checkSaveRefusesOtherJobOrVersion},
	{"SaveReplaces", checkSaveReplaces},
	{"NoAliasing", checkNoAliasing},
	{"Delete", checkDelete},
	{"DeleteMissing", checkDeleteMissing},
	{"JobsIndependent", checkJobsIndependent},
	{"OddJobIDs", checkOddJobIDs},
	{"Archive", checkArchive},
}

// RunLease checks that two stores over one backing (two runs of a job, on
// one machine or two) exclude each other per job. newPair returns two new
// stores over a new, empty backing each time it is called; RunLease closes
// them.
func RunLease(t *testing.T, newPair func(t *testing.T) (a, b checkpoint.Store)) {
	for _, c := range leaseCases {
		t.Run(c.name, func(t *testing.T) {
			a, b := openPair(t, newPair)
			c.run(t, a, b)
		})
	}
	t.Run("RaceExactlyOneWins", func(t *testing.T) {
		for round := range 5 {
			a, b := openPair(t, newPair)
			checkRaceExactlyOneWins(t, round, a, b)
		}
	})
}

// leaseCases are RunLease's cases, each given a pair of stores of its own
// over a new, empty backing, closed when the case ends.
var leaseCases = []struct {
	name string
	run  func(t *testing.T, a, b checkpoint.Store)
}{
	{"SecondStoreRefused", checkSecondStoreRefused},
	{"LoadTakesLease", checkLoadTakesLease},
	{"DeleteKeepsLease", checkDeleteKeepsLease},
	{"CloseReleasesAndKeepsState", checkCloseReleasesAndKeepsState},
}

// openPair returns a new pair of stores from newPair, closed when t ends.
func openPair(t *testing.T, newPair func(t *testing.T) (a, b checkpoint.Store)) (a, b checkpoint.Store) {
	t.Helper()
	a, b = newPair(t)
	t.Cleanup(func() {
		_ = a.Close(context.Background())
		_ = b.Close(context.Background())
	})
	return a, b
}

// SampleState returns a State for job with two files, done and in-flight
// ranges, and times in several locations, with nanoseconds and a monotonic
// clock reading. Equal calls return equal States. Position.File is left
// empty: it is not persisted (the map key names the file).
func SampleState(job string) checkpoint.State {
	ist := time.FixedZone("IST", 3*3600)
	ref := time.Date(2025, 3, 14, 15, 9, 26, 535897932, ist)
	// A fixed wall time that carries a monotonic reading, which no store keeps.
	now := time.Now()
	now = now.Add(time.Date(2025, 3, 15, 8, 0, 0, 123456789, time.UTC).Sub(now))
	return checkpoint.State{
		Version:    checkpoint.Version,
		Job:        job,
		ConfigHash: "sha256:0123456789abcdef",
		Updated:    now,
		Files: map[string]*checkpoint.FileState{
			"data/a.csv": {
				Identity: readers.Identity{Size: 1 << 20, ModTime: time.Date(2024, 12, 31, 23, 59, 59, 1, time.UTC)},
				RefTime:  ref,
				Frontier: readers.Position{Index: 100, Line: 102, Offset: 4096},
				Done: []checkpoint.Range{
					{Start: readers.Position{Index: 200, Line: 202, Offset: 8192}, End: readers.Position{Index: 300, Line: 302, Offset: 12288}},
					{Start: readers.Position{Index: 400, Line: 402, Offset: 16384}, End: readers.Position{Index: 500, Line: 502, Offset: 20480}},
				},
				InFlight: []checkpoint.Range{
					{Start: readers.Position{Index: 100, Line: 102, Offset: 4096}, End: readers.Position{Index: 200, Line: 202, Offset: 8192}},
				},
				RowsAcked:    350,
				RowsRejected: 2,
				LastRun:      now.Add(-time.Minute),
			},
			"s3://bucket/b.parquet": {
				Identity: readers.Identity{Size: 123456, ETag: `"9b2cf535f27731c974343645a3985328"`},
				RefTime:  ref.Add(time.Hour).In(time.Local),
				Frontier: readers.Position{Index: 1000, Offset: -1, RowGroup: 1, GroupRow: 0},
				InFlight: []checkpoint.Range{
					{Start: readers.Position{Index: 1000, Offset: -1, RowGroup: 1}, End: readers.Position{Index: 1500, Offset: -1, RowGroup: 1, GroupRow: 500}},
				},
				Finished:  false,
				RowsAcked: 1000,
				Total:     5000,
				LastRun:   now,
			},
		},
	}
}

// Normalize returns a deep copy of s in which every time is in UTC without
// a monotonic reading and empty slices and maps are nil, so that a State
// can be compared with require.Equal after a trip through a store.
func Normalize(s checkpoint.State) checkpoint.State {
	s.Updated = normTime(s.Updated)
	files := s.Files
	s.Files = nil
	for name, f := range files {
		if s.Files == nil {
			s.Files = make(map[string]*checkpoint.FileState, len(files))
		}
		if f == nil {
			s.Files[name] = nil
			continue
		}
		c := normFile(*f)
		s.Files[name] = &c
	}
	archived := s.Archived
	s.Archived = nil
	for _, a := range archived {
		a.FileState = normFile(a.FileState)
		s.Archived = append(s.Archived, a)
	}
	return s
}

func normFile(c checkpoint.FileState) checkpoint.FileState {
	c.Identity.ModTime = normTime(c.Identity.ModTime)
	c.RefTime = normTime(c.RefTime)
	c.LastRun = normTime(c.LastRun)
	c.Done = normRanges(c.Done)
	c.InFlight = normRanges(c.InFlight)
	return c
}

// Archived returns n finished files named prefix-0 ... as the archive
// holds them.
func Archived(prefix string, n int) []checkpoint.ArchivedFile {
	out := make([]checkpoint.ArchivedFile, n)
	for i := range out {
		out[i] = checkpoint.ArchivedFile{File: fmt.Sprintf("%s-%d", prefix, i), FileState: checkpoint.FileState{
			Identity: readers.Identity{Size: int64(100 + i), ModTime: time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC)},
			Frontier: readers.Position{Index: 3, Line: 5, Offset: int64(100 + i)},
			Finished: true, RowsAcked: 3, Total: 3,
		}}
	}
	return out
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

func normRanges(rs []checkpoint.Range) []checkpoint.Range {
	if len(rs) == 0 {
		return nil
	}
	return append([]checkpoint.Range(nil), rs...)
}

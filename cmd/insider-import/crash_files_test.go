package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
)

// peekCheckpoint reads the one checkpoint in dir with its archive, without
// a lock, and returns every file it records; nil when there is none yet.
func peekCheckpoint(t *testing.T, dir string) map[string]*checkpoint.FileState {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	if len(docs) == 0 {
		return nil
	}
	require.Len(t, docs, 1, "one job, one checkpoint in %s", dir)
	store, err := checkpoint.NewFileStore(dir)
	require.NoError(t, err)
	defer store.Close(t.Context())
	st, err := store.Peek(t.Context(), strings.TrimSuffix(filepath.Base(docs[0]), ".json"))
	require.NoError(t, err)
	return st.Index()
}

// TestCrashKill9ManyFiles is TestCrashKill9Resume on 10,000 files of 3 rows
// (a directory of small exports): batches span files, so a kill finds
// batches in flight that began in one file and end in another, finished
// files archived, and users whose rows continue in the next file. Every
// event must arrive, and an event delivered twice must come from a row that
// the checkpoint listed in flight (in its own file) at a kill.
func TestCrashKill9ManyFiles(t *testing.T) {
	const rows, kills, perFile = 30_000, 6, 3
	testStart := time.Now()
	data := genCrash(t, rows, 4)
	e := &crashEnv{data: data, fake: startFake(t, "--throttle", "25", "--fail-rate", "0.05", "--seed", "7", "--delay", "5ms"), dir: t.TempDir()}
	in := filepath.Join(e.dir, "in")
	require.NoError(t, os.Mkdir(in, 0o700))
	fileOf := func(row int) string { return filepath.Join(in, fmt.Sprintf("part-%05d.csv", row/perFile)) }
	var buf bytes.Buffer
	for r := 0; r < rows; r += perFile {
		buf.Reset()
		w := csv.NewWriter(&buf)
		require.NoError(t, w.Write(crashHeader))
		require.NoError(t, w.WriteAll(data.rows[r:min(r+perFile, rows)]))
		require.NoError(t, os.WriteFile(fileOf(r), buf.Bytes(), 0o600))
	}
	e.checkpoints = filepath.Join(e.dir, "checkpoints")
	cfg := writeFile(t, e.dir, "import.yaml", crashConfig(in+"/", e.fake.Port, crashBatchUsers))
	e.args = []string{"run", "-c", cfg, "--checkpoint", e.checkpoints, "--report", filepath.Join(e.dir, "report.json"),
		"--rejects", filepath.Join(e.dir, "rejects.jsonl"), "--progress", "none", "--log-format", "json"}
	e.env = []string{"INSIDER_API_KEY=" + testKey}
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("%d files written in %v; kill moments: seed %d (INSIDER_IMPORT_CRASH_SEED=%d replays them)",
		rows/perFile, time.Since(testStart).Round(time.Millisecond), seed, seed)

	// At each kill, the in-flight ranges of every file that had some.
	var atKills []map[string]inFlightAt
	spanning := 0 // kills that found a batch in flight in two files or more
	final := killResume(t, e, kills, rng, 0, func(kill int, delay time.Duration) {
		files := peekCheckpoint(t, e.checkpoints)
		inflight := map[string]inFlightAt{}
		for f, fs := range files {
			if len(fs.InFlight) > 0 {
				inflight[f] = inFlightAt{kill: kill, ranges: fs.InFlight, fs: fs}
			}
		}
		if len(inflight) > 1 {
			spanning++
		}
		atKills = append(atKills, inflight)
		t.Logf("kill %d: SIGKILL after %4dms; checkpoint: %d files, %d with rows in flight", kill, delay.Milliseconds(), len(files), len(inflight))
		// Write-ahead: whatever arrived is finished or in flight in its
		// file's checkpoint entry (an archived file is finished).
		var unrecorded []int
		for _, row := range deliveredRows(t, e.fake.EventsRaw(t)) {
			fs := files[fileOf(row)]
			if fs == nil || !fs.Finished && (inFlightAt{fs: fs}).state(row%perFile) == rowUnrecorded {
				unrecorded = append(unrecorded, row)
			}
		}
		assert.Empty(t, unrecorded, "kill %d: rows arrived at the API that the checkpoint does not list", kill)
	})

	raw := e.fake.EventsRaw(t)
	got := map[string]int{}
	require.NoError(t, json.Unmarshal(raw, &got))
	var lost, duplicates, outside, beyondBound int
	for k, row := range e.data.keys {
		n := got[k]
		switch {
		case n == 0:
			lost++
			continue
		case n == 1:
			continue
		}
		duplicates += n - 1
		bound := 0
		for _, inflight := range atKills {
			if f, ok := inflight[fileOf(row)]; ok && f.contains(row%perFile) {
				bound++
			}
		}
		if bound == 0 {
			outside++
		}
		if n-1 > bound {
			beyondBound++
		}
	}
	st := e.fake.Stats(t)
	t.Logf("closing figures: %d rows in %d files, kills %d (%d found a batch in flight over several files); events lost %d; duplicate deliveries %d; "+
		"from rows not in flight at a kill: %d; over the bound: %d; fake: %d requests (%d throttled, %d failed); test %.1fs (final run %.1fs)",
		rows, rows/perFile, kills, spanning, lost, duplicates, outside, beyondBound, st.Requests, st.Throttled, st.Failed,
		time.Since(testStart).Seconds(), final.Elapsed.Seconds())
	assert.Zero(t, lost, "events lost")
	assert.Zero(t, outside, "duplicated events from rows no checkpoint listed in flight at a kill")
	assert.Zero(t, beyondBound, "events delivered more often than 1 + the kills that found their row in flight")
	assert.Equal(t, int64(rows+duplicates), st.Events, "the fake's delivery count")
	assert.Len(t, got, rows, "distinct events")

	files := peekCheckpoint(t, e.checkpoints)
	finished := 0
	for r := 0; r < rows; r += perFile {
		if fs := files[fileOf(r)]; fs != nil && fs.Finished && len(fs.InFlight) == 0 {
			finished++
		}
	}
	assert.Equal(t, rows/perFile, finished, "every file finished in the checkpoint")
	rep := readReport(t, filepath.Join(e.dir, "report.json"))
	assertCountsAddUp(t, rep.Counts)
}

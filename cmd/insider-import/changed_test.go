package main

// Inputs that change under the import: cut short, grown, rewritten or
// removed. None of them is ever half-imported with exit 0.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/readers"
)

// release ends the fake's --hold: held answers go out, later ones are not
// held.
func (f *fake) release(t *testing.T) {
	t.Helper()
	resp, err := httpClient.Post(f.URL+"/release", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// waitRequests waits until n upsert requests reached the fake (held there
// with --hold): the import has opened what it reads and is part-way in.
func (f *fake) waitRequests(t *testing.T, p *proc, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for f.Stats(t).Requests < n {
		if p.exited() {
			res := p.wait(t, time.Second)
			t.Fatalf("the import ended before %d requests arrived: %s", n, tail([]byte(res.Stderr), 3000))
		}
		require.True(t, time.Now().Before(deadline), "fewer than %d requests reached the fake in a minute", n)
		time.Sleep(10 * time.Millisecond)
	}
}

// changeWhileRead runs the import over e with the fake holding its
// answers; once requests have reached it (the input is open, the reader
// part-way in), change alters the input; then the answers go out. It
// returns how the run ended. With the answers held, the import reads ahead
// at most a few batches and its mapping pipeline (about 10 chunks of 256
// rows with GOMAXPROCS=2, set so on any machine): well short of the inputs
// the tests use.
func changeWhileRead(t *testing.T, f *fake, e *inputEnv, requests int64, change func()) result {
	t.Helper()
	p := startImport(t, []string{"INSIDER_API_KEY=" + testKey, "GOMAXPROCS=2"}, e.args()...)
	f.waitRequests(t, p, requests)
	change()
	f.release(t)
	return p.wait(t, 2*time.Minute)
}

// cutAtLine is the length of data's lines that end at or before frac of it.
func cutAtLine(data []byte, frac float64) int {
	return bytes.LastIndexByte(data[:int(float64(len(data))*frac)], '\n') + 1
}

// A plain CSV, a .csv.gz and a Parquet file cut to 30 % while they are
// read stop the run with exit 1 naming the file and both sizes; the file is
// not done. Put back whole, the next run resumes where it stopped and every
// event has arrived exactly once.
func TestE2ETruncatedWhileRead(t *testing.T) {
	now := time.Now()
	const n = 60000
	plain := inputCSV(n, now)
	for _, c := range []struct {
		name string
		data []byte
		cut  func(data []byte) int
	}{
		{"users.csv", plain, func(d []byte) int { return cutAtLine(d, 0.3) }},
		{"users.csv.gz", gzipped(t, plain), func(d []byte) int { return len(d) * 3 / 10 }},
		{"users.parquet", inputParquet(t, n, 4000, 0, now, 1), func(d []byte) int { return len(d) * 3 / 10 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := startFake(t, "--hold")
			file := filepath.Join(t.TempDir(), c.name)
			require.NoError(t, os.WriteFile(file, c.data, 0o600))
			e := newInputEnv(t, f, []string{file}, "", 100)
			cut := c.cut(c.data)
			res := changeWhileRead(t, f, e, 2, func() { require.NoError(t, os.Truncate(file, int64(cut))) })
			require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
			want := fmt.Sprintf("changed while it was being read: %s bytes when opened, %s now", readers.Thousands(int64(len(c.data))), readers.Thousands(int64(cut)))
			assert.Contains(t, res.Stderr, "stopped reading "+file)
			assert.Contains(t, res.Stderr, want)
			st, ok := readCheckpoint(t, e.checkpoints)
			require.True(t, ok)
			fs := st.Files[file]
			require.NotNil(t, fs)
			assert.False(t, fs.Finished, "not done")
			assert.NotEmpty(t, fs.Unreadable)
			before := f.Stats(t)
			assert.Equal(t, before.Events, before.DistinctEvents)
			assert.Positive(t, before.Events)
			assert.Less(t, before.Events, int64(n))
			assert.Equal(t, fs.RowsAcked, before.Events, "what arrived is acknowledged in the checkpoint")

			// Whole again: resumes at the frontier.
			require.NoError(t, os.WriteFile(file, c.data, 0o600))
			res = runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
			require.Equal(t, 0, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
			rep := readReport(t, e.report)
			assert.Equal(t, int64(n)-before.Events, rep.RowsRead, "resumed, not read again from the start")
			after := f.Stats(t)
			assert.Equal(t, int64(n), after.DistinctEvents, "every event arrived")
			assert.Equal(t, after.Events, after.DistinctEvents, "each once")
			t.Logf("run 1: %d of %d events, then %q; run 2 read %d rows", before.Events, n, want, rep.RowsRead)
		})
	}
}

// A CSV that grows by 6 × 2,000 rows while it is read (an export still
// being written) stops the run with exit 1; complete, the next run resumes
// and delivers every event once.
func TestE2EGrowingWhileRead(t *testing.T) {
	now := time.Now()
	const n, more = 20000, 12000
	full := inputCSV(n+more, now)
	first := len(inputCSV(n, now)) // the header and n rows
	f := startFake(t, "--hold")
	file := filepath.Join(t.TempDir(), "users.csv")
	require.NoError(t, os.WriteFile(file, full[:first], 0o600))
	e := newInputEnv(t, f, []string{file}, "", 100)
	res := changeWhileRead(t, f, e, 2, func() {
		var rows []string
		for i := n; i < n+more; i++ {
			rows = append(rows, strings.Join(inputRow(i, now), ",")+"\n")
			if len(rows) == 2000 {
				w, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = w.WriteString(strings.Join(rows, ""))
				require.NoError(t, err)
				require.NoError(t, w.Close())
				rows = rows[:0]
			}
		}
	})
	require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stderr, fmt.Sprintf("changed while it was being read: %s bytes when opened, %s now", readers.Thousands(int64(first)), readers.Thousands(int64(len(full)))))
	st, ok := readCheckpoint(t, e.checkpoints)
	require.True(t, ok)
	assert.False(t, st.Files[file].Finished)
	before := f.Stats(t)

	res = runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 0, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
	after := f.Stats(t)
	assert.Equal(t, int64(n+more), after.DistinctEvents, "every event of the complete file arrived")
	assert.Equal(t, after.Events, after.DistinctEvents, "each once")
	t.Logf("run 1: %d events, stopped; run 2: all %d", before.Events, after.DistinctEvents)
}

// withSource is e with the same inputs, checkpoints, rejects and report,
// and source lines added to its config (say "  on_change: skip\n").
func withSource(t *testing.T, e *inputEnv, paths []string, extra string) *inputEnv {
	t.Helper()
	e2 := newInputEnv(t, e.f, paths, extra, 100)
	e2.checkpoints, e2.rejects, e2.report = e.checkpoints, e.rejects, e.report
	return e2
}

// A finished daily export rewritten under the same name: on_change: stop
// (the default) exits 2 before any request, naming the file, its old and
// new size and time, and the other choices; skip exits 0 and counts it;
// reimport imports the new content from row 1.
func TestE2ERewrittenFinishedFile(t *testing.T) {
	now := time.Now()
	env := []string{"INSIDER_API_KEY=" + testKey}
	f := startFake(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "daily.csv")
	require.NoError(t, os.WriteFile(file, inputCSV(1000, now), 0o600))
	e := newInputEnv(t, f, []string{file}, "", 100)
	res := runImport(t, env, e.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)

	// The next night's export: 1,200 rows, the first 1,000 as before.
	old, err := os.Stat(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, inputCSV(1200, now), 0o600))
	later := old.ModTime().Add(time.Hour)
	require.NoError(t, os.Chtimes(file, later, later))
	requests := f.Stats(t).Requests

	res = runImport(t, env, e.args()...)
	require.Equal(t, 2, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	for _, w := range []string{file, "was " + readers.Thousands(old.Size()) + " bytes, modified " + old.ModTime().UTC().Format(time.RFC3339),
		"now " + readers.Thousands(int64(len(inputCSV(1200, now)))) + " bytes, modified " + later.UTC().Format(time.RFC3339),
		"source.on_change: reimport", "source.on_change: skip", "--restart"} {
		assert.Contains(t, res.Stderr, w)
	}
	assert.Equal(t, requests, f.Stats(t).Requests, "no request")
	t.Logf("on_change: stop:\n%s", res.Stderr[strings.LastIndex(res.Stderr, "insider-import: "):])

	skip := withSource(t, e, []string{file}, "  on_change: skip\n")
	res = runImport(t, env, skip.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	rep := readReport(t, e.report)
	assert.EqualValues(t, 1, rep.SkippedChanged)
	assert.Zero(t, rep.RowsRead)
	require.Len(t, rep.Files, 1)
	assert.Equal(t, "changed, skipped", rep.Files[0].State)
	assert.Contains(t, res.Stdout+res.Stderr, "1 left as they are (source.on_change)", "in the summary")
	assert.Equal(t, requests, f.Stats(t).Requests, "no request")

	re := withSource(t, e, []string{file}, "  on_change: reimport\n")
	res = runImport(t, env, re.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	rep = readReport(t, e.report)
	assert.EqualValues(t, 1, rep.Reimported)
	assert.EqualValues(t, 1200, rep.RowsRead, "from row 1")
	st := f.Stats(t)
	assert.EqualValues(t, 1200, st.DistinctEvents)
	assert.EqualValues(t, 2200, st.Events, "the first 1,000 again: Insider stores them once")

	// Imported: the next run with the default finds it finished.
	res = runImport(t, env, e.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Zero(t, readReport(t, e.report).RowsRead)
}

// A partly imported input that is gone stops the next run with exit 2,
// naming it and how far it got, before any request; a finished input that
// is gone is not mentioned and `status` lists it as done (gone). With
// on_change: skip the run goes on, counting it.
func TestE2EVanishedInputs(t *testing.T) {
	now := time.Now()
	env := []string{"INSIDER_API_KEY=" + testKey}
	f := startFake(t, "--hold")
	dir := t.TempDir()
	done := filepath.Join(dir, "a-done.csv")
	big := filepath.Join(dir, "b-big.csv")
	require.NoError(t, os.WriteFile(done, inputCSV(100, now), 0o600))
	bigData := inputCSV(60000, now)
	require.NoError(t, os.WriteFile(big, bigData, 0o600))
	glob := filepath.Join(dir, "*.csv")
	e := newInputEnv(t, f, []string{glob}, "", 100)
	// Request 1 is a-done.csv (100 rows), request 2 the first of b-big.csv:
	// b-big.csv is open. Cut, it stops the run with b-big.csv partial.
	res := changeWhileRead(t, f, e, 2, func() { require.NoError(t, os.Truncate(big, int64(cutAtLine(bigData, 0.5)))) })
	require.Equal(t, 1, res.Code, res.Stderr)
	st, _ := readCheckpoint(t, e.checkpoints)
	require.True(t, st.Files[done].Finished)
	acked := st.Files[big].RowsAcked
	require.Positive(t, acked)
	require.False(t, st.Files[big].Finished)

	// Both cleaned up; a new export arrives.
	require.NoError(t, os.Remove(done))
	require.NoError(t, os.Remove(big))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c-new.csv"), []byte(strings.Join(inputHeader, ",")+"\n"+strings.Join(inputRow(50000, now), ",")+"\n"), 0o600))
	requests := f.Stats(t).Requests
	res = runImport(t, env, e.args()...)
	require.Equal(t, 2, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stderr, big+": gone")
	assert.Contains(t, res.Stderr, "partial: "+readers.Thousands(acked)+" of ~")
	assert.NotContains(t, res.Stderr, done, "a finished input that is gone is normal")
	assert.Equal(t, requests, f.Stats(t).Requests, "no request")
	t.Logf("gone:\n%s", res.Stderr[strings.LastIndex(res.Stderr, "insider-import: "):])

	out := runImport(t, env, "status", "-c", e.config, "--checkpoint", e.checkpoints)
	require.Equal(t, 0, out.Code, out.Stderr)
	assert.Regexp(t, `a-done\.csv\s+done \(gone\)`, out.Stdout)
	assert.Regexp(t, `b-big\.csv\s+partial( \d+%)? \(gone\)`, out.Stdout)
	assert.Regexp(t, `c-new\.csv\s+new`, out.Stdout)
	t.Logf("status:\n%s", out.Stdout)

	skip := withSource(t, e, []string{glob}, "  on_change: skip\n")
	res = runImport(t, env, skip.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	rep := readReport(t, e.report)
	assert.EqualValues(t, 1, rep.SkippedChanged)
	assert.EqualValues(t, 1, rep.RowsRead, "c-new.csv")
	assert.NotContains(t, res.Stderr, done)
	assert.Contains(t, res.Stdout+res.Stderr, "gone, skipped", "listed in the summary")

	// Everything imported is cleaned up and no new export has come: the
	// glob matching nothing is no error for a job that imported its files.
	require.NoError(t, os.Remove(filepath.Join(dir, "c-new.csv")))
	res = runImport(t, env, skip.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Zero(t, readReport(t, e.report).RowsRead)
	res = runImport(t, env, e.args()...)
	require.Equal(t, 2, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, big+": gone", "the partial one still stops a run with on_change: stop")
	out = runImport(t, env, "status", "-c", e.config, "--checkpoint", e.checkpoints)
	require.Equal(t, 0, out.Code, out.Stderr)
	assert.Regexp(t, `c-new\.csv\s+done \(gone\)`, out.Stdout)
	// A pattern naming none of the job's files is still a typo (here a new
	// job: a job is named by its paths).
	typo := withSource(t, e, []string{filepath.Join(dir, "*.cvs")}, "  on_change: skip\n")
	res = runImport(t, env, typo.args()...)
	require.Equal(t, 2, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "no input files match")
}

// With source.min_age, a file modified within it is left for a later run
// and listed as waiting (report and status); once older, it is imported.
func TestE2EMinAgeWaiting(t *testing.T) {
	now := time.Now()
	env := []string{"INSIDER_API_KEY=" + testKey}
	f := startFake(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old.csv")
	fresh := filepath.Join(dir, "fresh.csv")
	require.NoError(t, os.WriteFile(old, inputCSV(10, now), 0o600))
	require.NoError(t, os.Chtimes(old, now.Add(-time.Hour), now.Add(-time.Hour)))
	var b bytes.Buffer
	b.WriteString(strings.Join(inputHeader, ",") + "\n")
	for i := 100; i < 120; i++ {
		b.WriteString(strings.Join(inputRow(i, now), ",") + "\n")
	}
	require.NoError(t, os.WriteFile(fresh, b.Bytes(), 0o600))
	e := newInputEnv(t, f, []string{filepath.Join(dir, "*.csv")}, "  min_age: 2m\n", 100)
	res := runImport(t, env, e.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	rep := readReport(t, e.report)
	assert.EqualValues(t, 1, rep.Waiting)
	assert.EqualValues(t, 10, rep.RowsRead, "only old.csv")
	states := map[string]string{}
	for _, fr := range rep.Files {
		states[filepath.Base(fr.File)] = fr.State
	}
	assert.Equal(t, map[string]string{"old.csv": "done", "fresh.csv": "waiting"}, states)
	out := runImport(t, env, "status", "-c", e.config, "--checkpoint", e.checkpoints)
	require.Equal(t, 0, out.Code, out.Stderr)
	assert.Regexp(t, `fresh\.csv\s+waiting`, out.Stdout)

	require.NoError(t, os.Chtimes(fresh, now.Add(-3*time.Minute), now.Add(-3*time.Minute)))
	res = runImport(t, env, e.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	rep = readReport(t, e.report)
	assert.Zero(t, rep.Waiting)
	assert.EqualValues(t, 20, rep.RowsRead)
	assert.EqualValues(t, 30, f.Stats(t).DistinctEvents)
}

// The report's file decisions are pushed as metrics.
func TestReportMetricsFileDecisions(t *testing.T) {
	rep := &importer.Report{FileDecisions: importer.FileDecisions{Reimported: 1, SkippedChanged: 2, Waiting: 3}}
	m := reportMetrics(rep)
	assert.Equal(t, 1.0, m["insider_import_files_reimported"])
	assert.Equal(t, 2.0, m["insider_import_files_skipped_changed"])
	assert.Equal(t, 3.0, m["insider_import_files_waiting"])
	for k := range m {
		assert.Contains(t, metricHelp, k, "every metric has its help")
	}
}

// A file replaced by another (renamed over) while it is read stops the run
// with exit 1; it is a new version, not a repair: the next run stops on it
// (on_change: stop), and on_change: reimport imports the new one from row 1.
func TestE2EReplacedWhileRead(t *testing.T) {
	now := time.Now()
	env := []string{"INSIDER_API_KEY=" + testKey}
	const n = 60000
	f := startFake(t, "--hold")
	dir := t.TempDir()
	file := filepath.Join(dir, "users.csv")
	require.NoError(t, os.WriteFile(file, inputCSV(n, now), 0o600))
	e := newInputEnv(t, f, []string{file}, "", 100)
	next := inputCSV(n+500, now.Add(-100*time.Hour)) // other timestamps: other events
	res := changeWhileRead(t, f, e, 2, func() {
		require.NoError(t, os.WriteFile(file+".tmp", next, 0o600))
		require.NoError(t, os.Rename(file+".tmp", file))
	})
	require.Equal(t, 1, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "changed while it was being read: replaced by another file")
	assert.Contains(t, res.Stderr, "source.on_change")
	st, _ := readCheckpoint(t, e.checkpoints)
	assert.False(t, st.Files[file].Finished)
	assert.Empty(t, st.Files[file].Unreadable, "a new version, not the old one to resume")
	first := f.Stats(t).DistinctEvents

	res = runImport(t, env, e.args()...)
	require.Equal(t, 2, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, file+": changed since it was imported (partly imported, ")

	re := withSource(t, e, []string{file}, "  on_change: reimport\n")
	res = runImport(t, env, re.args()...)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.EqualValues(t, n+500, readReport(t, e.report).RowsRead, "the new version from row 1")
	assert.Equal(t, first+n+500, f.Stats(t).DistinctEvents, "every event of the new version")
}

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
// returns how the run ended.
func changeWhileRead(t *testing.T, f *fake, e *inputEnv, requests int64, change func()) result {
	t.Helper()
	p := startImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
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

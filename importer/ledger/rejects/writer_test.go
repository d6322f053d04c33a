package rejects

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

// badRow is the reject of the row numbered i (its line i+1, after a
// header) with cells i and an email, and one problem.
func badRow(i int) Record {
	return rejected(readers.Position{File: "x.csv", Index: int64(i) - 1, Line: int64(i) + 1}, fmt.Sprint(i), "x@example.com")
}

// rejected is the reject, with one problem "x: bad", of the row at pos
// with cells.
func rejected(pos readers.Position, cells ...string) Record {
	return Record{Pos: pos, Cells: cells, Reason: "x: bad", Problems: []Problem{{Rule: "x", Msg: "bad"}}}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	return recs
}

// rejectsJSONRows returns the row of every line of a rejects JSON-lines
// file; a line that is not a whole JSON object fails the test.
func rejectsJSONRows(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var rows []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v struct{ Row int64 }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "line %q", sc.Text())
		rows = append(rows, v.Row)
	}
	require.NoError(t, sc.Err())
	return rows
}

// TestRejectsResumeTruncates follows the files through two crashes: lines
// written after the last save are cut off by the resume, so the rows of the
// batches the resume redoes appear once. After a clean end nothing is cut,
// and lines appended since by someone else stay.
func TestRejectsResumeTruncates(t *testing.T) {
	dir := t.TempDir()
	jsonl, csvPath := filepath.Join(dir, "r.jsonl"), filepath.Join(dir, "r.csv")
	cols := []string{"id", "email"}
	open := func(prev *checkpoint.RejectsState, fresh bool) *Writer {
		w := New(jsonl, nil)
		w.csv = NewCSV(csvPath, ',', fresh)
		w.SetColumns("in.csv", cols)
		_, err := w.Resume(prev)
		require.NoError(t, err)
		return w
	}
	// Run 1 writes rows 1-3, a save records them, then rows 4-5 reach the
	// files (flushed, as a later save would) but no checkpoint: a kill.
	w := open(nil, true)
	require.NoError(t, w.Write("in.csv", []Record{badRow(1), badRow(2), badRow(3)}))
	saved := w.State()
	assert.False(t, saved.Closed)
	require.NoError(t, w.Write("in.csv", []Record{badRow(4), badRow(5)}))
	require.NoError(t, w.Flush())
	// A torn line, as a kill in the middle of a write would leave.
	f, err := os.OpenFile(jsonl, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"file":"in.csv","ro`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	// Run 2 resumes from the save: rows 4-5 are redone.
	w = open(saved, false)
	assert.Equal(t, []int64{1, 2, 3}, rejectsJSONRows(t, jsonl), "cut to the saved length")
	assert.Len(t, readCSV(t, csvPath), 1+3)
	require.NoError(t, w.Write("in.csv", []Record{badRow(4), badRow(5), badRow(6)}))
	require.NoError(t, w.Seal())
	final := w.State()
	assert.True(t, final.Closed)
	require.NoError(t, w.Close())
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6}, rejectsJSONRows(t, jsonl))
	csvRows := readCSV(t, csvPath)
	require.Len(t, csvRows, 1+6)
	for i, r := range csvRows[1:] {
		assert.Equal(t, []string{fmt.Sprint(i + 1), "x@example.com", "x: bad"}, r)
	}
	st, err := os.Stat(jsonl)
	require.NoError(t, err)
	assert.Equal(t, final.Lengths[jsonl], st.Size())

	// Another job appends to the same JSON-lines file; this job's next
	// run (after its clean end) keeps those lines.
	f, err = os.OpenFile(jsonl, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"file":"other.csv","row":99}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	w = open(final, false)
	assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 99}, rejectsJSONRows(t, jsonl))
	assert.Equal(t, final.Lengths[jsonl]+int64(len(`{"file":"other.csv","row":99}`)+1), w.State().Lengths[jsonl], "this run starts after them")
	require.NoError(t, w.Close())
}

// A CSV that a killed run created after its last save is not this job's
// committed rejects: the resume starts it afresh.
func TestRejectsResumeUnrecordedCSV(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "r.csv")
	w := New("", nil)
	w.csv = NewCSV(csvPath, ',', true)
	_, err := w.Resume(nil)
	require.NoError(t, err)
	saved := w.State() // before any CSV exists
	w.SetColumns("in.csv", []string{"id", "email"})
	require.NoError(t, w.Write("in.csv", []Record{badRow(1)}))
	require.NoError(t, w.Flush())

	w = New("", nil)
	w.csv = NewCSV(csvPath, ',', false)
	w.SetColumns("in.csv", []string{"id", "email"})
	_, err = w.Resume(saved)
	require.NoError(t, err)
	require.NoError(t, w.Write("in.csv", []Record{badRow(1)}))
	require.NoError(t, w.Seal())
	closed := w.State()
	require.NoError(t, w.Close())
	assert.Equal(t, [][]string{{"id", "email", "reject_reason"}, {"1", "x@example.com", "x: bad"}}, readCSV(t, csvPath))

	// A run without --rejects-csv keeps the CSV's recorded length, so a
	// later run with it after a crash appends instead of starting afresh.
	w = New(filepath.Join(dir, "r.jsonl"), nil)
	_, err = w.Resume(closed)
	require.NoError(t, err)
	noCSV := w.State()
	assert.Equal(t, closed.Lengths[csvPath], noCSV.Lengths[csvPath])
	w = New("", nil)
	w.csv = NewCSV(csvPath, ',', false)
	w.SetColumns("in.csv", []string{"id", "email"})
	_, err = w.Resume(noCSV) // not closed: that run was killed
	require.NoError(t, err)
	require.NoError(t, w.Write("in.csv", []Record{badRow(2)}))
	require.NoError(t, w.Close())
	assert.Len(t, readCSV(t, csvPath), 3, "header and both rows")
}

// A write that fails part way leaves no part of the batch's rejects: the
// lengths are back at the mark, and the file holds whole lines.
func TestRejectsWriteFailureTakesBack(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "r.jsonl")
	w := New(jsonl, nil)
	w.csv = NewCSV(filepath.Join(dir, "r.csv"), ',', true)
	w.SetColumns("in.csv", []string{"id", "email"})
	_, err := w.Resume(nil)
	require.NoError(t, err)
	require.NoError(t, w.Write("in.csv", []Record{badRow(1)}))
	require.NoError(t, w.Flush())
	before := w.State()
	// The CSV output fails (its file is closed behind its back) after the
	// JSON lines were appended: both are taken back.
	for _, o := range w.csv.outs {
		o.app.f.Close()
	}
	big := make([]Record, 0, 5000)
	for i := range 5000 { // more than the 64 KiB buffer: written to the file
		big = append(big, badRow(10+i))
	}
	require.Error(t, w.Write("in.csv", big))
	assert.Equal(t, before, w.State())
	require.NoError(t, w.jsonl.flush())
	assert.Equal(t, []int64{1}, rejectsJSONRows(t, jsonl))
	assert.Equal(t, int64(1), w.Count())
}

// A rejects file that exists with mode 0644 is 0600 once rejects are
// written to it; a link at a rejects path is refused before anything is
// written, and its target is untouched.
func TestRejectsFilesModeAndLinks(t *testing.T) {
	dir := t.TempDir()
	jsonl, csvPath := filepath.Join(dir, "r.jsonl"), filepath.Join(dir, "r.csv")
	for _, p := range []string{jsonl, csvPath} {
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		require.NoError(t, os.Chmod(p, 0o644))
	}
	w := New(jsonl, nil)
	w.csv = NewCSV(csvPath, ',', false)
	w.SetColumns("in.csv", []string{"id", "email"})
	_, err := w.Resume(nil)
	require.NoError(t, err)
	require.NoError(t, w.Write("in.csv", []Record{badRow(1)}))
	require.NoError(t, w.Close())
	for _, p := range []string{jsonl, csvPath} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
	}

	target := filepath.Join(t.TempDir(), "precious")
	require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o644))
	for _, tc := range []struct{ jsonl, csv string }{{filepath.Join(dir, "l.jsonl"), ""}, {"", filepath.Join(dir, "l.csv")}} {
		link := tc.jsonl + tc.csv
		require.NoError(t, os.Symlink(target, link))
		w := New(tc.jsonl, nil)
		if tc.csv != "" {
			w.csv = NewCSV(tc.csv, ',', true)
		}
		_, err := w.Resume(nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), link)
		assert.Contains(t, err.Error(), "symbolic link")
		// A link planted after the start is refused by the open itself.
		require.NoError(t, os.Remove(link))
		_, err = w.Resume(nil)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(target, link))
		w.SetColumns("in.csv", []string{"id", "email"})
		err = w.Write("in.csv", []Record{badRow(1)})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "symbolic link")
		b, err := os.ReadFile(target)
		require.NoError(t, err)
		assert.Equal(t, "precious\n", string(b))
		st, err := os.Stat(target)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	}
}

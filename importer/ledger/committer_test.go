package ledger

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/readers"
)

// committerRun is a Committer over a real file store and rejects file,
// with Run going.
type committerRun struct {
	c       *Committer
	store   *checkpoint.FileStore
	senders chan struct{}
	ran     chan error
	rw      *rejects.Writer
	rejects string
}

func startCommitter(t *testing.T, opts Options) *committerRun {
	t.Helper()
	dir := t.TempDir()
	store, err := checkpoint.NewFileStore(dir)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close(context.Background()) })
	path := filepath.Join(dir, "rejects.jsonl")
	rw := rejects.New(path, nil)
	_, err = rw.Resume(nil)
	require.NoError(t, err)
	opts.Job, opts.Where, opts.Interval, opts.Workers = "job", "the test store", time.Hour, 1
	cr := &committerRun{c: NewCommitter(checkpoint.State{}, store, rw, opts), store: store,
		senders: make(chan struct{}), ran: make(chan error, 1), rw: rw, rejects: path}
	go func() { cr.ran <- cr.c.Run(t.Context(), cr.senders, time.Hour) }()
	return cr
}

// stop ends Run as the pipeline does once every worker returned, then
// Close saves for the last time.
func (cr *committerRun) stop(t *testing.T) {
	t.Helper()
	close(cr.senders)
	require.NoError(t, <-cr.ran)
	require.NoError(t, cr.c.Close(t.Context()))
}

func (cr *committerRun) saved(t *testing.T) checkpoint.State {
	t.Helper()
	st, err := cr.store.Peek(t.Context(), "job")
	require.NoError(t, err)
	return st
}

func pos(file string, i int64) readers.Position {
	return readers.Position{File: file, Index: i, Offset: -1}
}

// Write-ahead: once WaitDurable returns, the saved checkpoint lists the
// range in flight; once it is complete and the file read to its end, the
// file is finished with every row acknowledged.
func TestCommitterWriteAhead(t *testing.T) {
	var done []string
	cr := startCommitter(t, Options{FileDone: func(file string, fs *checkpoint.FileState) { done = append(done, file) }})
	cr.c.Begin("a.csv", readers.Identity{Size: 10}, time.Now(), pos("a.csv", 0))
	rg := &Range{Segs: []Segment{{File: "a.csv", Start: pos("a.csv", 0), End: pos("a.csv", 5)}}}
	cr.c.Dispatch(rg)
	require.NoError(t, cr.c.WaitDurable(t.Context(), rg))
	fs := cr.saved(t).Files["a.csv"]
	require.NotNil(t, fs)
	assert.Equal(t, []checkpoint.Range{{Start: pos("", 0), End: pos("", 5)}}, stripFiles(fs.InFlight), "listed in flight before it is sent")

	cr.c.FinishFile("a.csv", pos("a.csv", 5))
	cr.c.Complete(rg, Outcome{Counts: Counts{RowsRead: 5, RowsMapped: 5}, Segs: []SegmentOutcome{{Acked: 5}}})
	cr.stop(t)
	fs = cr.saved(t).Files["a.csv"]
	require.NotNil(t, fs)
	assert.True(t, fs.Finished)
	assert.Empty(t, fs.InFlight)
	assert.Equal(t, int64(5), fs.RowsAcked)
	assert.Equal(t, int64(5), fs.Frontier.Index)
	assert.Equal(t, []string{"a.csv"}, done)
	assert.Equal(t, Counts{RowsRead: 5, RowsMapped: 5}, cr.c.Totals())
}

// A range over two files with a reject in each: each file counts its own
// rows, the rejects file names the file of each row, the row that gave up
// its cells gets them back from its input, and the tally counts the
// reject it had not seen.
func TestCommitterRejectsByFile(t *testing.T) {
	dir := t.TempDir()
	b := filepath.Join(dir, "b.csv")
	require.NoError(t, os.WriteFile(b, []byte("id,name\n0,zero\n1,one\n2,two\n"), 0o600))
	tally := NewTally(&RejectLimit{Rows: 100})
	opened := 0
	cr := startCommitter(t, Options{Tally: tally, Open: func(ctx context.Context, file string, at readers.Position) (readers.Reader, error) {
		opened++
		return readers.Open(ctx, file, readers.Options{Start: &at})
	}})
	cr.c.Begin("a.csv", readers.Identity{}, time.Now(), pos("a.csv", 0))
	cr.c.Begin(b, readers.Identity{}, time.Now(), pos(b, 0))
	cr.rw.SetColumns(b, []string{"id", "name"})
	rg := &Range{Segs: []Segment{{File: "a.csv", Start: pos("a.csv", 0), End: pos("a.csv", 4)}, {File: b, Start: pos(b, 0), End: pos(b, 3)}}}
	cr.c.Dispatch(rg)
	require.NoError(t, cr.c.WaitDurable(t.Context(), rg))
	cr.c.FinishFile("a.csv", pos("a.csv", 4))
	cr.c.FinishFile(b, pos(b, 3))

	bad := Reject{Pos: pos("a.csv", 2), Row: &testRow{src: readers.Record{Pos: pos("a.csv", 2), Text: []string{"2", "x"}}},
		Problems: []rejects.Problem{{Column: "name", Rule: "r", Msg: "bad"}}, Tallied: true}
	refused := Reject{Pos: pos(b, 1), Row: &testRow{src: readers.Record{Pos: pos(b, 1)}}, API: []string{"no"}}
	cr.c.Complete(rg, Outcome{Counts: Counts{RowsRead: 7, RowsMapped: 6, RowsRejected: 1, RowsRejectedByAPI: 1},
		Segs: []SegmentOutcome{{Acked: 3, Rejects: []Reject{bad}}, {Acked: 2, Rejects: []Reject{refused}}}})
	cr.stop(t)

	st := cr.saved(t)
	for file, want := range map[string][2]int64{"a.csv": {3, 1}, b: {2, 1}} {
		require.NotNil(t, st.Files[file], file)
		assert.True(t, st.Files[file].Finished, file)
		assert.Equal(t, want, [2]int64{st.Files[file].RowsAcked, st.Files[file].RowsRejected}, file)
	}
	lines := readLines(t, cr.rejects)
	require.Len(t, lines, 2)
	assert.Equal(t, "a.csv", lines[0]["file"])
	assert.Equal(t, b, lines[1]["file"])
	assert.Equal(t, "rejected by Insider: no", lines[1]["reason"])
	assert.Equal(t, map[string]any{"id": "1", "name": "one"}, lines[1]["cells"], "read again from the input")
	assert.Equal(t, 1, opened)
	assert.Equal(t, []RejectReason{{Rule: ruleByInsider, Rows: 1, Example: pos(b, 1).String() + ": no"}}, tally.Reasons(),
		"the tally counts the reject Observe did not see, not the one it did")
}

func stripFiles(rs []checkpoint.Range) []checkpoint.Range {
	for i := range rs {
		rs[i].Start.File, rs[i].End.File = "", ""
	}
	return rs
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		out = append(out, m)
	}
	return out
}

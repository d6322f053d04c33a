package ledger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/readers"
)

// countingReader counts the records a refiller reads.
type countingReader struct {
	readers.Reader
	n *int
}

func (c countingReader) Next(ctx context.Context) (readers.Record, error) {
	*c.n++
	return c.Reader.Next(ctx)
}

// The cells of rows Insider rejected are read again by one reader moving
// forward through the file: rows asked for in input order, over several
// checkpoint intervals, cost one open and one pass; only a row behind the
// reader opens it again. A cancelled context (a signal) stops the reading;
// the rows then carry no cells.
func TestRefillerReadsForwardOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "%d,name %d\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))

	opens, reads := 0, 0
	var logged []string
	f := &refiller{file: p,
		open: func(ctx context.Context, file string, at readers.Position) (readers.Reader, error) {
			opens++
			rd, err := readers.Open(ctx, file, readers.Options{Start: &at})
			if err != nil {
				return nil, err
			}
			return countingReader{rd, &reads}, nil
		},
		log: func(msg string, args ...any) { logged = append(logged, msg) },
	}
	defer f.close()
	pos := func(i int) readers.Position { return readers.Position{File: p, Index: int64(i), Offset: -1} }
	ask := func(ctx context.Context, idx ...int) []*testRow {
		rows := make([]*testRow, len(idx))
		rejs := make([]*Reject, len(idx))
		for k, i := range idx {
			rows[k] = &testRow{src: readers.Record{Pos: pos(i)}}
			rejs[k] = &Reject{Pos: pos(i), Row: rows[k]}
		}
		f.fill(ctx, rejs)
		return rows
	}
	for _, set := range [][]int{{20, 10}, {300, 301}, {900}} {
		for _, r := range ask(t.Context(), set...) {
			require.Equal(t, 2, r.src.Len(), "row %d", r.src.Pos.Index)
			assert.Equal(t, fmt.Sprint(r.src.Pos.Index), r.src.Text[0])
		}
	}
	assert.Equal(t, 1, opens, "one reader for rows asked in input order")
	assert.LessOrEqual(t, reads, 901, "one forward pass")

	r := ask(t.Context(), 5)
	assert.Equal(t, "5", r[0].src.Text[0])
	assert.Equal(t, 2, opens, "a row behind the reader opens it again")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r = ask(ctx, 950)
	assert.Zero(t, r[0].src.Len(), "cancelled: no cells")
	assert.NotEmpty(t, logged)
}

// testRow is a rejected row holding its record, as the importer's rows do.
type testRow struct{ src readers.Record }

func (r *testRow) Cells() []string           { return r.src.Strings() }
func (r *testRow) Released() bool            { return r.src.Len() == 0 }
func (r *testRow) Refill(rec readers.Record) { r.src = rec }

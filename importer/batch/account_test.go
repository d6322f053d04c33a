package batch

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// The counts of a batch taken whole, worked out at cut, are those the
// row by row count gives (the one kept for batches Insider refused users
// of): rows rejected before sending, rows with nothing to send, events
// expired and sent, users joined.
func TestAccountCountedAtCutAsRowByRow(t *testing.T) {
	s := testSettings(t)
	s.Users = 7
	var units []*unit
	g := &grouper{}
	for i := range 300 {
		r := &encode.Row{Src: readers.Record{Pos: posAt(i)}, Key: []byte(fmt.Sprintf(`{"email":"u%d"}`, i*7%11)), EventsRead: int32(i % 3)}
		switch {
		case i%13 == 0:
			r.Problems = []encode.Problem{{Rule: "x", Msg: "bad"}}
		case i%17 == 0: // nothing to send
		default:
			r.Attrs = [][]byte{nil, []byte(fmt.Sprintf(`"t%d"`, i))}
			for e := range i % 3 {
				r.Evs = append(r.Evs, []byte(fmt.Sprintf(`{"event_name":"e%d_%d"}`, i, e)))
			}
			r.Expired = int32(i % 2)
		}
		if u := g.add(r); u != nil {
			units = append(units, u)
		}
	}
	units = append(units, g.flush())
	bt := newBatcher(s)
	var batches []*Batch
	for _, u := range units {
		if b := bt.add(u); b != nil {
			batches = append(batches, b)
		}
	}
	batches = append(batches, bt.cut(posAt(300)))
	require.Greater(t, len(batches), 10)
	var rows, rejected, nothing int64
	for i, b := range batches {
		whole, wholeRejects := countRows(b, Outcome{})
		byRow, byRowRejects := countRows(b, Outcome{Failed: map[int][]string{-1: nil}})
		assert.Equal(t, byRow, whole, "batch %d", i)
		assert.Equal(t, byRowRejects, wholeRejects, "batch %d", i)
		rows, rejected, nothing = rows+whole.RowsRead, rejected+whole.RowsRejected, nothing+whole.RowsNothingToSend
	}
	assert.EqualValues(t, 300, rows)
	assert.EqualValues(t, 24, rejected)
	assert.NotZero(t, nothing)
}

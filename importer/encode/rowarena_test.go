package encode

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/readers"
)

// Rows mapped from one arena keep their own bytes, whatever their sizes:
// a row that outgrows the arena's free space (its first parts written
// there, the rest moved) is not overwritten by the rows after it.
func TestRowArenaKeepsEachRowsBytes(t *testing.T) {
	cfg := parseTestConfig(t, []string{"x.csv"}, `
mapping:
  identifiers: {uuid: id, email: email}
  attributes: {name: n, custom: {tags: {column: tags, type: array}}}
  events:
    - name: page_view
      timestamp: {column: at, layout: unix}
`)
	header := []string{"id", "email", "n", "tags", "at"}
	var recs []readers.Record
	for i, size := range []int{5, 3000, 10, 200, 9000, 1, 40, 40, 16000, 7, 20000, 20000, 20000, 20000, 20000, 20000, 20000, 20000, 3} {
		recs = append(recs, readers.Record{Text: []string{
			fmt.Sprintf("U%d", i), fmt.Sprintf("u%d@example.com", i), strings.Repeat("n", size),
			strings.Repeat("t|", size%50), fmt.Sprint(1709294400 + i),
		}})
	}
	want := map[int][3]string{}
	for _, arena := range []bool{false, true} {
		mp, err := NewMapper(cfg, "x.csv", header, testRef)
		require.NoError(t, err)
		var a *RowArena
		if arena {
			a = mp.NewRowArena(len(recs), nil)
		}
		var rows []*Row
		for _, rec := range recs {
			rows = append(rows, mp.MapRecordIn(a, rec))
		}
		for i, r := range rows {
			require.Empty(t, r.Problems)
			got := [3]string{string(r.Key), fmt.Sprintf("%s", r.Attrs), fmt.Sprintf("%s", r.Evs)}
			if !arena {
				want[i] = got
				assert.Contains(t, got[0], fmt.Sprintf(`"uuid":"U%d"`, i))
				continue
			}
			assert.Equal(t, want[i], got, "row %d", i)
		}
	}
}

// Once every row of a chunk is encoded into a request (release), the
// arena's encoding space and attribute slots are garbage, though the rows
// stay until their batch is answered: rows in flight do not hold their
// encoded bytes twice.
func TestRowArenaFreesBytesOnceRowsAreReleased(t *testing.T) {
	cfg := parseTestConfig(t, []string{"x.csv"}, `
mapping:
  identifiers: {uuid: id}
  attributes: {name: n}
  events:
    - name: page_view
      timestamp: {column: at, layout: unix}
`)
	mp, err := NewMapper(cfg, "x.csv", []string{"id", "n", "at"}, testRef)
	require.NoError(t, err)
	const n = 64
	a := mp.NewRowArena(n, nil)
	freed := make(chan string, 2)
	runtime.SetFinalizer(&a.buf[:1][0], func(*byte) { freed <- "buf" })
	runtime.SetFinalizer(&a.attrs[:1][0], func(*[]byte) { freed <- "attrs" })
	rows := make([]*Row, n)
	for i := range rows {
		rows[i] = mp.MapRecordIn(a, readers.Record{Text: []string{fmt.Sprint("U", i), "Name", "1751328000"}})
		require.Empty(t, rows[i].Problems)
		require.NotNil(t, rows[i].Attrs)
	}
	a = nil
	for i, r := range rows {
		r.Release()
		if i < n-1 {
			runtime.GC()
			select {
			case what := <-freed:
				t.Fatalf("%s freed while row %d was not released", what, i+1)
			default:
			}
		}
	}
	got := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		runtime.GC()
		select {
		case what := <-freed:
			got[what] = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	assert.Equal(t, map[string]bool{"buf": true, "attrs": true}, got)
	for _, r := range rows {
		assert.Len(t, r.Evs, 1, "the event count stays")
	}
	runtime.KeepAlive(rows)
}

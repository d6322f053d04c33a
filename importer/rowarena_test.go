package importer

import (
	"fmt"
	"strings"
	"testing"

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
		mp, err := newMapper(cfg, "x.csv", header, testRef)
		require.NoError(t, err)
		var a *rowArena
		if arena {
			a = mp.newRowArena(len(recs))
		}
		var rows []*row
		for _, rec := range recs {
			rows = append(rows, mp.mapRecordIn(a, rec))
		}
		for i, r := range rows {
			require.Empty(t, r.problems)
			got := [3]string{string(r.key), fmt.Sprintf("%s", r.attrs), fmt.Sprintf("%s", r.evs)}
			if !arena {
				want[i] = got
				assert.Contains(t, got[0], fmt.Sprintf(`"uuid":"U%d"`, i))
				continue
			}
			assert.Equal(t, want[i], got, "row %d", i)
		}
	}
}

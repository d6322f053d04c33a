package encode

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/internal/jsonstr"
	"github.com/insider-import/insider-import/readers"
)

// TestPlainCellsEncodeAlike maps records whose cells the reader marked
// plain (readers.Record.Plain) and the same records unmarked: the encoded
// rows are the same bytes. Marks are set only where they hold, as the
// reader sets them.
func TestPlainCellsEncodeAlike(t *testing.T) {
	cfg, err := parseConfig("b.yaml", []byte(benchPairMapping))
	require.NoError(t, err)
	mp, err := NewMapper(cfg, "x.csv", benchPairHeader, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	rows := [][]string{
		{"Jane.Doe@Example.com", "+447700900123", "C10000001", "Jane", "Doe", "London", "ORD-1", "SKU-1", "Trail Shoe", "Footwear>Running", "120.00", "1", "gbp", "2025-05-01T14:32:10Z"},
		{"zoe@example.com", "", "C2", "Zoë", "Núñez", "São Paulo", "ORD-2", "SKU-2", `Tea 12"`, "Grocery > Tea", "3.5", "2", "USD", "2025-05-02T00:00:00Z"},
		{" padded@example.com ", "+12025550143", `C\3`, "tab\there", "O'Brien", "  Boston", "ORD-3", "SKU-3", "a\u2028b", "A>B>C", "1e2", "3", "EUR", "2025-05-03T10:00:00Z"},
	}
	for _, cells := range rows {
		var plain uint64
		for i, c := range cells {
			if jsonPlainCell(c) {
				require.Equal(t, `"`+c+`"`, string(jsonstr.AppendString(nil, c)))
				plain |= 1 << i
			}
		}
		require.NotZero(t, plain)
		marked := mp.MapRecord(readers.Record{Text: cells, Plain: plain})
		unmarked := mp.MapRecord(readers.Record{Text: cells})
		assert.Equal(t, unmarked.Problems, marked.Problems, "%q", cells)
		assert.Equal(t, string(unmarked.Key), string(marked.Key), "%q", cells)
		assert.Equal(t, unmarked.Attrs, marked.Attrs, "%q", cells)
		assert.Equal(t, unmarked.Evs, marked.Evs, "%q", cells)
	}
}

// jsonPlainCell is what readers.Record.Plain promises of a cell.
func jsonPlainCell(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

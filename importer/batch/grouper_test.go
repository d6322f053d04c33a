package batch

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/encode/encodetest"
)

// TestMapRecordMergesAndRejectsPerRow: the rows of one user merge into one
// user object; a bad row among them is left out, the others still go.
func TestMapRecordMergesAndRejectsPerRow(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("source: {paths: [x.csv]}\n"+encodetest.PurchaseMapping), encode.CheckValue)
	require.NoError(t, err)
	mp, err := encode.NewMapper(cfg, "x.csv", encodetest.PurchaseHeader, encodetest.Ref)
	require.NoError(t, err)
	g := &grouper{}
	var units []*unit
	for i, cells := range [][]string{
		{"1", "purchase", "2025-06-01T10:00:00Z", "O-1", "EUR", "1", "1", "", ""},
		{"1", "purchase", "2025-06-01T10:00:00Z", "O-1", "EUR", "oops", "1", "", ""},
		{"1", "purchase", "2025-06-01T10:00:00Z", "O-1", "EUR", "2", "1", "", ""},
		{"2", "store_visit", "2025-06-02T10:00:00Z", "", "", "", "", "", ""},
	} {
		if u := g.add(mp.MapRecord(encodetest.Record(int64(i+1), cells...))); u != nil {
			units = append(units, u)
		}
	}
	units = append(units, g.flush())
	require.Len(t, units, 2)
	assert.Len(t, units[0].rows, 3)
	require.Len(t, units[0].users, 2)
	assert.Equal(t, int64(1), units[0].users[0].Src.Pos.Row())
	assert.Equal(t, int64(3), units[0].users[1].Src.Pos.Row())
	user := string(encode.AppendUser(nil, encode.KeyedFields(cfg.Mapping.Attributes), units[0].users, cfg.Insider.NotAppend))
	assert.Contains(t, user, `"unit_sale_price":1,`)
	assert.Contains(t, user, `"unit_sale_price":2,`)
	assert.Equal(t, 2, strings.Count(user, `"event_name"`))
	encodetest.RequireAccepted(t, user)
}

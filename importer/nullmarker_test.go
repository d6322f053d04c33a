package importer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A typed cell that holds another tool's NULL marker is rejected with a
// reason that says so (an unquoted \N is null by default; a quoted one is
// text, as PostgreSQL's CSV format writes a text "\N"),
// and how to read it as absent; a string field sends
// it as text (it may be a value), and a marker in source.null_values is
// absent.
func TestNullMarkerHint(t *testing.T) {
	in := writeFile(t, t.TempDir(), "in.csv", dryHeader+`
1,a@example.com,"\N","\N",gold,O-1,EUR,NaN,1,2025-06-01T10:00:00Z
2,b@example.com,1990-04-12,yes,gold,O-2,EUR,1,1,None
3,c@example.com,1990-04-12,maybe,gold,O-3,EUR,1,1,2025-06-01T10:00:00Z
`)
	rep, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.Equal(t, []RejectReason{
		{Column: "optin", Rule: "type(boolean)", Rows: 2, Example: in + ` row 1 (line 2): not a boolean: "\\N" (use true/false, 1/0, yes/no or y/n); "\\N" looks like a NULL marker; add it to source.null_values`},
		{Column: "dob", Rule: "type(date)", Rows: 1, Example: in + ` row 1 (line 2): "\\N" does not match layout "2006-01-02"; "\\N" looks like a NULL marker; add it to source.null_values`},
		{Column: "price", Rule: "type(number)", Rows: 1, Example: in + ` row 1 (line 2): not a number: "NaN"; "NaN" looks like a NULL marker; add it to source.null_values`},
		{Column: "ts", Rule: "timestamp", Rows: 1, Example: in + ` row 2 (line 3): not an RFC 3339 datetime: "None" (e.g. 2025-06-01T14:32:10Z); "None" looks like a NULL marker; add it to source.null_values`},
	}, rep.RejectReasons)

	cfg := dryRunConfig(t, []string{in}, "")
	cfg.Source.NullValues = append(cfg.Source.NullValues, `\N`, "NaN", "None")
	rep, err, _ = dryRun(t, cfg, Options{})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.EqualValues(t, 2, rep.RowsRejected, "maybe, which is no marker, and the purchase whose price is now absent")
	assert.Equal(t, []RejectReason{
		{Column: "optin", Rule: "type(boolean)", Rows: 1, Example: in + ` row 3 (line 4): not a boolean: "maybe" (use true/false, 1/0, yes/no or y/n)`},
		{Column: "price", Rule: "event_params.required", Rows: 1, Example: in + ` row 1 (line 2): unit_sale_price parameter is required on purchase event`},
	}, rep.RejectReasons)
}

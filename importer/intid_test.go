package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One logical id is one user whether pandas/polars wrote it as 1000001.0
// in a CSV or DuckDB as an integer in Parquet: with type: integer on the
// identifier both send uuid "1000001"; a fraction is rejected. Without it,
// validate warns once, naming the column and the fix.
func TestIntegerIDsOneUserFromCSVAndParquet(t *testing.T) {
	duck, err := filepath.Abs("../testdata/interop/duckdb_default.parquet")
	require.NoError(t, err)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,tier\n")
	for i := range 300 { // as pandas writes an integer column that held a null
		fmt.Fprintf(&b, "%d.0,gold\n", i)
	}
	b.WriteString("2.5,gold\n1.5E1,gold\n")
	csvFile := writeFile(t, dir, "pandas.csv", b.String())
	cfgFor := func(id string) *Config {
		y := fmt.Sprintf(`
source: {paths: [%q, %q]}
insider: {endpoint: "http://127.0.0.1:1/never", partner: acme}
delivery: {batch_users: 1000}
mapping:
  identifiers: {uuid: %s}
  attributes: {custom: {tier: tier}}
`, csvFile, duck, id)
		cfg, err := ParseConfig("ids.yaml", []byte(y))
		require.NoError(t, err)
		return cfg
	}
	uuids := func(bodies []string) map[string]int {
		out := map[string]int{}
		for _, body := range bodies {
			for _, part := range strings.Split(body, `"uuid":"`)[1:] {
				out[part[:strings.IndexByte(part, '"')]]++
			}
		}
		return out
	}

	rep, err, bodies := dryRun(t, cfgFor("{column: id, type: integer}"), Options{})
	require.ErrorIs(t, err, ErrIncomplete, "2.5 is not a whole number")
	ids := uuids(bodies)
	assert.Len(t, ids, 300, "one user per logical id")
	// Batches span files: both files' rows go in one request, where the
	// rows of one user join one user object.
	require.Len(t, bodies, 1)
	assert.Equal(t, 1, ids["0"], "the CSV's 0.0 and the Parquet 0: one user")
	assert.Equal(t, 1, ids["15"], "1.5E1 is 15.0's user: merged into it")
	assert.Equal(t, 1, ids["299"])
	assert.EqualValues(t, 1, rep.RowsRejected)
	require.Len(t, rep.RejectReasons, 1)
	assert.Equal(t, RejectReason{Column: "id", Rule: "type(integer)", Rows: 1, Example: csvFile + ` row 301 (line 302): not a whole number: "2.5" (it has a fraction)`}, rep.RejectReasons[0])

	var logs bytes.Buffer
	_, _, bodies = dryRun(t, cfgFor("id"), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ids = uuids(bodies)
	assert.Equal(t, 1, ids["0.0"], "without type: integer the text is sent as written")
	assert.Equal(t, 1, ids["0"])
	assert.Equal(t, 1, strings.Count(logs.String(), "holds ids written as floats"), logs.String())
	assert.Contains(t, logs.String(), `mapping.identifiers.uuid: column \"id\" holds ids written as floats (e.g. \"0.0\" in `+csvFile+` row 1 (line 2))`)
	assert.Contains(t, logs.String(), "declare type: integer on the identifier")
}

// Ids as polars and DuckDB write them when they hold them as floats
// (1000001.0, and 1e+16 for large ones; testdata/interop/ids, made by
// scripts/interop.sh) and as polars writes the same ids as Parquet
// integers: with type: integer every row sends the whole number its
// writer reads back, so each id is one user across the three files.
func TestInteropFloatIDs(t *testing.T) {
	files := []string{"polars_float_ids.csv", "duckdb_double_ids.csv", "polars_int_ids.parquet"}
	var paths []string
	want := map[string]map[string]string{} // file → uuid → big ("" when null)
	for _, f := range files {
		p, err := filepath.Abs(filepath.Join("../testdata/interop/ids", f))
		require.NoError(t, err)
		paths = append(paths, p)
		back := strings.TrimSuffix(p, ".parquet") + ".jsonl"
		if strings.HasSuffix(p, ".csv") {
			back = p + ".jsonl"
		}
		data, err := os.ReadFile(back)
		require.NoError(t, err)
		want[p] = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			d := json.NewDecoder(strings.NewReader(line))
			d.UseNumber()
			var row map[string]any
			require.NoError(t, d.Decode(&row))
			if row["id"] == nil {
				continue
			}
			big := ""
			if row["big"] != nil {
				big = fmt.Sprint(row["big"])
			}
			want[p][fmt.Sprint(row["id"])] = big
		}
		require.Len(t, want[p], 294, f)
	}
	cfg, err := ParseConfig("ids.yaml", []byte(fmt.Sprintf(`
source: {paths: [%q, %q, %q]}
insider: {endpoint: "http://127.0.0.1:1/never", partner: acme}
delivery: {batch_users: 1000}
mapping:
  identifiers: {uuid: {column: id, type: integer}}
  attributes: {custom: {big: {column: big, type: integer}, seen: {value: "1", type: number}}}
`, paths[0], paths[1], paths[2])))
	require.NoError(t, err)
	rep, err, bodies := dryRun(t, cfg, Options{})
	require.ErrorIs(t, err, ErrIncomplete, "rows without an id are rejected")
	assert.EqualValues(t, 3*6, rep.RowsRejected)
	// Batches span files: the three files' rows go in one request, each id
	// one user object holding the last file's values, which are every
	// file's (checked below).
	require.Len(t, bodies, 1, "one request for the three files")
	for i := range paths {
		body := bodies[0]
		var req struct {
			Users []struct {
				Identifiers struct{ UUID string }
				Attributes  struct{ Custom map[string]json.Number }
			}
		}
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		require.NoError(t, d.Decode(&req))
		got := map[string]string{}
		for _, u := range req.Users {
			got[u.Identifiers.UUID] = u.Attributes.Custom["big"].String()
		}
		assert.Equal(t, want[paths[i]], got, files[i])
	}
	assert.Equal(t, want[paths[0]], want[paths[2]], "the same ids in the polars CSV and Parquet")
}

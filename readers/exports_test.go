package readers

import (
	"context"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exportColumns are the columns of the purchase rows every export in
// testdata/interop/exports holds (testdata/interop/gen/exports/rows.sql).
var exportColumns = []string{"order_id", "customer_id", "email", "tier", "opted_in", "amount", "ordered_at", "note", "country"}

// crlfExportColumns are the columns of mariadb_outfile_crlf.txt, the note
// last (testdata/interop/gen/exports/mariadb.sh).
var crlfExportColumns = []string{"order_id", "customer_id", "email", "tier", "opted_in", "amount", "ordered_at", "country", "note"}

// exportCase is one export and the options that read it.
type exportCase struct {
	name string // file or directory under testdata/interop/exports
	opts Options
	// nulls are the texts the export writes for NULL besides what opts
	// read as null (source.null_values in a config).
	nulls []string
}

// exportCases are the exports and how each is read; the export table
// of docs/formats.md gives the same as configs.
var exportCases = []exportCase{
	{name: "pg_text.txt", opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\', NoHeader: true, Names: exportColumns}},
	{name: "pg_text_header.txt", opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\'}},
	{name: "pg_csv.csv", opts: Options{TextNullMarker: true}},
	{name: "mariadb_outfile.txt", opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\', NoHeader: true, Names: exportColumns}},
	// The default form with "\r\n" line ends and the note last, ending
	// in an escaped backslash just before each line end.
	{name: "mariadb_outfile_crlf.txt", opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\', NoHeader: true, Names: crlfExportColumns}},
	{name: "mariadb_outfile_enclosed.csv", opts: Options{Escape: '\\', NoHeader: true, Names: exportColumns}},
	{name: "mariadb_batch.tsv", opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\'}, nulls: []string{"NULL"}},
	{name: "sqlite_csv.csv", opts: Options{TextNullMarker: true}},
	{name: "duckdb_zstd.csv.zst", opts: Options{TextNullMarker: true}},
	{name: "duckdb_partitioned_csv", opts: Options{TextNullMarker: true}},
	{name: "duckdb_partitioned_note", opts: Options{TextNullMarker: true}},
	{name: "duckdb_partitioned_parquet"},
	{name: "spark_layout"},
}

// TestInteropExports reads each export of the purchase rows, a file or a
// directory as Expand lists it, and compares every cell with what its
// writer read back from it (NAME.jsonl): text exactly, numbers as exact
// decimals, booleans and instants by value (a time without a zone is
// UTC, as written); NULL and "" are both the absent cell.
func TestInteropExports(t *testing.T) {
	for _, c := range exportCases {
		t.Run(c.name, func(t *testing.T) {
			base := filepath.Join("..", "testdata", "interop", "exports", c.name)
			files, err := Expand(context.Background(), []string{base}, S3Options{})
			require.NoError(t, err)
			got := map[string]map[string]Value{}
			for _, f := range files {
				r, err := Open(context.Background(), f, c.opts)
				require.NoError(t, err)
				cols := r.Columns()
				require.ElementsMatch(t, exportColumns, cols, f)
				for _, rec := range pqReadAll(t, r) {
					row := map[string]Value{}
					for i, col := range cols {
						row[col] = rec.Value(i)
					}
					got[row["order_id"].String()] = row
				}
				require.NoError(t, r.Close())
			}
			want := readExportJSONL(t, base+".jsonl")
			require.Len(t, got, 200)
			require.Len(t, want, 200)
			for id, w := range want {
				g, ok := got[id]
				require.True(t, ok, "order %s is not read", id)
				for _, col := range exportColumns {
					exportCell(t, c, id, col, w[col], g[col])
				}
			}
		})
	}
}

func readExportJSONL(t *testing.T, file string) map[string]map[string]any {
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for line := range strings.Lines(strings.TrimSpace(string(data))) {
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		var row map[string]any
		require.NoError(t, d.Decode(&row), line)
		out[jsonText(row["order_id"])] = row
	}
	return out
}

// jsonText is a JSON value as text: strings as they are, numbers as
// written, booleans as true or false.
func jsonText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// exportCell compares one cell read with the writer's value.
func exportCell(t *testing.T, c exportCase, id, col string, want any, got Value) {
	t.Helper()
	g := got.String()
	if got.Kind == KindString && slices.Contains(c.nulls, g) {
		g = ""
	}
	w := jsonText(want)
	fail := func() {
		t.Fatalf("%s order %s column %s: read %q (%v), the writer reads %#v", c.name, id, col, g, got.Kind, want)
	}
	if w == "" || g == "" {
		if w != g {
			fail()
		}
		return
	}
	switch col {
	case "opted_in":
		if exportBool(w) != exportBool(g) {
			fail()
		}
	case "amount", "order_id", "customer_id":
		x, ok1 := new(big.Rat).SetString(w)
		y, ok2 := new(big.Rat).SetString(g)
		if !ok1 || !ok2 || x.Cmp(y) != 0 {
			fail()
		}
	case "ordered_at":
		x, y := exportTime(w), exportTime(g)
		if x.IsZero() || !x.Equal(y) {
			fail()
		}
	default:
		if w != g {
			fail()
		}
	}
}

func exportBool(s string) string {
	switch strings.ToLower(s) {
	case "t", "true", "1":
		return "true"
	case "f", "false", "0":
		return "false"
	}
	return "?" + s
}

func exportTime(s string) time.Time {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02 15:04:05-07", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

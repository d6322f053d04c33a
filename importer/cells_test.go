package importer

// Cell formats end to end: the real importer reads CSV and Parquet files,
// sends to the stand-in API over loopback, and the request bodies on the
// wire are compared; rejects CSVs made from Parquet import again to the same
// bodies.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/encode/encodetest"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
)

// wireRun runs cfg against a loopback stand-in and returns the report, the
// error and the user objects of every request body on the wire, by uuid.
func wireRun(t *testing.T, cfg *Config, opts Options) (*Report, error, map[string]map[string]any, []string) {
	t.Helper()
	rec := &recorder{}
	_, url := startFake(t, fakeapi.Options{Record: func(b []byte, _ upsert.Response) { rec.add(b) }})
	cfg.Insider.Endpoint = url
	opts.APIKey = testKey
	opts.Store = checkpoint.NewMemoryStore()
	opts.Now = func() time.Time { return testRef }
	rep, err := Run(context.Background(), cfg, opts)
	users := map[string]map[string]any{}
	var bodies []string
	for _, b := range rec.bodies {
		bodies = append(bodies, string(b))
		var req struct {
			Users []map[string]any `json:"users"`
		}
		require.NoError(t, json.Unmarshal(b, &req))
		for _, u := range req.Users {
			id := u["identifiers"].(map[string]any)["uuid"].(string)
			users[id] = u
		}
	}
	return rep, err, users, bodies
}

func parseTestConfig(t *testing.T, files []string, mapping string) *Config {
	t.Helper()
	return encodetest.CellsConfig(t, files, mapping, CheckValue)
}

const csvCellsMapping = `
mapping:
  identifiers: {uuid: id}
  attributes:
    custom:
      s: {column: s, type: datetime, layout: unix}
      ms: {column: ms, type: datetime, layout: unix_ms}
      us: {column: us, type: datetime, layout: UNIX_US}
      ns: {column: ns, type: datetime, layout: unix_ns}
      tz: {column: tz, type: datetime}
      local: {column: local, type: datetime, layout: "2006-01-02 15:04", timezone: America/New_York}
      pick: {column: pick, type: datetime, timezone: America/New_York, dst: later}
      j: {column: j, type: array, format: json}
      pg: {column: pg, type: array, format: postgres}
      duck: {column: duck, type: array, format: brackets}
  events:
    - name: page_view
      timestamp: {column: at, layout: unix_ms}
`

// Epoch counts, +00/+0300 offsets and array syntaxes in a CSV import
// exactly: each value is compared in the request bodies on the wire. A
// naive timestamp in a field without timezone, and a wall clock in a DST
// gap, are rejected with their reasons.
func TestCellFormatsImportExactlyFromCSV(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "cells.csv", `id,s,ms,us,ns,tz,local,pick,j,pg,duck,at
u1,1709294400,1709294400123,1709294400123456,1709294400123456789,2024-03-01 12:00:00+00,2024-03-10 01:59,2024-11-03 01:30:00,"[""a"",""b""]","{a,""b,c"",NULL}","[x, 'y, z']",1709294400123
u2,-1,0,1,1,2024-03-01 12:00:00.123+0300,2024-07-01 12:00,2024-11-03 01:30:00-04,"[]","{}","[]",1709294400000
u3,1709294400,1709294400123,1709294400123456,1709294400123456789,2024-03-01 12:00:00,2024-03-01 12:00,,,,,1709294400123
u4,1709294400,,,,,2024-03-10 02:30,,,,,1709294400123
`)
	rejects := filepath.Join(dir, "rejects.jsonl")
	rep, err, users, _ := wireRun(t, parseTestConfig(t, []string{in}, csvCellsMapping), Options{RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.EqualValues(t, 2, rep.RowsRejected)
	require.Len(t, users, 2)

	u1 := users["u1"]["attributes"].(map[string]any)["custom"].(map[string]any)
	assert.Equal(t, map[string]any{
		"s":     "2024-03-01T12:00:00Z",
		"ms":    "2024-03-01T12:00:00.123Z",
		"us":    "2024-03-01T12:00:00.123456Z",
		"ns":    "2024-03-01T12:00:00.123456789Z",
		"tz":    "2024-03-01T12:00:00Z",
		"local": "2024-03-10T06:59:00Z",
		"pick":  "2024-11-03T06:30:00Z", // the second 01:30, EST, as dst: later says
		"j":     []any{"a", "b"},
		"pg":    []any{"a", "b,c"},
		"duck":  []any{"x", "y, z"},
	}, u1)
	ev := users["u1"]["events"].([]any)[0].(map[string]any)
	assert.Equal(t, "2024-03-01T12:00:00.123Z", ev["timestamp"])

	u2 := users["u2"]["attributes"].(map[string]any)["custom"].(map[string]any)
	assert.Equal(t, map[string]any{
		"s":     "1969-12-31T23:59:59Z",
		"ms":    "1970-01-01T00:00:00Z",
		"us":    "1970-01-01T00:00:00.000001Z",
		"ns":    "1970-01-01T00:00:00.000000001Z",
		"tz":    "2024-03-01T09:00:00.123Z",
		"local": "2024-07-01T16:00:00Z",
		"pick":  "2024-11-03T05:30:00Z", // the offset in the cell decides
	}, u2, "empty arrays are absent, not sent as []")

	b, err := os.ReadFile(rejects)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"row":3`)
	assert.Contains(t, lines[0], `column tz: type(datetime): 2024-03-01 12:00:00 has no time zone, and the field sets none: set timezone on the field (e.g. timezone: UTC or Europe/Istanbul)`)
	assert.Contains(t, lines[1], `"row":4`)
	assert.Contains(t, lines[1], `column local: type(datetime): 2024-03-10 02:30:00 does not exist in America/New_York (the clocks skipped it at a daylight-saving change)`)
}

// A Parquet row of the round trip: epoch counts stored as plain INT64 (no
// timestamp annotation), a timestamp, a date and lists.
type cellsRow struct {
	ID    string    `parquet:"id"`
	Email string    `parquet:"email"`
	Sec   int64     `parquet:"sec"`
	Ms    int64     `parquet:"ms"`
	Us    int64     `parquet:"us"`
	Ns    int64     `parquet:"ns"`
	Visit time.Time `parquet:"visit,timestamp(microsecond)"`
	Dob   int32     `parquet:"dob,date"`
	Tags  []string  `parquet:"tags,list"`
	Cats  []string  `parquet:"cats,list"`
	Pg    []string  `parquet:"pg,list"`
	Duck  []string  `parquet:"duck,list"`
	Lists []int64   `parquet:"lists,list"`
	Order string    `parquet:"order"`
	Price float64   `parquet:"price"`
}

func cellsRowAt(i int, email string) cellsRow {
	at := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC).Add(time.Duration(i) * 90 * time.Minute)
	return cellsRow{
		ID: fmt.Sprintf("P%d", i), Email: email,
		Sec: at.Unix(), Ms: at.UnixMilli(), Us: at.UnixMicro(), Ns: at.UnixNano(),
		Visit: at.Truncate(time.Microsecond), Dob: int32(7000 + i),
		Tags:  []string{"Apparel", "T-Shirts", fmt.Sprintf("Men %d", i)},
		Cats:  []string{"Footwear", "Running"},
		Pg:    []string{"a,b", `say "hi"`, "NULL?"},
		Duck:  []string{"x, y", "it's"},
		Lists: []int64{int64(i), 42},
		Order: fmt.Sprintf("O-%d", i), Price: 9.5 + float64(i),
	}
}

func writeCellsParquet(t *testing.T, path string, rows []cellsRow) string {
	t.Helper()
	var buf bytes.Buffer
	w := pq.NewGenericWriter[cellsRow](&buf)
	_, err := w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

const parquetCellsMapping = `
mapping:
  identifiers: {uuid: id, email: email}
  attributes:
    birthday: {column: dob, type: date, layout: "02.01.2006"}
    list_id: {column: lists, format: postgres}
    custom:
      tags: {column: tags, type: array, separator: ";"}
      pg: {column: pg, type: array, format: postgres}
      duck: {column: duck, type: array, format: brackets}
      s: {column: sec, type: datetime, layout: unix}
      ms: {column: ms, type: datetime, layout: unix_ms}
      us: {column: us, type: datetime, layout: unix_us}
      visit: {column: visit, type: datetime, layout: "2006-01-02 15:04:05.000000", timezone: Europe/Istanbul}
  events:
    - name: purchase
      timestamp: {column: ns, layout: unix_ns}
      params:
        event_group_id: order
        currency: {value: EUR}
        unit_sale_price: {column: price, type: number}
        quantity: {value: "1"}
        taxonomy: {column: cats, separator: ">"}
`

// --rejects-csv from a Parquet input writes lists with each field's own
// separator or format and timestamps in each field's layout, so that the
// fixed file, imported with the same config, sends the same request bodies
// as a direct import of the fixed rows.
func TestRejectsCSVFromParquetImportsTheSame(t *testing.T) {
	dir := t.TempDir()
	good := func(i int) string { return fmt.Sprintf("p%d@example.com", i) }
	var input, fixed []cellsRow
	for i := 0; i < 6; i++ {
		email := good(i)
		if i%2 == 1 {
			email = "not-an-email"
			fixed = append(fixed, cellsRowAt(i, good(i)))
		}
		input = append(input, cellsRowAt(i, email))
	}
	in := writeCellsParquet(t, filepath.Join(dir, "in.parquet"), input)
	out := filepath.Join(dir, "rejects.csv")
	rep, err, users, _ := wireRun(t, parseTestConfig(t, []string{in}, parquetCellsMapping), Options{RejectsCSVPath: out})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.EqualValues(t, 3, rep.RowsRejected)
	require.Len(t, users, 3)
	custom := users["P0"]["attributes"].(map[string]any)["custom"].(map[string]any)
	assert.Equal(t, []any{"Apparel", "T-Shirts", "Men 0"}, custom["tags"])
	assert.Equal(t, []any{"a,b", `say "hi"`, "NULL?"}, custom["pg"])
	assert.Equal(t, "2024-03-01T12:00:00Z", custom["s"])
	assert.Equal(t, "2024-03-01T12:00:00.123Z", custom["ms"])
	assert.Equal(t, "2024-03-01T12:00:00.123456Z", custom["us"])
	assert.Equal(t, "2024-03-01T12:00:00.123456Z", custom["visit"])
	assert.Equal(t, "2024-03-01T12:00:00.123456789Z", users["P0"]["events"].([]any)[0].(map[string]any)["timestamp"])

	// The rejects CSV holds each list as its field reads it.
	f, err := os.Open(out)
	require.NoError(t, err)
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	header := recs[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		require.GreaterOrEqual(t, i, 0, name)
		return i
	}
	// Rejected rows are written as their batches finish, not in file order.
	r1 := recs[slices.IndexFunc(recs, func(r []string) bool { return r[col("id")] == "P1" })]
	assert.Equal(t, "Apparel;T-Shirts;Men 1", r1[col("tags")])
	assert.Equal(t, "Footwear>Running", r1[col("cats")])
	assert.Equal(t, `{"a,b","say \"hi\"","NULL?"}`, r1[col("pg")])
	assert.Equal(t, `["x, y", "it's"]`, r1[col("duck")])
	assert.Equal(t, `{"1","42"}`, r1[col("lists")])
	assert.Equal(t, "2024-03-01 16:30:00.123456", r1[col("visit")], "Istanbul wall clock in the field's layout")
	assert.Equal(t, "1709299800123", r1[col("ms")])

	// Fix the emails, put the rows back in file order, and import the CSV
	// with the same config.
	slices.SortFunc(recs[1:], func(a, b []string) int { return strings.Compare(a[col("id")], b[col("id")]) })
	for _, r := range recs[1:] {
		r[col("email")] = strings.ToLower(r[col("id")]) + "@example.com"
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	require.NoError(t, w.WriteAll(recs))
	again := writeFile(t, dir, "fixed.csv", b.String())
	rep, err, _, bodies := wireRun(t, parseTestConfig(t, []string{again}, parquetCellsMapping), Options{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, rep.RowsMapped)

	// A direct import of the same rows, fixed, sends the same bodies.
	direct := writeCellsParquet(t, filepath.Join(dir, "fixed.parquet"), fixed)
	_, err, _, want := wireRun(t, parseTestConfig(t, []string{direct}, parquetCellsMapping), Options{})
	require.NoError(t, err)
	slices.Sort(bodies)
	slices.Sort(want)
	assert.Equal(t, want, bodies)
	assert.Len(t, want, 2)
}

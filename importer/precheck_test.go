package importer

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
)

// A CSV whose layout matches none of its first rows stops before the first
// request with one config problem naming the field, the column, a sample
// value and the layout that reads it; --max-rejects takes the decision
// back.
func TestPrecheckCSVLayoutMatchesNoRow(t *testing.T) {
	in := genDry(t, t.TempDir(), 50, func(int) bool { return true })
	rep, err, bodies := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce, "exit 2")
	require.Len(t, ce.Problems, 1)
	assert.Equal(t, `dry.yaml:10:5: mapping.attributes.birthday: column "dob": every one of its 50 non-empty cells in the first 50 rows of `+in+
		` is refused, so every row would be rejected; fix the field (e.g. `+in+` row 1 (line 2): "12/04/1990": "12/04/1990" does not match layout "2006-01-02"`+
		` (layout: "2/1/2006" or "1/2/2006" would read it; day first or month first: check which the file means))`, ce.Problems[0].String())
	assert.Empty(t, bodies)
	assert.Zero(t, rep.RowsRead, "nothing was read past the sample")

	_, err, bodies = dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{Rows: 1000}})
	require.ErrorIs(t, err, ErrIncomplete, "--max-rejects says how many rejects the run may take")
	assert.Empty(t, bodies)

	// One good cell among them, or fewer than encode.MinSampleCells cells: the
	// rows are rejected one by one, as data problems.
	in = genDry(t, t.TempDir(), 50, func(i int) bool { return i != 49 })
	_, err, _ = dryRun(t, dryRunConfig(t, []string{in}, ""), Options{})
	require.ErrorIs(t, err, ErrIncomplete)
	in = genDry(t, t.TempDir(), encode.MinSampleCells-1, func(int) bool { return true })
	_, err, _ = dryRun(t, dryRunConfig(t, []string{in}, ""), Options{})
	require.ErrorIs(t, err, ErrIncomplete)
}

func parquetConfig(t *testing.T, file, attrs, ts string) *Config {
	t.Helper()
	y := fmt.Sprintf(`
source: {paths: [%q]}
insider: {endpoint: "http://127.0.0.1:1/never", partner: acme}
mapping:
  identifiers: {uuid: id}
  attributes: {custom: {%s}}
  events:
    - name: page_view
      timestamp: %s
`, file, attrs, ts)
	cfg, err := ParseConfig("pq.yaml", []byte(y))
	require.NoError(t, err)
	return cfg
}

// DuckDB's TIMESTAMP (not adjusted to UTC) mapped without timezone, and
// columns whose Parquet type the field's type can never read, stop before
// the first request, each with the field, column, a sample value and the
// fix.
func TestPrecheckParquetSchema(t *testing.T) {
	file, err := filepath.Abs("../testdata/interop/duckdb_default.parquet")
	require.NoError(t, err)
	_, err, bodies := dryRun(t, parquetConfig(t, file, "tier: tier", "ts"), Options{})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce, "exit 2")
	require.Len(t, ce.Problems, 1)
	assert.Equal(t, `pq.yaml:9:7: mapping.events[0].timestamp: column "ts" of `+file+` is a Parquet TIMESTAMP not adjusted to UTC (a wall-clock time without a zone), `+
		`which type datetime cannot read: every row would be rejected (e.g. row 1: 2025-01-02 03:04:05.678 has no time zone, and the field sets none: `+
		`set timezone on the field (e.g. timezone: UTC or Europe/Istanbul))`, ce.Problems[0].String())
	assert.Empty(t, bodies)

	_, err, bodies = dryRun(t, parquetConfig(t, file, "tier: tier", "{column: ts, timezone: UTC}"), Options{})
	require.NotErrorAs(t, err, &ce, "with timezone it reads")
	assert.NotEmpty(t, bodies)

	_, err, _ = dryRun(t, parquetConfig(t, file, "ltv: {column: ltv, type: boolean}, tags: tags, day: {column: day, type: number}", "{column: ts, timezone: UTC}"), Options{})
	require.ErrorAs(t, err, &ce)
	var msgs []string
	for _, p := range ce.Problems {
		msgs = append(msgs, p.String())
	}
	all := strings.Join(msgs, "\n")
	assert.Len(t, ce.Problems, 3, all)
	assert.Contains(t, all, `mapping.attributes.custom.ltv: column "ltv" of `+file+` is a Parquet FLOAT/DOUBLE, which type boolean cannot read: every row would be rejected (e.g. row 1: not a boolean: 0); declare type: number or integer (or string), or map another column`)
	assert.Contains(t, all, `mapping.attributes.custom.tags: column "tags" of `+file+` is a Parquet a list of BYTE_ARRAY (text), which type string cannot read: every row would be rejected (e.g. row 2: a list cannot be a string; declare type: array); declare type: array, or map another column`)
	assert.Contains(t, all, `mapping.attributes.custom.day: column "day" of `+file+` is a Parquet DATE, which type number cannot read`)
}

// Once running, one rule failing on one column on every one of a file's
// first 1,000 rows stops the run with exit 2 (ErrTooManyRejects), also in
// a file after the sampled one; a single good row among them lets it run.
func TestSystematicRejectsStopTheRun(t *testing.T) {
	dir := t.TempDir()
	good := genDry(t, dir, 20, func(int) bool { return false })
	bad := genDry(t, t.TempDir(), 1500, func(int) bool { return true })
	rep, err, _ := dryRun(t, dryRunConfig(t, []string{good, bad}, ""), Options{})
	var se *SystematicRejectsError
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, ErrTooManyRejects, "exit 2")
	assert.Equal(t, 1000, se.Rows)
	assert.Equal(t, bad, se.File)
	assert.Contains(t, err.Error(), `column dob failed type(date) on every one of the first 1000 rows of `+bad+`, so the run stopped`)
	assert.Contains(t, err.Error(), `e.g. `+bad+` row 1 (line 2): "12/04/1990" does not match layout "2006-01-02"`)
	assert.Less(t, rep.RowsRead, int64(1520), "the run stopped early")
	assert.Equal(t, "stopped: too many rejected rows", rep.Status)

	almost := genDry(t, t.TempDir(), 1500, func(i int) bool { return i != 999 })
	rep, err, _ = dryRun(t, dryRunConfig(t, []string{good, almost}, ""), Options{})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.EqualValues(t, 1499, rep.RowsRejected)

	_, err, _ = dryRun(t, dryRunConfig(t, []string{good, bad}, ""), Options{MaxRejects: &RejectLimit{Percent: 99}})
	require.ErrorIs(t, err, ErrIncomplete, "--max-rejects says otherwise")
}

// A column whose Parquet type the field cannot read stops the run even
// when its first rows are all null: the message says there is no value to
// show.
func TestPrecheckParquetAllNull(t *testing.T) {
	file, err := filepath.Abs("../testdata/interop/duckdb_nulls.parquet")
	require.NoError(t, err)
	y := fmt.Sprintf(`
source: {paths: [%q]}
insider: {endpoint: "http://127.0.0.1:1/never", partner: acme}
mapping:
  identifiers: {uuid: id}
  attributes: {custom: {n: {column: never_int, type: datetime}, r: rare}}
`, file)
	cfg, err := ParseConfig("pq.yaml", []byte(y))
	require.NoError(t, err)
	_, err, bodies := dryRun(t, cfg, Options{})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 1)
	assert.Contains(t, ce.Problems[0].String(), `mapping.attributes.custom.n: column "never_int" of `+file+` is a Parquet INTEGER, which type datetime cannot read: `+
		`every row would be rejected (no value in its first 1000 rows to show; any is refused: a int is not a datetime (for a number of seconds`)
	assert.Empty(t, bodies)
}

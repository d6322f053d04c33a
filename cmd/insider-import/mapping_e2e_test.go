package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mappingConfig writes a config that imports paths into the fake with the
// given mapping (YAML under mapping:, indented two spaces).
func mappingConfig(t *testing.T, f *fake, dir string, paths []string, mapping string) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	return writeFile(t, dir, "import.yaml", fmt.Sprintf(`source:
  paths: [%s]
insider: {endpoint: "http://127.0.0.1:%s/api/user/v1/upsert", partner: e2eshop}
delivery: {batch_users: 100, workers: 2, requests_per_second: 5000}
events: {ttl: {default: 36500d}}
mapping:
%s`, strings.Join(quoted, ", "), f.Port, mapping))
}

// interopFile is the absolute path of a file of the interop corpus.
func interopFile(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "interop", name))
	require.NoError(t, err)
	return p
}

// linesCSV writes a CSV of header and n rows, row(i) each.
func linesCSV(t *testing.T, dir, name, header string, n int, row func(i int) string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := range n {
		b.WriteString(row(i) + "\n")
	}
	return writeFile(t, dir, name, b.String())
}

// A config mistake stops run and validate with exit 2 before the first
// request, naming the field, the column, a sample value and the fix: a
// DuckDB TIMESTAMP (not adjusted to UTC) mapped without timezone, and a
// CSV whose layout matches none of its rows.
func TestE2EConfigMistakeStopsBeforeFirstRequest(t *testing.T) {
	duck := interopFile(t, "duckdb_default.parquet")
	badLayout := linesCSV(t, t.TempDir(), "users.csv", "id,signed_up", 300, func(i int) string {
		return fmt.Sprintf("%d,%02d/01/2023 08:30", 1000+i, 1+i%28)
	})
	for _, c := range []struct {
		name, file, mapping string
		want                []string
	}{
		{"duckdb TIMESTAMP without timezone", duck, `  identifiers: {uuid: id}
  events:
    - name: visit
      timestamp: ts
`, []string{`mapping.events[0].timestamp: column "ts" of ` + duck + ` is a Parquet TIMESTAMP not adjusted to UTC`,
			`e.g. row 1: 2025-01-02 03:04:05.678 has no time zone, and the field sets none: set timezone on the field`}},
		{"CSV layout matching no row", badLayout, `  identifiers: {uuid: id}
  attributes:
    custom: {signed_up: {column: signed_up, type: datetime, layout: "2006-01-02 15:04", timezone: UTC}}
`, []string{`mapping.attributes.custom.signed_up: column "signed_up": every one of its 300 non-empty cells in the first 300 rows of ` + badLayout,
			`"01/01/2023 08:30" does not match layout "2006-01-02 15:04" (layout: "2/1/2006 15:04" or "1/2/2006 15:04" would read it`}},
	} {
		for _, cmd := range []string{"run", "validate"} {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				f := startFake(t)
				d := t.TempDir()
				cfg := mappingConfig(t, f, d, []string{c.file}, c.mapping)
				args := []string{cmd, "-c", cfg, "--progress", "none", "--log-format", "json"}
				if cmd == "run" {
					args = append(args, "--checkpoint", filepath.Join(d, "cp"), "--rejects", filepath.Join(d, "rejects.jsonl"))
				}
				res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, args...)
				require.Equal(t, 2, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
				for _, w := range c.want {
					assert.Contains(t, res.Stderr, w)
				}
				assert.Zero(t, f.Stats(t).Requests, "no request before the config is right")
				assert.NoFileExists(t, filepath.Join(d, "rejects.jsonl"), "no row was rejected one by one")
			})
		}
	}
}

// Once running, a rule failing on one column on every one of a file's
// first 1,000 rows stops the run with exit 2: the first file is sampled
// before the first request and is good; the second stops the run at its
// row 1,000, and none of its rows is sent.
func TestE2ESystematicRejectsStopTheRun(t *testing.T) {
	dir := t.TempDir()
	g := linesCSV(t, dir, "a.csv", "id,signed_up", 50, func(i int) string { return fmt.Sprintf("%d,2023-01-%02d 08:30", 1000+i, 1+i%28) })
	b := linesCSV(t, dir, "b.csv", "id,signed_up", 1200, func(i int) string { return fmt.Sprintf("%d,%02d/01/2023 08:30", 5000+i, 1+i%28) })
	f := startFake(t)
	cfg := mappingConfig(t, f, dir, []string{g, b}, `  identifiers: {uuid: id}
  attributes:
    custom: {signed_up: {column: signed_up, type: datetime, layout: "2006-01-02 15:04", timezone: UTC}}
`)
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", cfg, "--checkpoint", filepath.Join(dir, "cp"),
		"--rejects", filepath.Join(dir, "rejects.jsonl"), "--progress", "none", "--log-format", "json")
	require.Equal(t, 2, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stderr, "column signed_up failed type(datetime) on every one of the first 1000 rows of "+b+", so the run stopped")
	// The stop ends the run as any error does: the good file's batch may
	// or may not have gone out before it; nothing of the bad file did.
	assert.LessOrEqual(t, f.Stats(t).UsersAccepted, int64(50), "the good file's users at most")
}

// One logical id is one user whichever tool wrote it: a pandas-style CSV
// (1000001.0) and DuckDB's Parquet integers, with type: integer on the
// identifier, give the same identifiers, so the same event from both is one
// event of one user at the stand-in. Without it, run warns at the start,
// naming the column and the fix.
func TestE2EIntegerIDsFromCSVAndParquet(t *testing.T) {
	duck := interopFile(t, "duckdb_default.parquet")
	pandas := linesCSV(t, t.TempDir(), "pandas.csv", "id,tier", 300, func(i int) string { return fmt.Sprintf("%d.0,gold", i) })
	for _, c := range []struct {
		id       string
		distinct int64
	}{{"{column: id, type: integer}", 300}, {"id", 600}} {
		t.Run(c.id, func(t *testing.T) {
			f := startFake(t)
			d := t.TempDir()
			cfg := mappingConfig(t, f, d, []string{pandas, duck}, fmt.Sprintf(`  identifiers: {uuid: %s}
  events:
    - name: visit
      timestamp: {value: "2025-01-01T00:00:00Z"}
`, c.id))
			res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", cfg, "--checkpoint", filepath.Join(d, "cp"),
				"--rejects", filepath.Join(d, "rejects.jsonl"), "--progress", "none", "--log-format", "json")
			require.Equal(t, 0, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
			st := f.Stats(t)
			assert.EqualValues(t, 600, st.Events)
			assert.Equal(t, c.distinct, st.DistinctEvents)
			warned := strings.Count(res.Stderr, "holds ids written as floats")
			if c.distinct == 300 {
				assert.Zero(t, warned)
			} else {
				assert.Equal(t, 1, warned, "warned once")
				assert.Contains(t, res.Stderr, "declare type: integer on the identifier")
			}
		})
	}
}

// validate prints the TTL in force for every event name it saw: a 2023
// purchase under ttl.default: 3650d is still expired, and the output says
// why (purchase keeps its built-in 730 days).
func TestE2EValidatePrintsEventTTLs(t *testing.T) {
	dir := t.TempDir()
	in := linesCSV(t, dir, "p.csv", "id,event,ts,order,cur,price,qty", 20, func(i int) string {
		ev := "purchase"
		if i%2 == 1 {
			ev = "page_view"
		}
		return fmt.Sprintf("%d,%s,2023-03-%02dT10:00:00Z,O-%d,EUR,9.90,1", i, ev, 1+i, i)
	})
	f := startFake(t)
	cfg := writeFile(t, dir, "import.yaml", fmt.Sprintf(`source: {paths: [%q]}
insider: {endpoint: "http://127.0.0.1:%s/api/user/v1/upsert", partner: e2eshop}
events: {ttl: {default: 3650d}}
mapping:
  identifiers: {uuid: id}
  events:
    - name_column: event
      timestamp: ts
      params: {event_group_id: order, currency: cur, unit_sale_price: {column: price, type: number}, quantity: {column: qty, type: integer}}
`, in, f.Port))
	res := runImport(t, nil, "validate", "-c", cfg, "--progress", "none", "--log-format", "json")
	require.Equal(t, 0, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stdout, "  event TTLs (older events are dropped as expired):\n"+
		"    page_view             3650d  (events.ttl.default)\n"+
		"    purchase               730d  (built-in for purchase; events.ttl.default does not cover it, set events.ttl.purchase)\n")
	assert.Contains(t, res.Stdout, "events  read 20 = would be sent 10 + dropped by TTL: expired 10 + future 0 + rejected 0")
	assert.Zero(t, f.Stats(t).Requests)
}

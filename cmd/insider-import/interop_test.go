package main

// End-to-end imports of Parquet files written by other tools (the interop
// corpus in testdata/interop), checked against the rows each writer's own
// reader read back when the file was made.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func interopConfig(t *testing.T, f *fake, dir, file, id, ts, flag string) string {
	return writeFile(t, dir, "import.yaml", fmt.Sprintf(`source:
  paths: [%q]
insider: {endpoint: "http://127.0.0.1:%s/api/user/v1/upsert", partner: e2eshop}
delivery: {batch_users: 100, workers: 2, requests_per_second: 5000}
events: {ttl: {default: 36500d}}
mapping:
  identifiers: {uuid: %s}
  events:
    - name: interop
      timestamp: {column: %s, timezone: UTC}
      params: {custom: {flag: {column: %s, type: boolean}}}
`, file, f.Port, id, ts, flag))
}

// The DuckDB, arrow-rs data page v2 (RLE booleans), LZ4_RAW and Brotli
// files the issue found misread import exactly: one user per row, one event
// per row with a timestamp, and the boolean of every event as the writer
// wrote it.
func TestE2EInteropParquet(t *testing.T) {
	for _, c := range []struct{ file, id, ts, flag string }{
		{"duckdb_default", "id", "ts", "opt_in"},
		{"duckdb_v2", "id", "ts", "opt_in"},
		{"arrowrs_v2", "id", "at", "flag"},
		{"arrowrs_v2_nodict", "id", "at", "opt_flag"},
		{"arrowrs_lz4_raw", "id", "at", "flag"},
		{"arrowrs_brotli", "id", "at", "opt_flag"},
		{"polars_lz4", "id", "at", "active"},
	} {
		t.Run(c.file, func(t *testing.T) {
			file, err := filepath.Abs(filepath.Join("..", "..", "testdata", "interop", c.file+".parquet"))
			require.NoError(t, err)
			// What the writer's reader read: the users with an event (a
			// row without a timestamp has nothing to send and is
			// rejected), and the flag of each event (true, false, or
			// absent).
			users := map[string]bool{}
			wantFlags := map[string]int{}
			events := 0
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "interop", c.file+".jsonl"))
			require.NoError(t, err)
			sc := bufio.NewScanner(bytes.NewReader(data))
			rows := 0
			for sc.Scan() {
				rows++
				d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
				d.UseNumber()
				var row map[string]any
				require.NoError(t, d.Decode(&row))
				if row[c.ts] != nil {
					users[fmt.Sprint(row[c.id])] = true
					events++
					wantFlags[fmt.Sprint(row[c.flag])]++
				}
			}
			require.Greater(t, events, 100)
			require.Greater(t, wantFlags["true"], 10)

			f := startFake(t)
			dir := t.TempDir()
			cfg := interopConfig(t, f, dir, file, c.id, c.ts, c.flag)
			res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", cfg,
				"--checkpoint", filepath.Join(dir, "cp"), "--rejects", filepath.Join(dir, "rejects.jsonl"),
				"--progress", "none", "--log-format", "json")
			wantCode := 0
			if len(users) < rows {
				wantCode = 3 // rows rejected
			}
			require.Equal(t, wantCode, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
			st := f.Stats(t)
			assert.Equal(t, int64(len(users)), st.UsersAccepted, "users")
			assert.Equal(t, int64(events), st.Events, "events")
			assert.Equal(t, st.Events, st.DistinctEvents, "each once")

			gotFlags := map[string]int{}
			var keys map[string]int
			require.NoError(t, json.Unmarshal(f.EventsRaw(t), &keys))
			for k := range keys {
				var ev []json.RawMessage
				require.NoError(t, json.Unmarshal([]byte(k), &ev))
				var params struct{ Custom map[string]any }
				require.NoError(t, json.Unmarshal(ev[3], &params))
				flag, ok := params.Custom["flag"]
				if !ok {
					flag = nil
				}
				gotFlags[fmt.Sprint(flag)]++
			}
			if n, ok := wantFlags["<nil>"]; ok {
				delete(wantFlags, "<nil>")
				wantFlags["<nil>"] = n
			}
			assert.Equal(t, wantFlags, gotFlags, "the flag of every event")
		})
	}
}

// arrow-rs' LZ4 (Hadoop-framed) file stops the run at once, exit 1, naming
// the file and the codec and saying what to do.
func TestE2EInteropHadoopLZ4(t *testing.T) {
	file, err := filepath.Abs(filepath.Join("..", "..", "testdata", "interop", "arrowrs_lz4_hadoop.parquet"))
	require.NoError(t, err)
	f := startFake(t)
	dir := t.TempDir()
	cfg := interopConfig(t, f, dir, file, "id", "at", "flag")
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", cfg,
		"--checkpoint", filepath.Join(dir, "cp"), "--rejects", filepath.Join(dir, "rejects.jsonl"),
		"--progress", "none", "--log-format", "json")
	require.Equal(t, 1, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
	assert.Less(t, res.Elapsed, time.Second)
	assert.Contains(t, res.Stderr, "arrowrs_lz4_hadoop.parquet")
	assert.Contains(t, res.Stderr, "unsupported Parquet codec LZ4 (Hadoop); rewrite with snappy, zstd or lz4_raw")
	assert.Zero(t, f.Stats(t).Requests)
	t.Logf("exit %d after %v: %s", res.Code, res.Elapsed.Round(time.Millisecond), tail([]byte(res.Stderr), 400))
}

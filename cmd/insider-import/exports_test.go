package main

// End-to-end imports of the exports in testdata/interop/exports (the same
// 200 purchase rows of 100 customers, as PostgreSQL, MariaDB, sqlite3,
// DuckDB and a Spark-layout directory wrote them), each with the config
// the export table of docs/formats.md gives, checked cell by cell against what the
// writer read back from its file.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportCSV are the source.csv and source.null_values lines of each
// export's config, as in the export table of docs/formats.md.
var exportSources = map[string]string{
	"pg_text.txt":                  `  csv: {delimiter: "\t", quote: "", escape: "\\", header: false, columns: [order_id, customer_id, email, tier, opted_in, amount, ordered_at, note, country]}`,
	"pg_text_header.txt":           `  csv: {delimiter: "\t", quote: "", escape: "\\"}`,
	"pg_csv.csv":                   `  csv: {null_marker: ""}`,
	"mariadb_outfile.txt":          `  csv: {delimiter: "\t", quote: "", escape: "\\", header: false, columns: [order_id, customer_id, email, tier, opted_in, amount, ordered_at, note, country]}`,
	"mariadb_outfile_crlf.txt":     `  csv: {delimiter: "\t", quote: "", escape: "\\", header: false, columns: [order_id, customer_id, email, tier, opted_in, amount, ordered_at, country, note]}`,
	"mariadb_outfile_enclosed.csv": `  csv: {escape: "\\", header: false, columns: [order_id, customer_id, email, tier, opted_in, amount, ordered_at, note, country]}`,
	"mariadb_batch.tsv":            "  csv: {delimiter: \"\\t\", quote: \"\", escape: \"\\\\\"}\n  null_values: [NULL]",
	"sqlite_csv.csv":               `  csv: {null_marker: ""}`,
	"duckdb_zstd.csv.zst":          `  csv: {null_marker: ""}`,
	"duckdb_partitioned_csv":       `  csv: {null_marker: ""}`,
	"duckdb_partitioned_note":      `  csv: {null_marker: ""}`,
	"duckdb_partitioned_parquet":   ``,
	"spark_layout":                 ``,
}

func exportConfig(t *testing.T, f *fake, dir, path, source string) string {
	return writeFile(t, dir, "import.yaml", fmt.Sprintf(`source:
  paths: [%q]
%s
insider: {endpoint: "http://127.0.0.1:%s/api/user/v1/upsert", partner: e2eshop}
delivery: {batch_users: 100, workers: 2, requests_per_second: 5000}
events: {ttl: {default: 36500d}}
mapping:
  identifiers: {uuid: customer_id}
  events:
    - name: order_placed
      timestamp: {column: ordered_at, timezone: UTC}
      params:
        custom:
          order_id: order_id
          email: email
          tier: tier
          opted_in: {column: opted_in, type: boolean}
          amount: {column: amount, type: number}
          note: note
          country: country
`, path, source, f.Port))
}

func exportsDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "interop", "exports"))
	require.NoError(t, err)
	return dir
}

// Every export imports exactly: exit 0, no rejects, one event per row
// (200) for its customer, with every value the writer read back.
func TestE2EExports(t *testing.T) {
	for name, source := range exportSources {
		t.Run(name, func(t *testing.T) {
			f := startFake(t)
			dir := t.TempDir()
			cfg := exportConfig(t, f, dir, filepath.Join(exportsDir(t), name), source)
			runExport(t, f, dir, cfg, []string{"INSIDER_API_KEY=" + testKey})
			checkExportEvents(t, f, filepath.Join(exportsDir(t), name+".jsonl"))
		})
	}
}

// The directory layouts import the same from a bucket: the tree uploaded
// as is, markers and checksums included, read by prefix.
func TestE2EExportsS3(t *testing.T) {
	b := newS3Bucket(t)
	for _, name := range []string{"spark_layout", "duckdb_partitioned_parquet", "duckdb_partitioned_csv", "duckdb_partitioned_note"} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(exportsDir(t), name)
			require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				_, err = b.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &b.bucket,
					Key: aws.String("exports/" + name + "/" + filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
				return err
			}))
			f := startFake(t)
			dir := t.TempDir()
			cfg := exportConfig(t, f, dir, "s3://"+b.bucket+"/exports/"+name+"/", exportSources[name]+"\n"+b.source)
			runExport(t, f, dir, cfg, b.env)
			checkExportEvents(t, f, filepath.Join(exportsDir(t), name+".jsonl"))
		})
	}
}

func runExport(t *testing.T, f *fake, dir, cfg string, env []string) {
	t.Helper()
	rejects := filepath.Join(dir, "rejects.jsonl")
	res := runImport(t, env, "run", "-c", cfg, "--checkpoint", filepath.Join(dir, "cp"),
		"--rejects", rejects, "--progress", "none", "--log-format", "json")
	rj, _ := os.ReadFile(rejects)
	require.Equal(t, 0, res.Code, "stderr:\n%s\nrejects:\n%s", tail([]byte(res.Stderr), 3000), tail(rj, 3000))
}

// checkExportEvents compares the events the stand-in received with the
// writer's rows (want, JSON lines): each order once, for its customer, at
// its instant, with its values; a NULL or empty value is absent.
func checkExportEvents(t *testing.T, f *fake, want string) {
	t.Helper()
	st := f.Stats(t)
	assert.Equal(t, int64(200), st.Events, "events")
	assert.Equal(t, int64(200), st.DistinctEvents, "each once")
	got := map[string][]json.RawMessage{}
	var keys map[string]int
	require.NoError(t, json.Unmarshal(f.EventsRaw(t), &keys))
	for k := range keys {
		var ev []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(k), &ev))
		var params struct{ Custom map[string]any }
		require.NoError(t, json.Unmarshal(ev[3], &params))
		got[fmt.Sprint(params.Custom["order_id"])] = ev
	}
	data, err := os.ReadFile(want)
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(strings.TrimSpace(string(data))) {
		n++
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		var row map[string]any
		require.NoError(t, d.Decode(&row))
		id := exportText(row["order_id"])
		ev, ok := got[id]
		require.True(t, ok, "order %s was not sent", id)
		var identity map[string]string
		require.NoError(t, json.Unmarshal(ev[0], &identity))
		assert.Equal(t, map[string]string{"uuid": exportText(row["customer_id"])}, identity, "order %s", id)
		var ts string
		require.NoError(t, json.Unmarshal(ev[2], &ts))
		at, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(t, err)
		assert.True(t, exportInstant(exportText(row["ordered_at"])).Equal(at), "order %s: sent %s, written %v", id, ts, row["ordered_at"])
		d = json.NewDecoder(bytes.NewReader(ev[3]))
		d.UseNumber()
		var params struct{ Custom map[string]any }
		require.NoError(t, d.Decode(&params))
		for _, col := range []string{"email", "tier", "note", "country", "opted_in", "amount"} {
			w, g := exportText(row[col]), params.Custom[col]
			if w == "" {
				assert.Nil(t, g, "order %s %s: written NULL or empty, sent %#v", id, col, g)
				continue
			}
			switch col {
			case "opted_in":
				assert.Equal(t, w == "1" || w == "true" || w == "t", g, "order %s %s", id, col)
			case "amount":
				x, _ := new(big.Rat).SetString(w)
				num, ok := g.(json.Number)
				require.True(t, ok, "order %s amount sent as %#v", id, g)
				y, _ := new(big.Rat).SetString(num.String())
				assert.Zero(t, x.Cmp(y), "order %s amount: sent %s, written %s", id, num, w)
			default:
				assert.Equal(t, w, g, "order %s %s", id, col)
			}
		}
	}
	assert.Equal(t, 200, n)
}

func exportText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

func exportInstant(s string) time.Time {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02 15:04:05-07", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// What is not a folder of data files, or not text, is refused before any
// request with exit 2 (a usage error: a rerun cannot get past it) naming
// what it is.
func TestE2ERefusedInputs(t *testing.T) {
	f := startFake(t)
	tree := func(files map[string]string) string {
		dir := t.TempDir()
		for rel, data := range files {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		}
		return dir
	}
	pq, err := os.ReadFile(filepath.Join(exportsDir(t), "duckdb_partitioned_parquet", "country=TR", "data_0.parquet"))
	require.NoError(t, err)
	for _, c := range []struct {
		name   string
		path   string
		source string
		want   string
	}{
		{"markers only", tree(map[string]string{"_SUCCESS": "", "._SUCCESS.crc": "crc", "_committed_1": "{}", "_temporary/0/part-0.csv": "x\n"}), "", "no input files match"},
		{"Delta Lake", tree(map[string]string{"part-0.csv": "email\n", "_delta_log/00000000000000000000.json": "{}"}), "", "is a Delta Lake table (it holds _delta_log/), not a folder of files"},
		{"Iceberg", tree(map[string]string{"data/part-0.csv": "email\n", "metadata/v2.metadata.json": "{}"}), "", "is an Iceberg table (it holds metadata/v2.metadata.json)"},
		{"Parquet as csv", filepath.Join(tree(map[string]string{"export.csv": string(pq)}), "export.csv"), "  format: csv\n", "is Parquet, not text (its first bytes say so); set source.format: parquet"},
		{"lz4", filepath.Join(tree(map[string]string{"part_0_0_0.csv": "\x04\x22\x4d\x18\x64\x40\xa7x"}), "part_0_0_0.csv"), "", "is lz4, not text (its first bytes say so)"},
		{"partition collides", filepath.Join(tree(map[string]string{"email=a/part-0.csv": "email,name,ts,order\n"}), "email=a", "part-0.csv"), "",
			`the directory "email=a" makes a partition column "email", and the file has a column "email" too`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newInputEnv(t, f, []string{c.path}, c.source, 100)
			res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
			assert.Equal(t, 2, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 2000))
			assert.Contains(t, res.Stderr, c.want)
			assert.NotContains(t, res.Stderr, "encoding")
		})
	}
	assert.Zero(t, f.Stats(t).Requests, "nothing is sent")
}

// A run stopped (SIGTERM) partway through a compressed file, a
// partitioned directory and a text-dialect file resumes where it stopped:
// the second run sends the rest, every order once, every value the
// writer's.
func TestE2EExportsResume(t *testing.T) {
	for _, name := range []string{"duckdb_zstd.csv.zst", "duckdb_partitioned_csv", "pg_text.txt", "mariadb_outfile_enclosed.csv"} {
		t.Run(name, func(t *testing.T) {
			f := startFake(t, "--delay", "150ms")
			dir := t.TempDir()
			cfg := exportConfig(t, f, dir, filepath.Join(exportsDir(t), name), exportSources[name])
			cfg = writeFile(t, dir, "import.yaml", strings.Replace(readText(t, cfg), "batch_users: 100, workers: 2", "batch_users: 10, workers: 1", 1))
			args := []string{"run", "-c", cfg, "--checkpoint", filepath.Join(dir, "cp"),
				"--rejects", filepath.Join(dir, "rejects.jsonl"), "--progress", "none", "--log-format", "json"}
			env := []string{"INSIDER_API_KEY=" + testKey}
			p := startImport(t, env, args...)
			deadline := time.Now().Add(time.Minute)
			for f.Stats(t).Events < 40 {
				require.True(t, time.Now().Before(deadline), "no events in a minute")
				require.False(t, p.exited(), "the run ended before it was stopped")
				time.Sleep(20 * time.Millisecond)
			}
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			res := p.wait(t, time.Minute)
			require.Equal(t, 143, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
			first := f.Stats(t).Events
			require.Less(t, first, int64(200), "stopped partway")
			res = runImport(t, env, args...)
			require.Equal(t, 0, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
			t.Logf("%d events before the stop, %d after", first, f.Stats(t).Events-first)
			checkExportEvents(t, f, filepath.Join(exportsDir(t), name+".jsonl"))
		})
	}
}

func readText(t *testing.T, file string) string {
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(b)
}

// Snowflake's upper-case header: without source.columns_case the run
// stops before any request saying to set it; with it, the export imports
// exactly. (PostgreSQL's CSV export with its header upper-cased.)
func TestE2EColumnsCaseInsensitive(t *testing.T) {
	data := readText(t, filepath.Join(exportsDir(t), "pg_csv.csv"))
	head, rest, _ := strings.Cut(data, "\n")
	dir := t.TempDir()
	file := writeFile(t, dir, "SNOWFLAKE_UNLOAD.csv", strings.ToUpper(head)+"\n"+rest)
	f := startFake(t)
	env := []string{"INSIDER_API_KEY=" + testKey}
	cfg := exportConfig(t, f, dir, file, exportSources["pg_csv.csv"])
	res := runImport(t, env, "run", "-c", cfg, "--checkpoint", filepath.Join(dir, "cp"), "--progress", "none")
	assert.Equal(t, 2, res.Code, "stderr:\n%s", tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stderr, `column "customer_id" is in the header in another case; set source.columns_case: insensitive`)
	assert.Zero(t, f.Stats(t).Requests)

	cfg = exportConfig(t, f, dir, file, exportSources["pg_csv.csv"]+"\n  columns_case: insensitive")
	runExport(t, f, dir, cfg, env)
	checkExportEvents(t, f, filepath.Join(exportsDir(t), "pg_csv.csv.jsonl"))
}

// PostgreSQL's CSV export compressed by each codec's own command, under a
// name that says nothing (as warehouse unloads name their parts), imports
// exactly: the codec is told by the file's first bytes.
func TestE2ECompressedExports(t *testing.T) {
	src := filepath.Join(exportsDir(t), "pg_csv.csv")
	for _, c := range []struct{ tool, ext string }{{"gzip", ".gz"}, {"bzip2", ".bz2"}, {"xz", ".xz"}, {"zstd", ".zst"}, {"zip", ".zip"}} {
		t.Run(c.tool, func(t *testing.T) {
			if _, err := exec.LookPath(c.tool); err != nil {
				t.Skipf("%s is not installed", c.tool)
			}
			dir := t.TempDir()
			plain := filepath.Join(dir, "pg_csv.csv")
			require.NoError(t, os.WriteFile(plain, []byte(readText(t, src)), 0o600))
			cmd := exec.Command(c.tool, "-k", "-q", plain)
			if c.tool == "zip" {
				cmd = exec.Command("zip", "-q", "-j", plain+".zip", plain)
			}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			file := filepath.Join(dir, "part_0_0_0")
			require.NoError(t, os.Rename(plain+c.ext, file))
			f := startFake(t)
			cfg := exportConfig(t, f, dir, file, exportSources["pg_csv.csv"])
			runExport(t, f, dir, cfg, []string{"INSIDER_API_KEY=" + testKey})
			checkExportEvents(t, f, src+".jsonl")
		})
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// initAndRun runs init on input, points the config at the stand-in (the
// only edit), imports with --verify 5 and returns the result, the report
// and the config written.
func initAndRun(t *testing.T, input string) (result, string) {
	t.Helper()
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "import.yaml")
	res := runImport(t, []string{"INSIDER_PARTNER_NAME=e2eshop"}, "init", "--out", cfg, input)
	require.Equal(t, 0, res.Code, "init\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	y := strings.Replace(string(b), "endpoint: https://unification.useinsider.com/", "endpoint: http://127.0.0.1:"+f.Port+"/", 1)
	require.NotEqual(t, string(b), y, "the endpoint line")
	require.NoError(t, os.WriteFile(cfg, []byte(y), 0o600))
	report := filepath.Join(dir, "report.json")
	res = runImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", cfg, "--report", report, "--progress", "none", "--verify", "5")
	require.Contains(t, []int{0, 3}, res.Code, "run\nconfig:\n%s\nstdout:\n%s\nstderr:\n%s", y, res.Stdout, tail([]byte(res.Stderr), 3000))
	rep := readReport(t, report)
	// Every row is imported but those that hold nothing to import: no
	// identifier at all, or no value besides it. None is rejected for a
	// value the config did not expect, and Insider refused nothing.
	for _, r := range rep.RejectReasons {
		assert.Containsf(t, []string{"identifiers.required", "attributes_or_events.required"}, r.Rule,
			"rows rejected for %s %s, e.g. %s\nconfig:\n%s", r.Column, r.Rule, r.Example, y)
	}
	assert.Zero(t, rep.Counts.RowsRejectedByAPI)
	assert.Zero(t, f.Stats(t).BadRequests)
	assert.Positive(t, rep.Counts.RowsMapped)
	// And what Insider holds is what was sent.
	assert.Contains(t, res.Stdout, " 0 differ (0 not found)", "verify\nconfig:\n%s\nstdout:\n%s", y, res.Stdout)
	return res, y
}

// TestE2EInitInteropCorpus: for every file of the interop corpus (DuckDB's
// CSV and Parquet, polars, arrow-rs, arrow-go, parquet-go, xitongsys),
// init writes a config that, with no edit but the endpoint, imports every
// row that has something to import, and verify finds it in the stand-in.
func TestE2EInitInteropCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "interop", "*.*"))
	require.NoError(t, err)
	n := 0
	for _, file := range files {
		ext := filepath.Ext(file)
		if ext != ".csv" && ext != ".parquet" {
			continue
		}
		if _, err := os.Stat(strings.TrimSuffix(file, ext) + ".error"); err == nil {
			continue // a file our reader refuses, with a reason
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			abs, err := filepath.Abs(file)
			require.NoError(t, err)
			initAndRun(t, abs)
		})
	}
	assert.Greater(t, n, 25)
}

// TestE2EInitOtherWriters: exports of PostgreSQL (COPY csv and text, with
// \N), sqlite3 and an Excel-like CSV (";", decimal commas, dd.mm.yyyy,
// BOM) written by those tools (scripts/init-corpus.sh): init finds the
// email identifier and the purchase event with its timestamp column, and
// the import takes every row, as verify confirms.
func TestE2EInitOtherWriters(t *testing.T) {
	for _, c := range []struct{ file, email, ts, extra string }{
		{"postgres_copy.csv", `email: "email"`, `timestamp: {column: "purchased_at", layout: "rfc3339"}`, `tags: {column: "tags", type: array, format: postgres}`},
		{"postgres_copy.txt", `email: "email"`, `timestamp: {column: "purchased_at", layout: "rfc3339"}`, `delimiter: tab`}, // \N is null by default
		{"sqlite3.csv", `email: "customer_email"`, `timestamp: {column: "order_date", layout: "rfc3339", timezone: UTC}`, `# "order_date" has no time zone: read as UTC.`},
		{"python_excel.csv", `email: "Email Address"`, `timestamp: {column: "Order Date", layout: "02.01.2006 15:04", timezone: UTC}`, `unit_sale_price: {column: "Price", type: number, decimal: ","}`},
	} {
		t.Run(c.file, func(t *testing.T) {
			abs, err := filepath.Abs(filepath.Join("..", "..", "testdata", "init", c.file))
			require.NoError(t, err)
			res, y := initAndRun(t, abs)
			assert.Contains(t, y, "    "+c.email+"\n")
			assert.Contains(t, y, "    - name: purchase\n")
			assert.Contains(t, y, c.ts)
			assert.Contains(t, y, c.extra)
			assert.Equal(t, 0, res.Code, "every row imported\n%s", res.Stdout)
			assert.Regexp(t, `equal +event purchase `, res.Stdout)
		})
	}
}

// TestE2EInitS3: init reads an s3:// prefix and writes its S3 access into
// the config, which then imports with no edit but the endpoint.
func TestE2EInitS3(t *testing.T) {
	b := newS3Bucket(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "init", "postgres_copy.csv"))
	require.NoError(t, err)
	_, err = b.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &b.bucket, Key: aws.String("exports/customers.csv"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	cfg := filepath.Join(t.TempDir(), "import.yaml")
	uri := "s3://" + b.bucket + "/exports/"
	res := runImport(t, append(b.env, "INSIDER_PARTNER_NAME=e2eshop"), "init", "--out", cfg,
		"--s3-endpoint", b.ep.URL, "--s3-region", b.ep.Region, "--s3-path-style", uri)
	require.Equal(t, 0, res.Code, "init\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	y, err := os.ReadFile(cfg)
	require.NoError(t, err)
	assert.Contains(t, string(y), `paths: ["`+uri+`"]`)
	assert.Contains(t, string(y), `    - name: purchase`)
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(y), "https://unification.useinsider.com/", "http://127.0.0.1:"+f.Port+"/", 1)), 0o600))
	res = runImport(t, b.env, "run", "-c", cfg, "--progress", "none", "--verify", "5")
	require.Equal(t, 0, res.Code, "run\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stdout, "rows    read 100 = mapped 100 + rejected 0")
	assert.Contains(t, res.Stdout, ": 5 equal, 0 differ")
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyArgs are the arguments of `verify` for the job of e.
func (e *e2eEnv) verifyArgs(extra ...string) []string {
	return append([]string{"verify", "-c", e.config, "--checkpoint", e.checkpoints, "--rejects", e.rejects, "--log-format", "json"}, extra...)
}

var userLine = regexp.MustCompile(`(?m)^user \d+/\d+ (.*) \(`)

// TestE2EVerify imports into the stand-in, then reads users back through
// its profile API: run --verify and verify find every field equal, the
// same seed picks the same users, and nothing is upserted by verify.
func TestE2EVerify(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	d := genE2E(t, time.Now(), 1, 300, true)
	e := newE2EEnv(t, d, f, 25, 4, 500)
	env := []string{"INSIDER_API_KEY=" + testKey}

	res := runImport(t, env, e.args("--verify", "12")...)
	require.Equal(t, 3, res.Code, "exit 3: rows rejected by the import, none differ\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stdout, "verify: 12 users sampled")
	assert.Contains(t, res.Stdout, ": 12 equal, 0 differ (0 not found)")
	assert.NotContains(t, res.Stdout, "different ")
	assert.NotContains(t, res.Stdout, "missing ")
	assert.Regexp(t, `equal +event purchase `, res.Stdout, "events are compared")
	st := f.Stats(t)
	assert.Equal(t, int64(12), st.ProfileRequests)

	res = runImport(t, env, e.verifyArgs("--n", "8", "--seed", "42")...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stdout, "verify: 8 users sampled (seed 42)")
	assert.Contains(t, res.Stdout, ": 8 equal, 0 differ")
	after := f.Stats(t)
	assert.Equal(t, st.Requests, after.Requests, "verify sends no upsert")
	assert.Equal(t, st.ProfileRequests+8, after.ProfileRequests)
	users := userLine.FindAllStringSubmatch(res.Stdout, -1)
	require.Len(t, users, 8)

	again := runImport(t, env, e.verifyArgs("--n", "8", "--seed", "42")...)
	require.Equal(t, 0, again.Code)
	assert.Equal(t, res.Stdout, again.Stdout, "the same seed reads the same users back")
	other := runImport(t, env, e.verifyArgs("--n", "8", "--seed", "43")...)
	require.Equal(t, 0, other.Code)
	assert.NotEqual(t, users, userLine.FindAllStringSubmatch(other.Stdout, -1), "another seed, another sample")

	// Rows the import rejected are not read back: no sampled user is one
	// of an invalid row alone (they would be reported missing).
	assert.NotContains(t, res.Stdout+other.Stdout, "Insider has no user for these identifiers")
}

// TestE2EVerifyReportsDifferences: a stand-in that lost one attribute and
// altered another is reported per field, exit 3.
func TestE2EVerifyReportsDifferences(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey, "--profile-drop", "c_tier", "--profile-change", "name")
	d := genE2E(t, time.Now(), 3, 200, false)
	e := newE2EEnv(t, d, f, 25, 4, 500)
	env := []string{"INSIDER_API_KEY=" + testKey}
	res := runImport(t, env, e.args()...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)

	res = runImport(t, env, e.verifyArgs("--n", "10")...)
	require.Equal(t, 3, res.Code, "exit 3: some fields differ\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Regexp(t, `(?m)^  different  name: sent "[^"]+", Insider has "[^"]+ \(changed\)"$`, res.Stdout)
	assert.Regexp(t, `(?m)^  missing    c_tier: sent "[^"]+", Insider has none$`, res.Stdout)
	assert.Regexp(t, `(?m)^  equal      event `, res.Stdout, "the events still match")
	assert.Regexp(t, `differ \(0 not found\); fields: \d+ equal, [1-9]\d* different, [1-9]\d* missing`, res.Stdout)
	assert.NotContains(t, res.Stdout, testKey)
	assert.NotContains(t, res.Stderr, testKey)
}

// importThenVerify imports the job of config file cfg (exit 0), then
// verifies n of its users, all equal (exit 0), and returns what verify said.
func importThenVerify(t *testing.T, cfg, n string) result {
	t.Helper()
	ck := filepath.Join(filepath.Dir(cfg), "checkpoints")
	env := []string{"INSIDER_API_KEY=" + testKey}
	res := runImport(t, env, "run", "-c", cfg, "--checkpoint", ck, "--progress", "none")
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	res = runImport(t, env, "verify", "-c", cfg, "--checkpoint", ck, "--n", n)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	return res
}

// TestE2EVerifyHeaderlessCSV: verify reads the inputs with the import's
// text dialect: a CSV without a header row (source.csv.header: false and
// its columns) and with ' as its quote is read back row for row, every
// field equal, not refused for a header it lacks.
func TestE2EVerifyHeaderlessCSV(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	dir := t.TempDir()
	in := writeFile(t, dir, "users.csv", "u1,a@example.com,'gold, plus'\nu2,b@example.com,silver\nu3,c@example.com,'bronze, old'\n")
	cfg := writeFile(t, dir, "import.yaml", fmt.Sprintf(`source:
  paths: [%q]
  csv: {header: false, columns: [id, email, tier], quote: "'"}
insider:
  endpoint: %s/api/user/v1/upsert
  partner: e2eshop
mapping:
  identifiers: {uuid: id, email: email}
  attributes: {custom: {tier: tier}}
`, in, f.URL))
	res := importThenVerify(t, cfg, "3")
	assert.Contains(t, res.Stdout, ": 3 equal, 0 differ (0 not found)")
	assert.Contains(t, res.Stdout, `equal      c_tier = "gold, plus"`)
	assert.Contains(t, res.Stdout, `"uuid":"u3"} (`+in+` row 3 (line 3))`, "rows are numbered from the first line: no header")
}

// TestE2EVerifyColumnsCase: with source.columns_case: insensitive, verify
// reads a Parquet file whose columns the mapping spells otherwise, as the
// import did.
func TestE2EVerifyColumnsCase(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	dir := t.TempDir()
	in, err := filepath.Abs("../../testdata/interop/duckdb_default.parquet")
	require.NoError(t, err)
	cfg := writeFile(t, dir, "import.yaml", fmt.Sprintf(`source: {paths: [%q], columns_case: insensitive}
insider: {endpoint: %s/api/user/v1/upsert, partner: e2eshop}
mapping:
  identifiers: {uuid: ID}
  attributes: {custom: {tier: TIER}}
`, in, f.URL))
	res := importThenVerify(t, cfg, "4")
	assert.Contains(t, res.Stdout, ": 4 equal, 0 differ (0 not found)")
	assert.Regexp(t, `equal +c_tier = "`, res.Stdout)
}

// TestE2EVerifyAPIFails: a profile API that answers what it should not
// (here a path that takes no POST) is exit 1, with what it answered.
func TestE2EVerifyAPIFails(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	d := genE2E(t, time.Now(), 4, 50, false)
	e := newE2EEnv(t, d, f, 25, 2, 500)
	env := []string{"INSIDER_API_KEY=" + testKey}
	res := runImport(t, env, e.args()...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)

	// The profile API's key may be another one: verify.api_key_env.
	b, err := os.ReadFile(e.config)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.config, append(b, []byte("verify:\n  api_key_env: PROFILE_KEY\n")...), 0o600))
	res = runImport(t, []string{"PROFILE_KEY=not-the-key"}, e.verifyArgs("--n", "3")...)
	require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stderr, "the profile API refused the credentials (403)")
	assert.NotContains(t, res.Stdout+res.Stderr, "not-the-key")
	res = runImport(t, []string{"PROFILE_KEY=" + testKey}, e.verifyArgs("--n", "3")...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)

	require.NoError(t, os.WriteFile(e.config, append(b, []byte("verify:\n  endpoint: "+f.URL+"/stats\n")...), 0o600))
	res = runImport(t, env, e.verifyArgs("--n", "3")...)
	require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stderr, "the profile API answered 405")

	// Without a checkpoint there is nothing to verify: said so, exit 1.
	res = runImport(t, env, "verify", "-c", e.config, "--checkpoint", t.TempDir())
	require.Equal(t, 1, res.Code)
	assert.True(t, strings.Contains(res.Stderr, "has no checkpoint: run the import first"), res.Stderr)
}

// TestE2EVerifyShards: a job run as three shards (a Parquet file of eight
// row groups shared out, a CSV file whole to one shard) is verified with
// --shard-count: every shard's delivered rows are sampled, all equal.
func TestE2EVerifyShards(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	d := genE2E(t, time.Now(), 6, 320, false)
	e := newE2EEnv(t, d, f, 25, 2, 500)
	pq := filepath.Join(e.dir, "users.parquet")
	writeE2EParquet(t, pq, d.rows, 40)
	b, err := os.ReadFile(e.config)
	require.NoError(t, err)
	y := strings.Replace(string(b), "  format: csv\n", "  format: auto\n", 1)
	y = strings.Replace(y, fmt.Sprintf("paths: [%q]", e.csv), fmt.Sprintf("paths: [%q, %q]", pq, e.csv), 1)
	require.NotEqual(t, string(b), y)
	require.NoError(t, os.WriteFile(e.config, []byte(y), 0o600))
	env := []string{"INSIDER_API_KEY=" + testKey}
	for i := range 3 {
		res := runImport(t, env, e.args("--shard-index", fmt.Sprint(i), "--shard-count", "3")...)
		require.Equal(t, 0, res.Code, "shard %d\nstdout:\n%s\nstderr:\n%s", i, res.Stdout, res.Stderr)
	}
	res := runImport(t, env, e.verifyArgs("--n", "30", "--shard-count", "3")...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stdout, fmt.Sprintf("from %d delivered rows: 30 equal, 0 differ", 2*len(d.rows)))
	assert.Contains(t, res.Stdout, "users.parquet row ")

	res = runImport(t, env, e.verifyArgs("--n", "3")...)
	require.Equal(t, 1, res.Code, "a sharded job is not the job run whole")
	assert.Contains(t, res.Stderr, "has no checkpoint")
}

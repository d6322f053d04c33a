package importer

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
)

// The tests here run the whole pipeline as 'insider-import validate' does
// (Options.DryRun): the same reading, mapping, TTL filter, grouping and
// batching as a real run, with nothing sent.

// dryRunConfig is a CRM-plus-purchases mapping over files, read with the
// delimiter given; extra is YAML added at the top level.
func dryRunConfig(t *testing.T, files []string, extra string) *Config {
	t.Helper()
	paths, err := json.Marshal(files)
	require.NoError(t, err)
	y := fmt.Sprintf(`
source: {paths: %s, null_values: [NULL]}
insider: {endpoint: "http://127.0.0.1:1/never", partner: acme, array_attributes: overwrite}
delivery: {batch_users: 3}
events: {ttl: {default: 90d, purchase: 730d}}
%s
mapping:
  identifiers: {email: email, uuid: id}
  attributes:
    birthday: {column: dob, type: date, layout: "2006-01-02"}
    email_optin: optin
    custom: {tier: tier}
  events:
    - name: purchase
      timestamp: ts
      params:
        event_group_id: order
        currency: cur
        unit_sale_price: {column: price, type: number}
        quantity: qty
`, paths, extra)
	cfg, err := ParseConfig("dry.yaml", []byte(y))
	require.NoError(t, err)
	return cfg
}

const dryHeader = "id,email,dob,optin,tier,order,cur,price,qty,ts"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// dryRun runs cfg with DryRun and returns the report, the error and the
// request bodies it would have sent. The clock is testRef.
func dryRun(t *testing.T, cfg *Config, opts Options) (*Report, error, []string) {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	opts.DryRun = true
	opts.Now = func() time.Time { return testRef }
	opts.OnBatch = func(b []byte) {
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}
	rep, err := Run(context.Background(), cfg, opts)
	return rep, err, bodies
}

func TestDryRunSendsNothingAndReports(t *testing.T) {
	var calls int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer ts.Close()
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", dryHeader+`
1,a@example.com,1990-04-12,yes,gold,O-1,EUR,9.90,1,2025-06-01T10:00:00Z
1,a@example.com,,,,O-1,EUR,5,2,2025-06-01T10:00:00Z
2,b@example.com,12/04/1990,maybe,,O-2,EUR,1,1,2025-06-02T10:00:00Z
3,c@example.com,,,,O-3,EUR,1,1,2020-06-02T10:00:00Z
4,d@example.com,,,,O-4,EURO,1,,2025-06-02T10:00:00Z
`)
	cfg := dryRunConfig(t, []string{in}, "")
	cfg.Insider.Endpoint = ts.URL
	rep, err, bodies := dryRun(t, cfg, Options{})
	require.ErrorIs(t, err, ErrIncomplete, "some rows are not valid: exit 3")
	assert.Zero(t, calls, "a dry run sends nothing")
	assert.True(t, rep.DryRun)
	assert.EqualValues(t, 5, rep.RowsRead)
	assert.EqualValues(t, 3, rep.RowsMapped)
	assert.EqualValues(t, 2, rep.RowsRejected)
	assert.EqualValues(t, 1, rep.EventsExpired, "the 2020 purchase is past its TTL")
	assert.EqualValues(t, 1, rep.UsersValid, "user 3's only event expired: nothing to send for it")
	assert.EqualValues(t, 0, rep.UsersSent)
	require.Len(t, bodies, 1)
	assert.Equal(t, `{"users":[{"identifiers":{"email":"a@example.com","uuid":"1"},"attributes":{"birthday":"1990-04-12T00:00:00Z","email_optin":true,"custom":{"tier":"gold"}},`+
		`"events":[{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z","event_params":{"currency":"EUR","event_group_id":"O-1","quantity":1,"unit_sale_price":9.90}},`+
		`{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z","event_params":{"currency":"EUR","event_group_id":"O-1","quantity":2,"unit_sale_price":5}}],"not_append":true}],"skip_hook":true}`,
		bodies[0])
	code, resp := fakeVerdict(t, []byte(bodies[0]))
	require.Equal(t, http.StatusOK, code)
	assert.Zero(t, resp.Data.Fail.Count)

	assert.Equal(t, []RejectReason{
		{Column: "cur", Rule: "format(iso4217)", Rows: 1, Example: in + " row 5 (line 6): currency must be an ISO 4217 code such as USD, not EURO"},
		{Column: "dob", Rule: "type(date)", Rows: 1, Example: in + ` row 3 (line 4): "12/04/1990" does not match layout "2006-01-02" (layout: "2/1/2006" or "1/2/2006" would read it; day first or month first: check which the file means)`},
		{Column: "optin", Rule: "type(boolean)", Rows: 1, Example: in + ` row 3 (line 4): not a boolean: "maybe" (use true/false, 1/0, yes/no or y/n)`},
		{Column: "qty", Rule: "event_params.required", Rows: 1, Example: in + " row 5 (line 6): quantity parameter is required on purchase event"},
	}, rep.RejectReasons)

	var text strings.Builder
	rep.WriteText(&text)
	assert.Contains(t, text.String(), "rows    read 5 = valid 3 + rejected 2")
	assert.Contains(t, text.String(), "dropped by TTL: expired 1")
	assert.Contains(t, text.String(), "       1  column dob: type(date)\n")
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"rejected_by_reason":[{"column":"cur","rule":"format(iso4217)","rows":1,`)
}

func TestDryRunAllValidIsOK(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", dryHeader+`
1,a@example.com,NULL,1,gold,O-1,EUR,9.90,1,2025-06-01T10:00:00Z
`)
	rep, err, bodies := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{})
	require.NoError(t, err, "every row valid: exit 0")
	assert.Equal(t, "ok", rep.Status)
	assert.Len(t, bodies, 1)
	assert.Empty(t, rep.RejectReasons)
}

// A bad row is rejected alone: the other rows of the same user and of the
// same batch are still sent, and the rejects file lists every reason.
func TestBadRowRejectedAloneWithEveryReason(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", dryHeader+`
1,a@example.com,,,gold,O-1,EUR,1,1,2025-06-01T10:00:00Z
1,a@example.com,1990-13-01,perhaps,gold,O-1,EURO,x,1.5,2025-06-01T10:00:00Z
1,a@example.com,,,,O-1,EUR,3,1,2025-06-01T10:00:00Z
2,b@example.com,,,,O-2,EUR,4,1,2025-06-01T10:00:00Z
`)
	rejects := filepath.Join(dir, "rejects.jsonl")
	rep, err, bodies := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)
	require.Len(t, bodies, 1, "one batch")
	assert.EqualValues(t, 1, rep.RowsRejected)
	assert.EqualValues(t, 3, rep.EventsSent)
	assert.EqualValues(t, 2, rep.UsersValid)
	var req struct{ Users []json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &req))
	require.Len(t, req.Users, 2)
	assert.Equal(t, 2, strings.Count(string(req.Users[0]), `"event_name"`), "rows 1 and 3 of user 1 still go")
	assert.Contains(t, string(req.Users[0]), `"unit_sale_price":1}`)
	assert.Contains(t, string(req.Users[0]), `"unit_sale_price":3}`)
	assert.NotContains(t, bodies[0], "EURO")

	b, err := os.ReadFile(rejects)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 1)
	var rej struct {
		File     string
		Row      int
		Line     int
		Problems []encode.Problem
		Cells    map[string]string
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rej))
	assert.Equal(t, in, rej.File)
	assert.Equal(t, 2, rej.Row)
	assert.Equal(t, 3, rej.Line)
	var got []string
	for _, p := range rej.Problems {
		got = append(got, p.Column+" "+p.Rule)
	}
	assert.Equal(t, []string{"dob type(date)", "optin type(boolean)", "cur format(iso4217)", "qty type(integer)", "price type(number)"}, got)
	assert.Equal(t, "EURO", rej.Cells["cur"])
}

// genDry writes n rows of distinct users; bad(i) rows get a dob that does
// not match the layout.
func genDry(t *testing.T, dir string, n int, bad func(i int) bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(dryHeader + "\n")
	for i := range n {
		dob := "1990-04-12"
		if bad(i) {
			dob = "12/04/1990"
		}
		fmt.Fprintf(&b, "%d,u%d@example.com,%s,yes,gold,O-%d,EUR,1.50,1,2025-06-01T10:00:00Z\n", i, i, dob, i)
	}
	return writeFile(t, dir, "gen.csv", b.String())
}

func TestMaxRejectsStopsSystematicFailures(t *testing.T) {
	t.Run("percentage, checked at row 1000", func(t *testing.T) {
		in := genDry(t, t.TempDir(), 5000, func(int) bool { return true })
		rep, err, bodies := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{Percent: 5}})
		require.ErrorIs(t, err, ErrTooManyRejects)
		var tm *TooManyRejectsError
		require.ErrorAs(t, err, &tm)
		assert.EqualValues(t, 1000, tm.Read)
		assert.EqualValues(t, 1000, tm.Rejected)
		assert.Contains(t, err.Error(), "too many rejected rows: 1000 of the first 1000 rows were rejected (limit: 5% of the rows, checked from row 1000)")
		assert.Contains(t, err.Error(), `likely cause: column dob failed on 1000 of 1000 rows: type(date) (e.g. `+in+` row 1 (line 2): "12/04/1990" does not match layout "2006-01-02" (layout: "2/1/2006" or "1/2/2006" would read it; day first or month first: check which the file means))`)
		assert.Empty(t, bodies)
		assert.Equal(t, "stopped: too many rejected rows", rep.Status)
		assert.Less(t, rep.RowsRead, int64(5000), "the run stopped early")
	})
	t.Run("count", func(t *testing.T) {
		in := genDry(t, t.TempDir(), 3000, func(i int) bool { return i%2 == 1 })
		_, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{Rows: 10}})
		var tm *TooManyRejectsError
		require.ErrorAs(t, err, &tm)
		assert.EqualValues(t, 11, tm.Rejected)
		assert.EqualValues(t, 22, tm.Read)
		assert.Contains(t, err.Error(), "column dob failed on 11 of 22 rows")
	})
	t.Run("zero allows none", func(t *testing.T) {
		in := genDry(t, t.TempDir(), 100, func(i int) bool { return i == 50 })
		_, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{}})
		require.ErrorIs(t, err, ErrTooManyRejects)
	})
	t.Run("under the limit finishes", func(t *testing.T) {
		in := genDry(t, t.TempDir(), 3000, func(i int) bool { return i%100 == 0 })
		rep, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{Percent: 5}})
		require.ErrorIs(t, err, ErrIncomplete)
		assert.EqualValues(t, 30, rep.RowsRejected)
		assert.EqualValues(t, 3000, rep.RowsRead)
	})
	t.Run("percentage waits for enough rows", func(t *testing.T) {
		in := genDry(t, t.TempDir(), 999, func(int) bool { return true })
		_, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{Percent: 5}})
		require.ErrorIs(t, err, ErrIncomplete, "999 rows: too few to judge")
	})
	t.Run("bad rows early, good rows after: checked at row 1000", func(t *testing.T) {
		in := genDry(t, t.TempDir(), 2000, func(i int) bool { return i < 60 })
		_, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{MaxRejects: &RejectLimit{Percent: 5}})
		var tm *TooManyRejectsError
		require.ErrorAs(t, err, &tm)
		assert.EqualValues(t, 1000, tm.Read)
		assert.EqualValues(t, 60, tm.Rejected)
	})
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	return recs
}

// The rejects CSV has the source's columns and cells as written, plus
// reject_reason; fixed, it imports with the same config.
func TestRejectsCSVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", dryHeader+`
1,a@example.com,1990-04-12,yes,gold,O-1,EUR,9.90,1,2025-06-01T10:00:00Z
2, B@Example.com ,12/04/1990,yes,"gold, plus",O-2,EUR,"1,5",1,2025-06-01T10:00:00Z
3,c@example.com,NULL,yes,,O-3,EUR,2,1,2025-06-01T10:00:00Z
4,d@example.com,1990-04-12,maybe,,O-4,EUR,2,1,2025-06-01T10:00:00Z
5,e@example.com,1990-04-12,yes,,O-5,EUR,2,"1",2025-06-01T10:00:00Z,extra
`)
	out := filepath.Join(dir, "rejects.csv")
	rep, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{RejectsCSVPath: out})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.Equal(t, []string{out}, rep.RejectsCSV)
	assert.EqualValues(t, 3, rep.RejectsCount)
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	recs := readCSV(t, out)
	require.Len(t, recs, 4)
	assert.Equal(t, append(strings.Split(dryHeader, ","), "reject_reason"), recs[0])
	assert.Equal(t, []string{"2", " B@Example.com ", "12/04/1990", "yes", "gold, plus", "O-2", "EUR", "1,5", "1", "2025-06-01T10:00:00Z",
		`2 problems: column dob (birthday): type(date): "12/04/1990" does not match layout "2006-01-02" (layout: "2/1/2006" or "1/2/2006" would read it; day first or month first: check which the file means); ` +
			`column price (unit_sale_price): type(number): not a number: "1,5" (a decimal comma? set decimal: "," on the field)`}, recs[1])
	assert.Equal(t, "maybe", recs[2][3])
	// A row with an extra field keeps it; the reason comes after.
	assert.Equal(t, []string{"5", "e@example.com", "1990-04-12", "yes", "", "O-5", "EUR", "2", "1", "2025-06-01T10:00:00Z", "extra"}, recs[3][:11])
	assert.Contains(t, recs[3][11], "11 fields, the header has 10")

	// The user fixes the rows in place and imports the file with the same
	// mapping: reject_reason is a column the mapping does not name.
	recs[1][2], recs[1][7] = "1990-04-12", "1.5"
	recs[2][3] = "no"
	recs[3] = append(recs[3][:10], recs[3][11])
	var fixed strings.Builder
	w := csv.NewWriter(&fixed)
	require.NoError(t, w.WriteAll(recs))
	again := writeFile(t, dir, "fixed.csv", fixed.String())
	rep, err, bodies := dryRun(t, dryRunConfig(t, []string{again}, ""), Options{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, rep.RowsMapped)
	require.Len(t, bodies, 1)
	assert.Contains(t, bodies[0], `"email":"b@example.com"`)
	assert.NotContains(t, bodies[0], "reject_reason")
}

// A rejects CSV imported again and rejected again has its reason column
// rewritten, not a second one added.
func TestRejectsCSVOfARejectsCSV(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", dryHeader+",reject_reason\n2,b@example.com,1990-04-12,nope,,O-2,EUR,1,1,2025-06-01T10:00:00Z,old reason\n")
	out := filepath.Join(dir, "again.csv")
	_, err, _ := dryRun(t, dryRunConfig(t, []string{in}, ""), Options{RejectsCSVPath: out})
	require.ErrorIs(t, err, ErrIncomplete)
	recs := readCSV(t, out)
	require.Len(t, recs, 2)
	assert.Equal(t, append(strings.Split(dryHeader, ","), "reject_reason"), recs[0])
	assert.Equal(t, `column optin (email_optin): type(boolean): not a boolean: "nope" (use true/false, 1/0, yes/no or y/n)`, recs[1][10])
}

// Inputs with different headers get one CSV each; the source delimiter is
// kept so that the same config reads them.
func TestRejectsCSVPerHeader(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.csv", strings.ReplaceAll(dryHeader, ",", ";")+"\n1;a@example.com;bad;yes;;O-1;EUR;1;1;2025-06-01T10:00:00Z\n")
	b := writeFile(t, dir, "b.csv", "extra;"+strings.ReplaceAll(dryHeader, ",", ";")+"\nx;2;b@example.com;1990-04-12;no way;;O-2;EUR;1;1;2025-06-01T10:00:00Z\n")
	c := writeFile(t, dir, "c.csv", strings.ReplaceAll(dryHeader, ",", ";")+"\n3;c@example.com;;yes;;O-3;EUR;1;;2025-06-01T10:00:00Z\n")
	out := filepath.Join(dir, "rejects.csv")
	cfg := dryRunConfig(t, []string{a, b, c}, "")
	cfg.Source.Delimiter = ';'
	rep, err, _ := dryRun(t, cfg, Options{RejectsCSVPath: out})
	require.ErrorIs(t, err, ErrIncomplete)
	second := filepath.Join(dir, "rejects-2.csv")
	assert.Equal(t, []string{out, second}, rep.RejectsCSV)

	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "id;email;dob;"), "the source's delimiter")
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	recs, err := r.ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3, "a.csv and c.csv share a header")
	assert.Equal(t, "1", recs[1][0])
	assert.Equal(t, "3", recs[2][0])

	raw, err = os.ReadFile(second)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "extra;id;email;"), string(raw))
}

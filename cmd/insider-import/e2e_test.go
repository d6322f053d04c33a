package main

// End-to-end tests: the real binary imports generated CSV files into
// `insider-import fake` running as a separate process on loopback, and the
// tests check exactly which events arrived (GET /events), the report, the
// rejects file and the exit codes.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/importer/fakeapi"
)

const testKey = "e2e-key-not-secret"

var e2eHeader = []string{
	"customer_id", "email", "phone", "first_name", "tier",
	"order_id", "sku", "currency", "price", "sale_price", "qty", "store", "purchased_at", "visited_at",
}

// Column indexes in e2eHeader.
const (
	cID = iota
	cEmail
	cPhone
	cName
	cTier
	cOrder
	cSKU
	cCurrency
	cPrice
	cSale
	cQty
	cStore
	cPurchased
	cVisited
)

// e2eConfig is the import config of the end-to-end data: two events per row
// at most, a purchase (TTL 730d) and a custom store_visit (TTL 90d).
func e2eConfig(csvPath, port string, batchUsers, workers int, rps float64) string {
	return fmt.Sprintf(`source:
  paths: [%q]
  format: csv
insider:
  endpoint: http://127.0.0.1:%s/api/user/v1/upsert
  partner: e2eshop
  api_key_env: INSIDER_API_KEY
  array_attributes: overwrite
delivery:
  batch_users: %d
  workers: %d
  requests_per_second: %g
events:
  ttl: {default: 90d, purchase: 730d}
  future_tolerance: 5m
mapping:
  identifiers:
    email: email
    phone_number: phone
    uuid: customer_id
  attributes:
    name: first_name
    custom:
      tier: tier
  events:
    - name: purchase
      timestamp: {column: purchased_at, layout: rfc3339}
      params:
        event_group_id: order_id
        product_id: sku
        currency: currency
        unit_price: {column: price, type: number}
        unit_sale_price: {column: sale_price, type: number}
        quantity: {column: qty, type: integer}
        custom: {store_id: store}
    - name: store_visit
      timestamp: {column: visited_at, layout: rfc3339}
      params:
        custom: {store_id: store}
`, csvPath, port, batchUsers, workers, rps)
}

// invalid row kinds: each makes the importer reject the row whole, and names
// the column the rejects file must mention.
var invalidKinds = []struct {
	column string
	spoil  func(row []string)
}{
	{"email", func(r []string) { r[cEmail] = "not-an-email" }},
	{"qty", func(r []string) { r[cQty] = "two" }},
	{"purchased_at", func(r []string) { r[cPurchased] = "yesterday" }},
	{"currency", func(r []string) { r[cCurrency] = "" }},
	{"price", func(r []string) { r[cPrice] = "12,50" }},
	{"phone", func(r []string) { r[cPhone] = "0712345" }},
}

// e2eData is a generated input and everything the tests expect of it.
type e2eData struct {
	rows     [][]string
	expected map[string]int // event key → row index
	invalid  map[int]string // row index → column the reject names
	want     importer.Counts
	users    int
}

// genE2E generates the rows of nUsers users, 1 to 6 consecutive rows each,
// with timestamps relative to now: most events valid, some expired (older
// than the event's TTL), some in the future, some rows without one or both
// events; with invalid set, about 4% of the rows are invalid in one of the
// invalidKinds ways.
func genE2E(t *testing.T, now time.Time, seed uint64, nUsers int, invalid bool) *e2eData {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	d := &e2eData{expected: map[string]int{}, invalid: map[int]string{}}
	now = now.Truncate(time.Second)
	day := 24 * time.Hour
	ago := func(lo, hi time.Duration) time.Time { return now.Add(-lo - time.Duration(rng.Int64N(int64(hi-lo)))) }
	for u := range nUsers {
		id := fmt.Sprintf("C%06d", u)
		email := fmt.Sprintf("User%d@Example.COM", u)
		if u%5 == 0 {
			email = "  " + email + " " // trimmed by the importer
		}
		phone := ""
		if u%3 == 0 {
			phone = fmt.Sprintf("+4477009%05d", u)
		}
		identity := map[string]string{"email": strings.ToLower(strings.TrimSpace(email)), "uuid": id}
		if phone != "" {
			identity["phone_number"] = phone
		}
		userSent := false
		for k := range 1 + rng.IntN(6) {
			i := len(d.rows)
			row := make([]string, len(e2eHeader))
			row[cID], row[cEmail], row[cPhone] = id, email, phone
			row[cName] = fmt.Sprintf("Name%d", u)
			row[cTier] = []string{"gold", "silver", ""}[rng.IntN(3)]
			row[cOrder] = fmt.Sprintf("O%07d", i)
			row[cSKU] = fmt.Sprintf("SKU-%d", rng.IntN(500))
			row[cCurrency] = []string{"GBP", "USD", "EUR"}[rng.IntN(3)]
			price := 100 + rng.IntN(20000)
			row[cPrice] = fmt.Sprintf("%d.%02d", price/100, price%100)
			row[cSale] = fmt.Sprintf("%d.%02d", price*9/1000, price*9/10%100)
			row[cQty] = strconv.Itoa(1 + rng.IntN(5))
			row[cStore] = fmt.Sprintf("S-%02d", rng.IntN(40))
			// Distinct timestamps within a user: row index as extra seconds.
			skew := time.Duration(k) * time.Second
			var purchase, visit string // "", "ok", "expired", "future"
			switch p := rng.Float64(); {
			case p < 0.70:
				purchase, row[cPurchased] = "ok", rfc3339(ago(time.Hour, 700*day).Add(-skew))
			case p < 0.78:
				purchase, row[cPurchased] = "expired", rfc3339(ago(800*day, 900*day))
			case p < 0.84:
				purchase, row[cPurchased] = "future", rfc3339(now.Add(2*day+time.Duration(rng.Int64N(int64(300*day)))))
			}
			switch p := rng.Float64(); {
			case p < 0.40:
				visit, row[cVisited] = "ok", rfc3339(ago(time.Hour, 80*day).Add(-skew))
			case p < 0.50:
				// Within the purchase TTL, beyond store_visit's 90 days.
				visit, row[cVisited] = "expired", rfc3339(ago(100*day, 300*day))
			case p < 0.55:
				visit, row[cVisited] = "future", rfc3339(now.Add(time.Hour+time.Duration(rng.Int64N(int64(30*day)))))
			}
			if invalid && rng.Float64() < 0.04 {
				kind := invalidKinds[rng.IntN(len(invalidKinds))]
				if kind.column != "email" && kind.column != "phone" && row[cPurchased] == "" {
					// The purchase's params are read only when it has a timestamp.
					purchase, row[cPurchased] = "ok", rfc3339(ago(time.Hour, 700*day).Add(-skew))
				}
				if kind.column == "phone" && phone == "" {
					kind = invalidKinds[0]
				}
				kind.spoil(row)
				d.invalid[i] = kind.column
			}
			d.rows = append(d.rows, row)

			nEvents := int64(0)
			for _, c := range []int{cPurchased, cVisited} {
				if row[c] != "" {
					nEvents++
				}
			}
			d.want.RowsRead++
			d.want.EventsRead += nEvents
			if _, bad := d.invalid[i]; bad {
				d.want.RowsRejected++
				d.want.EventsRejected += nEvents
				continue
			}
			d.want.RowsMapped++
			userSent = true // every valid row has a name attribute
			count := func(state string, key func() string) {
				switch state {
				case "ok":
					d.want.EventsSent++
					k := key()
					_, dup := d.expected[k]
					require.False(t, dup, "generated two identical events: %s", k)
					d.expected[k] = i
				case "expired":
					d.want.EventsExpired++
				case "future":
					d.want.EventsFuture++
				}
			}
			count(purchase, func() string {
				return eventKey(t, identity, "purchase", row[cPurchased], map[string]any{
					"event_group_id": row[cOrder], "product_id": row[cSKU], "currency": row[cCurrency],
					"unit_price": json.Number(row[cPrice]), "unit_sale_price": json.Number(row[cSale]),
					"quantity": json.Number(row[cQty]), "custom": map[string]any{"store_id": row[cStore]},
				})
			})
			count(visit, func() string {
				return eventKey(t, identity, "store_visit", row[cVisited], map[string]any{"custom": map[string]any{"store_id": row[cStore]}})
			})
		}
		if userSent {
			d.users++
		}
	}
	d.want.UsersSent, d.want.UsersAccepted = int64(d.users), int64(d.users)
	return d
}

func eventKey(t testing.TB, identity any, name, ts string, params any) string {
	k, err := fakeapi.EventKey(identity, name, ts, params)
	require.NoError(t, err)
	return k
}

// e2eEnv sets up a directory with the data and config for a fake.
type e2eEnv struct {
	dir, csv, config, checkpoints, report, rejects string
}

func newE2EEnv(t *testing.T, d *e2eData, f *fake, batchUsers, workers int, rps float64) *e2eEnv {
	t.Helper()
	dir := t.TempDir()
	e := &e2eEnv{
		dir: dir, csv: filepath.Join(dir, "users.csv"), checkpoints: filepath.Join(dir, "checkpoints"),
		report: filepath.Join(dir, "report.json"), rejects: filepath.Join(dir, "rejects.jsonl"),
	}
	writeCSV(t, e.csv, e2eHeader, d.rows)
	e.config = writeFile(t, dir, "import.yaml", e2eConfig(e.csv, f.Port, batchUsers, workers, rps))
	return e
}

func (e *e2eEnv) args(extra ...string) []string {
	return append([]string{"run", "-c", e.config, "--checkpoint", e.checkpoints, "--report", e.report,
		"--rejects", e.rejects, "--progress", "none", "--log-format", "json"}, extra...)
}

func readReport(t *testing.T, path string) importer.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep importer.Report
	require.NoError(t, json.Unmarshal(b, &rep), "report %s", path)
	return rep
}

// assertCountsAddUp checks the report's documented identities.
func assertCountsAddUp(t *testing.T, c importer.Counts) {
	t.Helper()
	assert.Equal(t, c.RowsRead, c.RowsMapped+c.RowsRejected, "rows read = mapped + rejected")
	assert.Equal(t, c.EventsRead, c.EventsSent+c.EventsExpired+c.EventsFuture+c.EventsRejected,
		"events read = sent + expired + future + rejected")
	assert.Equal(t, c.UsersSent, c.UsersAccepted+c.UsersRejected, "users sent = accepted + rejected")
}

// assertExactlyOnce checks that the fake holds exactly the expected events,
// each delivered once.
func assertExactlyOnce(t *testing.T, expected map[string]int, got map[string]int) {
	t.Helper()
	var missing, extra, dup []string
	for k := range expected {
		switch n := got[k]; {
		case n == 0:
			missing = append(missing, k)
		case n > 1:
			dup = append(dup, fmt.Sprintf("%dx %s", n, k))
		}
	}
	for k := range got {
		if _, ok := expected[k]; !ok {
			extra = append(extra, k)
		}
	}
	assert.Empty(t, first(missing, 5), "%d expected events missing", len(missing))
	assert.Empty(t, first(dup, 5), "%d events delivered more than once", len(dup))
	assert.Empty(t, first(extra, 5), "%d events not expected (expired, future, from rejected rows, or mangled)", len(extra))
}

func first(s []string, n int) []string {
	slices.Sort(s)
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… and %d more", len(s)-n))
	}
	return s
}

type rejectLine struct {
	File            string            `json:"file"`
	Row             int64             `json:"row"`
	Line            int64             `json:"line"`
	Reason          string            `json:"reason"`
	InsiderMessages []string          `json:"insider_messages"`
	Cells           map[string]string `json:"cells"`
}

func readRejects(t *testing.T, path string) []rejectLine {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []rejectLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r rejectLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "rejects line %q", sc.Text())
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestE2EImportWithRejects imports ~1,400 rows with invalid, expired and
// future ones: exactly the valid events arrive once, the report adds up to
// the figures computed from the input, rejected rows are in a 0600 rejects
// file with their reason and cells, the exit code is 3, and a second run
// sends nothing.
func TestE2EImportWithRejects(t *testing.T) {
	f := startFake(t, "--partner", "e2eshop", "--token", testKey)
	d := genE2E(t, time.Now(), 1, 400, true)
	require.NotEmpty(t, d.invalid)
	e := newE2EEnv(t, d, f, 25, 4, 500)

	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 3, res.Code, "exit code 3: finished with rejects\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))

	assertExactlyOnce(t, d.expected, f.Events(t))
	st := f.Stats(t)
	assert.Zero(t, st.RequestsWithoutSkipHook, "requests_without_skip_hook")
	assert.Zero(t, st.ExpiredEvents, "the fake saw expired events")
	assert.Zero(t, st.FutureEvents, "the fake saw future events")
	assert.Zero(t, st.BadRequests)
	assert.Zero(t, st.UsersRejected)
	assert.Equal(t, int64(d.users), st.UsersAccepted)

	rep := readReport(t, e.report)
	assertCountsAddUp(t, rep.Counts)
	assert.Equal(t, d.want, rep.Counts, "report counters vs the generated input")
	assert.Equal(t, st.Requests, rep.Requests, "requests in the report vs requests the fake saw")
	assert.Equal(t, "finished with rejected rows", rep.Status)
	assert.Equal(t, int64(len(d.invalid)), rep.RejectsCount)
	assert.Contains(t, res.Stdout, fmt.Sprintf("rows    read %d = mapped %d + rejected %d", d.want.RowsRead, d.want.RowsMapped, d.want.RowsRejected))

	for _, p := range []string{e.rejects, e.report} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode of %s", filepath.Base(p))
	}
	rejects := readRejects(t, e.rejects)
	require.Len(t, rejects, len(d.invalid))
	seen := map[int]bool{}
	for _, r := range rejects {
		i := int(r.Row - 1)
		col, ok := d.invalid[i]
		if !assert.Truef(t, ok, "row %d is in the rejects file but was generated valid: %s", r.Row, r.Reason) {
			continue
		}
		seen[i] = true
		assert.Equal(t, e.csv, r.File)
		assert.Equal(t, r.Row+1, r.Line, "line = row + 1 (header)")
		assert.Containsf(t, r.Reason, "column "+col, "row %d reason", r.Row)
		assert.Empty(t, r.InsiderMessages)
		for c, name := range e2eHeader {
			assert.Equalf(t, strings.TrimSpace(d.rows[i][c]), strings.TrimSpace(r.Cells[name]), "row %d cell %s", r.Row, name)
		}
	}
	assert.Len(t, seen, len(d.invalid), "each rejected row once")

	// Run again: the checkpoint says the file is done; nothing is sent.
	before := f.Stats(t).Requests
	res = runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 0, res.Code, "second run\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Equal(t, before, f.Stats(t).Requests, "a finished file is not sent again")
	assert.Contains(t, res.Stdout, "finished by an earlier run")
	assertExactlyOnce(t, d.expected, f.Events(t))
}

// TestE2EImportClean imports valid rows only: exit 0, every event once, and no
// rejects file.
func TestE2EImportClean(t *testing.T) {
	f := startFake(t)
	d := genE2E(t, time.Now(), 2, 300, false)
	e := newE2EEnv(t, d, f, 40, 3, 500)
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assertExactlyOnce(t, d.expected, f.Events(t))
	rep := readReport(t, e.report)
	assertCountsAddUp(t, rep.Counts)
	assert.Equal(t, d.want, rep.Counts)
	assert.Equal(t, "ok", rep.Status)
	assert.Zero(t, f.Stats(t).RequestsWithoutSkipHook, "requests_without_skip_hook")
	_, err := os.Stat(e.rejects)
	assert.ErrorIs(t, err, os.ErrNotExist, "no rejects file when nothing was rejected")
}

// TestE2EUnreliableAPI imports through a throttling and a failing fake: the
// importer retries, every event still arrives exactly once (a 429 or 500
// stores nothing), and the run exits 0.
func TestE2EUnreliableAPI(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, st fakeapi.Stats, rep importer.Report)
	}{
		// 5/s holds a burst of 5: the 30 requests take 5 s at least,
		// so some draw a 429 however slowly a loaded machine sends them
		// (at 20/s, 42 requests fit in the 1.1 s one such run took).
		{"throttle 5 req/s", []string{"--throttle", "5"}, func(t *testing.T, st fakeapi.Stats, rep importer.Report) {
			assert.NotZero(t, st.Throttled, "the fake throttled")
			assert.NotZero(t, rep.Throttled, "the importer saw 429s")
		}},
		{"fail-rate 0.2", []string{"--fail-rate", "0.2", "--seed", "42"}, func(t *testing.T, st fakeapi.Stats, rep importer.Report) {
			assert.NotZero(t, st.Failed, "the fake failed requests")
		}},
		{"both, with delay", []string{"--throttle", "30", "--fail-rate", "0.2", "--seed", "7", "--delay", "20ms"}, func(t *testing.T, st fakeapi.Stats, rep importer.Report) {
			assert.NotZero(t, st.Failed+st.Throttled)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, tc.args...)
			d := genE2E(t, time.Now(), 3, 300, false)
			e := newE2EEnv(t, d, f, 10, 4, 200)
			res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
			require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
			assertExactlyOnce(t, d.expected, f.Events(t))
			st := f.Stats(t)
			rep := readReport(t, e.report)
			assertCountsAddUp(t, rep.Counts)
			assert.Equal(t, d.want, rep.Counts)
			assert.Equal(t, st.Requests, rep.Requests, "requests in the report vs requests the fake saw")
			assert.Equal(t, st.Requests-st.Accepted, rep.Retries, "every answer but a 200 was retried")
			assert.Zero(t, st.RequestsWithoutSkipHook, "requests_without_skip_hook")
			tc.check(t, st, rep)
			t.Logf("requests %d: accepted %d, throttled %d, failed %d; %.1fs", st.Requests, st.Accepted, st.Throttled, st.Failed, res.Elapsed.Seconds())
		})
	}
}

// TestE2EWrongToken: a refused key stops the run at once with exit 4, nothing
// more is sent, the checkpoint is saved, and the same command with the right
// key then imports everything once.
func TestE2EWrongToken(t *testing.T) {
	f := startFake(t, "--token", testKey)
	d := genE2E(t, time.Now(), 4, 300, false)
	const workers = 4
	e := newE2EEnv(t, d, f, 10, workers, 500)

	res := runImport(t, []string{"INSIDER_API_KEY=wrong-key"}, e.args()...)
	require.Equal(t, 4, res.Code, "exit code 4: credentials refused\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stderr, "nothing more was sent")
	assert.NotContains(t, res.Stderr+res.Stdout, "wrong-key", "the key is never printed")
	st := f.Stats(t)
	assert.Zero(t, st.Accepted)
	assert.Equal(t, st.Requests, st.Forbidden, "no retries after a 403")
	assert.LessOrEqual(t, st.Forbidden, int64(workers), "at most one request per worker before stopping")
	assert.NotZero(t, st.Forbidden)
	cp, ok := readCheckpoint(t, e.checkpoints)
	require.True(t, ok, "the checkpoint is saved on a 403")
	require.Contains(t, cp.Files, e.csv)
	assert.False(t, cp.Files[e.csv].Finished)
	rep := readReport(t, e.report)
	assert.Equal(t, "failed", rep.Status)

	res = runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assertExactlyOnce(t, d.expected, f.Events(t))
}

// TestE2EConfigError: config mistakes exit 2 before anything is sent.
func TestE2EConfigError(t *testing.T) {
	f := startFake(t)
	d := genE2E(t, time.Now(), 5, 20, false)
	e := newE2EEnv(t, d, f, 10, 2, 100)
	good, err := os.ReadFile(e.config)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"unknown key", "    email: email\n", "    emial: email\n", "emial"},
		{"column not in the header", "    name: first_name\n", "    name: given_name\n", `"given_name"`},
		{"bad batch size", "  batch_users: 10\n", "  batch_users: 5000\n", "batch_users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, string(good), tc.from)
			cfg := writeFile(t, t.TempDir(), "import.yaml", strings.Replace(string(good), tc.from, tc.to, 1))
			args := e.args()
			args[2] = cfg
			res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, args...)
			assert.Equal(t, 2, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
			assert.Contains(t, res.Stderr, tc.want)
		})
	}
	t.Run("no API key", func(t *testing.T) {
		res := runImport(t, nil, e.args()...)
		assert.Equal(t, 2, res.Code, "stderr:\n%s", res.Stderr)
		assert.Contains(t, res.Stderr, "INSIDER_API_KEY")
	})
	assert.Zero(t, f.Stats(t).Requests, "nothing is sent on a config error")
}

// TestE2ERejectedByAPI makes the fake refuse what the importer cannot know
// about: a request size limit (--max-bytes) below the config's batch_bytes.
// The importer splits too-large batches; a user too large on its own is
// rejected by the API (400) and its rows go to the rejects file with
// Insider's message. The others arrive once.
//
// The importer and the fake share the per-user validation rules (package
// upsert), so no mapped row gets a 200-with-fail-block answer from the fake;
// that path (failedUsers) is left to unit tests.
func TestE2ERejectedByAPI(t *testing.T) {
	const maxBytes = 6000
	f := startFake(t, "--max-bytes", strconv.Itoa(maxBytes))
	d := genE2E(t, time.Now(), 6, 60, false)

	// One user with many valid purchases: a user object well over maxBytes.
	now := time.Now().Truncate(time.Second)
	const bigID, bigEmail = "C999999", "big@example.com"
	var bigRows []int
	for k := range 40 {
		i := len(d.rows)
		row := make([]string, len(e2eHeader))
		row[cID], row[cEmail], row[cName] = bigID, bigEmail, "Big"
		row[cOrder], row[cSKU], row[cCurrency] = fmt.Sprintf("O%07d", i), "SKU-BIG", "EUR"
		row[cPrice], row[cSale], row[cQty], row[cStore] = "10.00", "9.00", "1", "S-99"
		row[cPurchased] = rfc3339(now.Add(-time.Duration(k+1) * time.Hour))
		d.rows = append(d.rows, row)
		bigRows = append(bigRows, i)
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "users.csv")
	writeCSV(t, csvPath, e2eHeader, d.rows)
	cfg := writeFile(t, dir, "import.yaml", e2eConfig(csvPath, f.Port, 50, 2, 500))
	reportPath, rejectsPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "rejects.jsonl")
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", cfg, "--checkpoint", filepath.Join(dir, "cp"),
		"--report", reportPath, "--rejects", rejectsPath, "--progress", "none")
	require.Equal(t, 3, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))

	st := f.Stats(t)
	assert.NotZero(t, st.BadRequests, "the fake refused too-large requests")
	rep := readReport(t, reportPath)
	assertCountsAddUp(t, rep.Counts)
	assert.Equal(t, int64(1), rep.UsersRejected, "the big user is rejected by the API")
	assert.Equal(t, int64(len(bigRows)), rep.RowsRejectedByAPI)
	assert.Equal(t, int64(len(bigRows)), rep.RejectsCount)
	assert.Equal(t, rep.UsersAccepted, st.UsersAccepted)
	rejects := readRejects(t, rejectsPath)
	require.Len(t, rejects, len(bigRows))
	for k, r := range rejects {
		assert.Equal(t, int64(bigRows[k]+1), r.Row)
		assert.Contains(t, r.Reason, "rejected by Insider")
		if assert.NotEmpty(t, r.InsiderMessages) {
			assert.Contains(t, r.InsiderMessages[0], "bigger than maximum allowed size")
			assert.Contains(t, r.InsiderMessages[0], "too large: ", "a single user's size refusal says so")
		}
	}
	// Every event of the other users arrived once; none of the big user's.
	got := f.Events(t)
	assertExactlyOnce(t, d.expected, got)
	assert.Equal(t, rep.EventsSent, int64(len(got)), "events sent = distinct events stored")
}

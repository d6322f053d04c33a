package main

// Crash tests: the real binary imports 100,000 rows into a throttling,
// failing, slow fake and is killed (SIGKILL) or stopped (SIGTERM, SIGINT) at
// random moments, then resumed with the same command until it finishes. The
// fake's event counts show what was lost and what was delivered twice; the
// checkpoint read after each kill shows which batches were in flight.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
)

// crashBatchUsers is small (about 175 rows a request) so that the fake's
// throttle bites and the import outlasts a dozen kills.
const crashBatchUsers = 50

var crashHeader = []string{"customer_id", "email", "order_id", "sku", "currency", "price", "sale_price", "qty", "purchased_at"}

func crashConfig(csvPath, port string, batchUsers int) string {
	return fmt.Sprintf(`source:
  paths: [%q]
  format: csv
insider:
  endpoint: http://127.0.0.1:%s/api/user/v1/upsert
  partner: crashshop
  array_attributes: overwrite
delivery:
  batch_users: %d
  workers: 4
  requests_per_second: 2000
mapping:
  identifiers:
    email: email
    uuid: customer_id
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
`, csvPath, port, batchUsers)
}

// crashData is n rows of about n/3.3 users, 1 to 6 consecutive rows each,
// one valid purchase per row. keys maps each event key to its row index.
type crashData struct {
	rows [][]string
	keys map[string]int
}

func genCrash(t *testing.T, n int, seed uint64) *crashData {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	now := time.Now().Truncate(time.Second)
	d := &crashData{rows: make([][]string, 0, n), keys: make(map[string]int, n)}
	for u := 0; len(d.rows) < n; u++ {
		id, email := fmt.Sprintf("U%07d", u), fmt.Sprintf("u%d@example.com", u)
		for k := 1 + rng.IntN(6); k > 0 && len(d.rows) < n; k-- {
			i := len(d.rows)
			price := 100 + rng.IntN(50000)
			row := []string{
				id, email, fmt.Sprintf("O%08d", i), fmt.Sprintf("SKU-%d", rng.IntN(1000)),
				[]string{"GBP", "USD", "EUR", "SGD"}[rng.IntN(4)],
				fmt.Sprintf("%d.%02d", price/100, price%100), fmt.Sprintf("%d.%02d", price*8/1000, price*8/10%100),
				strconv.Itoa(1 + rng.IntN(9)),
				rfc3339(now.Add(-time.Hour - time.Duration(rng.Int64N(int64(600*24*time.Hour))))),
			}
			d.rows = append(d.rows, row)
			k := crashKey(id, email, row)
			if i%997 == 0 { // the hand-built key is EventKey's
				require.Equal(t, eventKey(t, map[string]string{"email": email, "uuid": id}, "purchase", row[8], map[string]any{
					"event_group_id": row[2], "product_id": row[3], "currency": row[4],
					"unit_price": json.Number(row[5]), "unit_sale_price": json.Number(row[6]), "quantity": json.Number(row[7]),
				}), k)
			}
			d.keys[k] = i
		}
	}
	return d
}

// crashKey builds fakeapi.EventKey of a row's purchase without the JSON
// round trips (100,000 of them are slow under -race): keys sorted, every
// value plain ASCII.
func crashKey(id, email string, row []string) string {
	var b strings.Builder
	b.Grow(240)
	b.WriteString(`[{"email":"`)
	b.WriteString(email)
	b.WriteString(`","uuid":"`)
	b.WriteString(id)
	b.WriteString(`"},"purchase","`)
	b.WriteString(row[8])
	b.WriteString(`",{"currency":"`)
	b.WriteString(row[4])
	b.WriteString(`","event_group_id":"`)
	b.WriteString(row[2])
	b.WriteString(`","product_id":"`)
	b.WriteString(row[3])
	b.WriteString(`","quantity":`)
	b.WriteString(row[7])
	b.WriteString(`,"unit_price":`)
	b.WriteString(row[5])
	b.WriteString(`,"unit_sale_price":`)
	b.WriteString(row[6])
	b.WriteString(`}]`)
	return b.String()
}

// deliveredRows returns the row indexes of the events in a GET /events
// body, found by their order id ("O%08d" of the row index, in the key's
// escaped JSON) without decoding 100,000 keys, which is slow under -race.
func deliveredRows(t *testing.T, body []byte) []int {
	t.Helper()
	pat := []byte(`event_group_id\":\"O`)
	var rows []int
	for b := body; ; {
		i := bytes.Index(b, pat)
		if i < 0 {
			break
		}
		b = b[i+len(pat):]
		require.GreaterOrEqual(t, len(b), 8)
		n, err := strconv.Atoi(string(b[:8]))
		require.NoError(t, err, "order id in %q", b[:8])
		rows = append(rows, n)
	}
	return rows
}

// crashEnv is one import job: data, config, checkpoint directory, and the
// command that runs (and resumes) it.
type crashEnv struct {
	data        *crashData
	fake        *fake
	dir, csv    string
	checkpoints string
	args        []string
	env         []string
}

func newCrashEnv(t *testing.T, rows int, dataSeed uint64, fakeArgs ...string) *crashEnv {
	t.Helper()
	return newCrashEnvData(t, genCrash(t, rows, dataSeed), fakeArgs...)
}

// newCrashEnvData is newCrashEnv with the data given.
func newCrashEnvData(t *testing.T, data *crashData, fakeArgs ...string) *crashEnv {
	t.Helper()
	start := time.Now()
	rows := len(data.rows)
	e := &crashEnv{data: data, fake: startFake(t, fakeArgs...), dir: t.TempDir()}
	e.csv = filepath.Join(e.dir, "purchases.csv")
	e.checkpoints = filepath.Join(e.dir, "checkpoints")
	writeCSV(t, e.csv, crashHeader, e.data.rows)
	cfg := writeFile(t, e.dir, "import.yaml", crashConfig(e.csv, e.fake.Port, crashBatchUsers))
	e.args = []string{"run", "-c", cfg, "--checkpoint", e.checkpoints, "--report", filepath.Join(e.dir, "report.json"),
		"--rejects", filepath.Join(e.dir, "rejects.jsonl"), "--progress", "none", "--log-format", "json"}
	e.env = []string{"INSIDER_API_KEY=" + testKey}
	t.Logf("%d rows generated and written in %v", rows, time.Since(start).Round(time.Millisecond))
	return e
}

// crashSeed is the seed of the random kill moments: INSIDER_IMPORT_CRASH_SEED
// to replay a run, else the clock. It is logged.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("INSIDER_IMPORT_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "INSIDER_IMPORT_CRASH_SEED")
		return n
	}
	return uint64(time.Now().UnixNano())
}

// inFlightAt is what the checkpoint recorded at one kill: the in-flight row
// ranges, and the whole file state.
type inFlightAt struct {
	kill   int
	ranges []checkpoint.Range
	fs     *checkpoint.FileState // nil: no checkpoint yet
}

func (f inFlightAt) contains(row int) bool {
	return inRanges(f.ranges, row)
}

func inRanges(rs []checkpoint.Range, row int) bool {
	for _, r := range rs {
		if int64(row) >= r.Start.Index && int64(row) < r.End.Index {
			return true
		}
	}
	return false
}

// rowState is where a row stands in a checkpoint.
type rowState int

const (
	rowUnrecorded     rowState = iota // no checkpoint, or beyond or between its ranges
	rowBeforeFrontier                 // finished
	rowDone                           // in a finished range beyond the frontier
	rowInFlight                       // in a range dispatched and not answered
)

func (f inFlightAt) state(row int) rowState {
	switch {
	case f.fs == nil:
		return rowUnrecorded
	case int64(row) < f.fs.Frontier.Index:
		return rowBeforeFrontier
	case inRanges(f.fs.Done, row):
		return rowDone
	case inRanges(f.fs.InFlight, row):
		return rowInFlight
	}
	return rowUnrecorded
}

// where describes a row's state for messages.
func (f inFlightAt) where(row int) string {
	switch f.state(row) {
	case rowBeforeFrontier:
		return "before the frontier"
	case rowDone:
		return "in a done range"
	case rowInFlight:
		return "in flight"
	}
	if f.fs == nil {
		return "no checkpoint"
	}
	end := f.fs.Frontier.Index
	for _, r := range append(slices.Clone(f.fs.Done), f.fs.InFlight...) {
		end = max(end, r.End.Index)
	}
	if int64(row) >= end {
		return fmt.Sprintf("beyond the recorded ranges (they end at row index %d)", end)
	}
	return fmt.Sprintf("in a gap between recorded ranges: frontier %d, done %v, in flight %v", f.fs.Frontier.Index, f.fs.Done, f.fs.InFlight)
}

// killResume runs e's import and kills it with SIGKILL kills times, each
// at a random moment in the first 0.7s of a run (from rng): early enough
// that the kills do not finish the import, late enough to let it save and
// send. After each kill it calls onKill with the kill's number (from 1) and
// moment; then it resumes the import once more, to the end, and returns
// that run, which must exit with finalCode. All within 3 minutes.
func killResume(t *testing.T, e *crashEnv, kills int, rng *rand.Rand, finalCode int, onKill func(kill int, delay time.Duration)) result {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for run := 1; ; run++ {
		require.True(t, time.Now().Before(deadline), "the import did not finish in 3 minutes (%d runs)", run-1)
		p := startImport(t, e.env, e.args...)
		if run > kills {
			final := p.wait(t, 2*time.Minute)
			require.Equal(t, finalCode, final.Code, "run %d, after %d kills\nstdout:\n%s\nstderr:\n%s", run, kills, final.Stdout, tail([]byte(final.Stderr), 4000))
			return final
		}
		delay := time.Duration(30+rng.IntN(670)) * time.Millisecond
		select {
		case <-p.done:
			res := p.wait(t, 5*time.Second)
			t.Fatalf("run %d exited (code %d) before its kill at %v; the import is too small for %d kills\nstderr:\n%s",
				run, res.Code, delay, kills, tail([]byte(res.Stderr), 3000))
		case <-time.After(delay):
		}
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		res := p.wait(t, 10*time.Second)
		require.True(t, res.Signaled, "run %d was killed: code %d", run, res.Code)
		onKill(run, delay)
	}
}

// TestCrashKill9Resume kills an import of 100,000 rows with SIGKILL at 12
// random moments, resuming each time with the same command, then lets it
// finish. Every event must have arrived (none lost), and every event
// delivered more than once must come from a row that a checkpoint listed as
// in flight at a kill — at most once more per such kill ("nothing
// acknowledged is sent again"; a batch recorded in flight may have been sent
// before the kill, and is re-sent).
func TestCrashKill9Resume(t *testing.T) {
	const rows, kills = 100_000, 12
	testStart := time.Now()
	e := newCrashEnv(t, rows, 1, "--throttle", "35", "--fail-rate", "0.05", "--seed", "3", "--delay", "5ms")
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("kill moments: seed %d (INSIDER_IMPORT_CRASH_SEED=%d replays them)", seed, seed)

	var atKills []inFlightAt
	var checking time.Duration // spent reading the fake's events after kills
	final := killResume(t, e, kills, rng, 0, func(_ int, delay time.Duration) {
		cp, ok := readCheckpoint(t, e.checkpoints)
		var inf inFlightAt
		inf.kill = len(atKills) + 1
		state := "no checkpoint yet"
		if ok {
			fs := cp.Files[e.csv]
			require.NotNil(t, fs, "checkpoint without the input file")
			require.False(t, fs.Finished, "kill %d: the checkpoint says the file is finished; the import is too small", inf.kill)
			inf.ranges = slices.Clone(fs.InFlight)
			inf.fs = fs
			n := int64(0)
			for _, r := range fs.InFlight {
				n += r.End.Index - r.Start.Index
			}
			state = fmt.Sprintf("frontier row %d, %d done ranges, %d in flight (%d rows)", fs.Frontier.Index, len(fs.Done), len(fs.InFlight), n)
		}
		atKills = append(atKills, inf)
		t.Logf("kill %2d: SIGKILL after %4dms; checkpoint: %s", inf.kill, delay.Milliseconds(), state)
		// Write-ahead: whatever has arrived is before the frontier, in a
		// done range or in flight; never beyond what the checkpoint knows.
		checkStart := time.Now()
		var unrecorded []int
		for _, row := range deliveredRows(t, e.fake.EventsRaw(t)) {
			if inf.state(row) == rowUnrecorded {
				unrecorded = append(unrecorded, row)
			}
		}
		if len(unrecorded) > 0 {
			slices.Sort(unrecorded)
			t.Errorf("kill %d: %d rows arrived at the API that the checkpoint does not list (rows %d..%d); %s",
				inf.kill, len(unrecorded), unrecorded[0]+1, unrecorded[len(unrecorded)-1]+1, inf.where(unrecorded[0]))
		}
		checking += time.Since(checkStart)
	})

	raw := e.fake.EventsRaw(t)
	got := map[string]int{}
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Len(t, deliveredRows(t, raw), len(got), "the order-id scan used after each kill finds every event")
	var lost, unexpected, duplicates, dupEvents, beyondBound, outside int
	var examples []string
	for k, row := range e.data.keys {
		n := got[k]
		if n == 0 {
			lost++
			continue
		}
		if n == 1 {
			continue
		}
		dupEvents++
		duplicates += n - 1
		bound := 0
		var at []int
		for _, inf := range atKills {
			if inf.contains(row) {
				bound++
				at = append(at, inf.kill)
			}
		}
		if bound == 0 {
			outside++
		}
		if n-1 > bound {
			beyondBound++
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("row %d delivered %d times, in flight at kills %v", row+1, n, at))
			}
		}
	}
	for k := range got {
		if _, ok := e.data.keys[k]; !ok {
			unexpected++
		}
	}
	// The bound: each kill may re-send the rows its checkpoint listed in
	// flight, once.
	inFlightRows := 0
	for _, inf := range atKills {
		for _, r := range inf.ranges {
			inFlightRows += int(r.End.Index - r.Start.Index)
		}
	}
	st := e.fake.Stats(t)
	t.Logf("closing figures: rows %d, kills %d (SIGKILL), runs %d; events lost %d; duplicate deliveries %d (of %d distinct events); "+
		"from rows no checkpoint listed in flight at a kill: %d; over the per-event bound (1 + kills that listed the row in flight): %d; "+
		"overall bound: duplicates ≤ in-flight rows summed over kills = %d; "+
		"fake: %d requests (%d throttled, %d failed), %d event deliveries; test %.1fs (final run %.1fs, checks after kills %.1fs)",
		rows, len(atKills), len(atKills)+1, lost, duplicates, dupEvents, outside, beyondBound, inFlightRows,
		st.Requests, st.Throttled, st.Failed, st.Events, time.Since(testStart).Seconds(), final.Elapsed.Seconds(), checking.Seconds())
	assert.Zero(t, lost, "events lost")
	assert.Zero(t, unexpected, "events that are not in the input")
	if !assert.Zero(t, outside, "duplicated events from rows that no checkpoint listed in flight at a kill: %v", examples) {
		for _, ex := range examples[:min(2, len(examples))] {
			var row int
			fmt.Sscanf(ex, "row %d", &row)
			for _, inf := range atKills {
				t.Logf("row %d at kill %d: %s", row, inf.kill, inf.where(row-1))
			}
		}
	}
	assert.Zero(t, beyondBound, "events delivered more often than 1 + the kills that found their row in flight: %v", examples)
	assert.LessOrEqual(t, duplicates, inFlightRows)
	assert.Equal(t, int64(rows+duplicates), st.Events, "the fake's delivery count")
	assert.Zero(t, st.RequestsWithoutSkipHook, "requests_without_skip_hook")

	cp, ok := readCheckpoint(t, e.checkpoints)
	require.True(t, ok)
	fs := cp.Files[e.csv]
	require.NotNil(t, fs)
	assert.True(t, fs.Finished, "the checkpoint says finished")
	assert.Empty(t, fs.InFlight)
	assert.Equal(t, int64(rows), fs.Frontier.Index)
	rep := readReport(t, filepath.Join(e.dir, "report.json"))
	assertCountsAddUp(t, rep.Counts)
}

// TestCrashSIGTERMResume stops an import with SIGTERM at random moments and
// resumes it each time: every run exits 143 after letting requests in flight
// finish, and in the end every event arrived exactly once — a stop with a
// saved checkpoint re-sends nothing. The last stop is a SIGINT, exit 130.
func TestCrashSIGTERMResume(t *testing.T) {
	const rows, stops = 40_000, 5
	testStart := time.Now()
	e := newCrashEnv(t, rows, 2, "--throttle", "25", "--fail-rate", "0.05", "--seed", "5", "--delay", "5ms")
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("stop moments: seed %d (INSIDER_IMPORT_CRASH_SEED=%d replays them)", seed, seed)

	deadline := time.Now().Add(2 * time.Minute)
	for run := 1; ; run++ {
		require.True(t, time.Now().Before(deadline), "the import did not finish in 2 minutes (%d runs)", run-1)
		p := startImport(t, e.env, e.args...)
		if run > stops {
			res := p.wait(t, 2*time.Minute)
			require.Equal(t, 0, res.Code, "final run\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 4000))
			break
		}
		sig, want := syscall.SIGTERM, 143
		if run == stops {
			sig, want = syscall.SIGINT, 130
		}
		delay := time.Duration(100+rng.IntN(500)) * time.Millisecond
		select {
		case <-p.done:
			res := p.wait(t, 5*time.Second)
			t.Fatalf("run %d exited (code %d) before its %v at %v\nstderr:\n%s", run, res.Code, sig, delay, tail([]byte(res.Stderr), 3000))
		case <-time.After(delay):
		}
		require.NoError(t, p.cmd.Process.Signal(sig))
		sent := time.Now()
		res := p.wait(t, 40*time.Second)
		require.Equalf(t, want, res.Code, "run %d: exit code after %v\nstdout:\n%s\nstderr:\n%s", run, sig, res.Stdout, tail([]byte(res.Stderr), 3000))
		assert.Contains(t, res.Stdout, "interrupted")
		cp, ok := readCheckpoint(t, e.checkpoints)
		require.True(t, ok, "the checkpoint is saved on %v", sig)
		fs := cp.Files[e.csv]
		require.NotNil(t, fs)
		t.Logf("stop %d: %v after %4dms, exit %d in %4dms; checkpoint: frontier row %d, %d done ranges, %d in flight",
			run, sig, delay.Milliseconds(), res.Code, time.Since(sent).Milliseconds(), fs.Frontier.Index, len(fs.Done), len(fs.InFlight))
		// Requests in flight finished within the grace period: whatever
		// arrived is recorded as finished, nothing as in flight.
		at := inFlightAt{kill: run, ranges: fs.InFlight, fs: fs}
		var open []int
		for _, row := range deliveredRows(t, e.fake.EventsRaw(t)) {
			if st := at.state(row); st != rowBeforeFrontier && st != rowDone {
				open = append(open, row)
			}
		}
		if len(open) > 0 {
			slices.Sort(open)
			t.Errorf("stop %d: %d delivered rows are not recorded as finished (row %d is %s)", run, len(open), open[0]+1, at.where(open[0]))
		}
	}

	got := e.fake.Events(t)
	var lost, dup, unexpected int
	for k := range e.data.keys {
		switch n := got[k]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	for k := range got {
		if _, ok := e.data.keys[k]; !ok {
			unexpected++
		}
	}
	st := e.fake.Stats(t)
	t.Logf("closing figures: rows %d, stops %d (SIGTERM/SIGINT), events lost %d, duplicate deliveries %d (bound 0); fake: %d requests (%d throttled, %d failed); %.1fs",
		rows, stops, lost, dup, st.Requests, st.Throttled, st.Failed, time.Since(testStart).Seconds())
	assert.Zero(t, lost, "events lost")
	assert.Zero(t, dup, "duplicate deliveries after SIGTERM/SIGINT stops")
	assert.Zero(t, unexpected, "events that are not in the input")
	assert.Equal(t, int64(rows), st.Events)
}

// TestCrashAnswersHeld stops an import while the fake holds the answers to
// four stored requests back (--delay 1s), so that the moment is not left to
// chance:
//   - SIGTERM with the default grace period: the run waits for the answers,
//     exits 143, and the checkpoint lists every delivered row as finished;
//     the resume sends nothing twice.
//   - SIGTERM with --grace 100ms: the requests are cut off, exit 143, and the
//     checkpoint keeps them in flight; the resume re-sends exactly those.
//   - SIGKILL: the checkpoint saved before each request was sent lists it in
//     flight (write-ahead); the resume re-sends exactly those.
func TestCrashAnswersHeld(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		extra []string
		waits bool // the run waits for the held answers and records them
	}{
		{"SIGTERM, requests finish within the grace period", syscall.SIGTERM, nil, true},
		{"SIGTERM, grace period runs out", syscall.SIGTERM, []string{"--grace", "100ms"}, false},
		{"SIGKILL", syscall.SIGKILL, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const rows = 1500
			e := newCrashEnv(t, rows, 3, "--delay", "1s")
			p := startImport(t, e.env, append(slices.Clone(e.args), tc.extra...)...)
			deadline := time.Now().Add(20 * time.Second)
			for e.fake.Stats(t).Accepted < 4 {
				require.False(t, p.exited(), "the import ended before four requests were held")
				require.True(t, time.Now().Before(deadline), "four requests did not reach the fake within 20s")
				time.Sleep(20 * time.Millisecond)
			}
			require.NoError(t, p.cmd.Process.Signal(tc.sig))
			sent := time.Now()
			res := p.wait(t, 40*time.Second)
			took := time.Since(sent)
			if tc.sig == syscall.SIGKILL {
				require.True(t, res.Signaled, "killed")
			} else {
				require.Equal(t, 143, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
				if tc.waits {
					assert.Greater(t, took, 300*time.Millisecond, "the run waited for the answers held back")
				} else {
					assert.Less(t, took, 900*time.Millisecond, "the run did not wait past its grace period")
				}
			}
			cp, ok := readCheckpoint(t, e.checkpoints)
			require.True(t, ok)
			fs := cp.Files[e.csv]
			require.NotNil(t, fs)
			at := inFlightAt{kill: 1, ranges: fs.InFlight, fs: fs}
			var delivered, inFlight int
			var wrong []int // delivered rows in a state the case does not allow
			for _, row := range deliveredRows(t, e.fake.EventsRaw(t)) {
				delivered++
				switch st := at.state(row); {
				case st == rowInFlight:
					inFlight++
				case st == rowUnrecorded, !tc.waits:
					wrong = append(wrong, row)
				}
			}
			if len(wrong) > 0 {
				slices.Sort(wrong)
				t.Errorf("%d delivered rows are neither finished nor in flight as expected in the checkpoint; row %d is %s",
					len(wrong), wrong[0]+1, at.where(wrong[0]))
			}
			if tc.waits {
				assert.Zero(t, inFlight, "delivered rows the checkpoint still lists in flight")
			} else {
				assert.Equal(t, delivered, inFlight, "rows whose answers never came back stay in flight")
			}
			t.Logf("%v with 4 answers held: %d events delivered, %d of them in flight in the checkpoint; exit after %dms",
				tc.sig, delivered, inFlight, took.Milliseconds())

			res = runImport(t, e.env, e.args...)
			require.Equal(t, 0, res.Code, "resume\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
			got := e.fake.Events(t)
			var lost, dups, outside, twice int
			for k, row := range e.data.keys {
				switch n := got[k]; {
				case n == 0:
					lost++
				case n > 1:
					dups += n - 1
					if !at.contains(row) {
						outside++
					}
					if n > 2 {
						twice++
					}
				}
			}
			assert.Zero(t, lost, "events lost")
			assert.Zero(t, outside, "events delivered again from rows that were not in flight at the stop")
			assert.Zero(t, twice, "events re-sent more than once")
			assert.LessOrEqual(t, dups, inFlight, "duplicate deliveries")
			t.Logf("after the resume (%.1fs): %d events lost, %d duplicate deliveries", res.Elapsed.Seconds(), lost, dups)
		})
	}
}

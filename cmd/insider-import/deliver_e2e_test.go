package main

// End-to-end tests of delivery: answers that are not Insider's success must
// never count as delivered, and a 400 caused by one user must cost only
// that user.

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withConfig rewrites the config of e: each pair replaces a line.
func (e *e2eEnv) withConfig(t *testing.T, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(e.config)
	require.NoError(t, err)
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		require.Contains(t, s, pairs[i])
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	require.NoError(t, os.WriteFile(e.config, []byte(s), 0o600))
}

// recorder is a loopback HTTP server that only records what reaches it.
type recorder struct {
	mu     sync.Mutex
	reqs   []string // method and path
	tokens int      // requests that carried an X-REQUEST-TOKEN
	url    string
}

func startRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Method+" "+r.URL.Path)
		if r.Header.Get("X-Request-Token") != "" {
			rec.tokens++
		}
		rec.mu.Unlock()
		// What a careless proxy would say: 200 and some JSON.
		fmt.Fprint(w, `{"data":{"successful":{"count":1000},"fail":{}}}`)
	}))
	t.Cleanup(ts.Close)
	rec.url = ts.URL
	return rec
}

// TestE2ERedirectIsNotFollowed: the endpoint answers 302 or 307 to another
// loopback port. Nothing reaches that port (no key, no users), nothing is
// counted delivered, and the run exits 1 naming the Location.
func TestE2ERedirectIsNotFollowed(t *testing.T) {
	for _, status := range []string{"302", "307"} {
		t.Run(status, func(t *testing.T) {
			rec := startRecorder(t)
			target := rec.url + "/api/user/v1/upsert"
			f := startFake(t, "--redirect-to", target, "--redirect-status", status)
			d := genE2E(t, time.Now(), 11, 50, false)
			e := newE2EEnv(t, d, f, 10, 2, 100)
			res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
			require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
			t.Logf("exit %d: %s", res.Code, lastLine(res.Stderr))
			assert.Contains(t, res.Stderr, "HTTP "+status)
			assert.Contains(t, res.Stderr, `"`+target+`"`, "the message names the Location")
			rec.mu.Lock()
			assert.Empty(t, rec.reqs, "nothing reaches the other host")
			assert.Zero(t, rec.tokens, "no X-REQUEST-TOKEN reaches the other host")
			rec.mu.Unlock()
			rep := readReport(t, e.report)
			assert.Zero(t, rep.UsersAccepted, "nothing counted delivered")
			assert.Zero(t, rep.EventsSent)
			assert.Equal(t, "failed", rep.Status)
			st := f.Stats(t)
			assert.Zero(t, st.Accepted)
			assert.LessOrEqual(t, st.Redirected, int64(2), "a redirect is not retried: one per worker at most")
			assert.NotContains(t, res.Stderr+res.Stdout, testKey)
		})
	}
}

// TestE2EMaintenancePageIsNotDelivery: a 200 {"message":"service under
// maintenance"} is a failed attempt: the run gives up after
// delivery.max_attempts with exit 1, the body quoted, nothing delivered.
func TestE2EMaintenancePageIsNotDelivery(t *testing.T) {
	f := startFake(t, "--maintenance")
	d := genE2E(t, time.Now(), 12, 50, false)
	e := newE2EEnv(t, d, f, 10, 2, 100)
	e.withConfig(t, "  requests_per_second: 100\n", "  requests_per_second: 100\n  max_attempts: 2\n")
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	t.Logf("exit %d: %s", res.Code, lastLine(res.Stderr))
	assert.Contains(t, res.Stderr, `service under maintenance`, "the body is quoted")
	assert.Contains(t, res.Stderr, "not Insider's answer")
	assert.Contains(t, res.Stderr, "gave up after 2 attempts")
	rep := readReport(t, e.report)
	assert.Zero(t, rep.UsersAccepted, "nothing counted delivered")
	assert.Zero(t, rep.EventsSent)
	cp, ok := readCheckpoint(t, e.checkpoints)
	require.True(t, ok)
	assert.False(t, cp.Files[e.csv].Finished, "the file is not marked done")
	assert.Zero(t, cp.Files[e.csv].RowsAcked)
}

// TestE2ETLSUnknownCA: an https endpoint whose certificate no known CA
// signed. One attempt (no retry can help), exit 1, a message that says so.
func TestE2ETLSUnknownCA(t *testing.T) {
	var handshakes, requests atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, `{"data":{"successful":{"count":1},"fail":{}}}`)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	port := ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]

	d := genE2E(t, time.Now(), 13, 30, false)
	e := newE2EEnv(t, d, &fake{Port: port}, 10, 1, 100)
	e.withConfig(t, "endpoint: http://127.0.0.1:", "endpoint: https://127.0.0.1:")
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	t.Logf("exit %d: %s", res.Code, lastLine(res.Stderr))
	assert.Contains(t, res.Stderr, "TLS: the server's certificate is not trusted")
	assert.Contains(t, res.Stderr, "certificate signed by unknown authority")
	assert.NotContains(t, res.Stderr, "retrying", "a certificate error is not retried")
	assert.EqualValues(t, 1, handshakes.Load(), "one attempt")
	assert.Zero(t, requests.Load())
}

// TestE2EBisectOneBadUser: one user of a 1000-user batch makes the stand-in
// refuse the whole request (400). Bisection delivers the 999 others and
// rejects that user alone with the stand-in's message, within 2·⌈log2
// 1000⌉ extra requests.
func TestE2EBisectOneBadUser(t *testing.T) {
	d := genE2E(t, time.Now(), 14, 1000, false)
	const bad = "C000500"
	badEmail := "user500@example.com"
	f := startFake(t, "--bad-user", badEmail)
	e := newE2EEnv(t, d, f, 1000, 1, 1000)
	e.withConfig(t, "  requests_per_second: 1000\n", "  requests_per_second: 1000\n  batch_bytes: 5000000\n")
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 3, res.Code, "exit 3: finished with rejects\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))

	rep := readReport(t, e.report)
	assert.EqualValues(t, 999, rep.UsersAccepted)
	assert.EqualValues(t, 1, rep.UsersRejected)
	st := f.Stats(t)
	assert.EqualValues(t, 999, st.UsersAccepted)
	assert.LessOrEqual(t, st.Requests, int64(1+2*10), "one request plus at most 2·⌈log2 1000⌉ for the bisection")
	assert.Equal(t, st.Requests, rep.Requests)

	badRows := 0
	expected := map[string]int{}
	for k, i := range d.expected {
		if d.rows[i][cID] != bad {
			expected[k] = i
		}
	}
	for _, row := range d.rows {
		if row[cID] == bad {
			badRows++
		}
	}
	assertExactlyOnce(t, expected, f.Events(t))
	rejects := readRejects(t, e.rejects)
	require.Len(t, rejects, badRows, "the bad user's rows, and only those")
	for _, r := range rejects {
		assert.Equal(t, bad, r.Cells["customer_id"])
		require.NotEmpty(t, r.InsiderMessages)
		assert.Contains(t, r.InsiderMessages[0], "user "+badEmail+" cannot be processed", "the stand-in's message")
	}
	t.Logf("requests %d (bisection bound %d), %.1fs", st.Requests, 1+2*10, res.Elapsed.Seconds())
}

// answerEvery starts a server that answers every request with status and
// body; it returns its port and the count of requests.
func answerEvery(t *testing.T, status int, body string) (string, *atomic.Int64) {
	requests := new(atomic.Int64)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts.URL[strings.LastIndexByte(ts.URL, ':')+1:], requests
}

// TestE2EEveryUserRefusedStops: a 400 that bisection pins on every user of
// the run's first batch is a mapping or account problem: the run stops with
// exit 2 quoting Insider's message, and rejects nothing.
func TestE2EEveryUserRefusedStops(t *testing.T) {
	port, requests := answerEvery(t, http.StatusBadRequest, `{"success": false, "message": "Partner is invalid."}`)
	d := genE2E(t, time.Now(), 15, 40, false)
	e := newE2EEnv(t, d, &fake{Port: port}, 40, 1, 1000)
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 2, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	t.Logf("exit %d: %s", res.Code, lastLine(res.Stderr))
	assert.Contains(t, res.Stderr, "Partner is invalid.")
	assert.Contains(t, res.Stderr, "refuses the run's users")
	assert.Contains(t, res.Stderr, "3 users refused one by one")
	// The path to user 1 (6 requests), user 2, then users 3-5 and 3.
	assert.LessOrEqual(t, requests.Load(), int64(9), "it stops at the third user refused alone")
	rep := readReport(t, e.report)
	assert.Zero(t, rep.UsersRejected, "nothing is marked rejected: fix and run again")
}

// TestE2E413ToEveryRequestStops: an endpoint that answers 413 to every
// request, however small, is not bisected down to every single user: the
// second single user answered 413 before any user was delivered stops the
// run, exit 2, rejecting nothing.
func TestE2E413ToEveryRequestStops(t *testing.T) {
	port, requests := answerEvery(t, http.StatusRequestEntityTooLarge, "<html><body>413 Request Entity Too Large</body></html>")
	d := genE2E(t, time.Now(), 17, 400, false)
	e := newE2EEnv(t, d, &fake{Port: port}, 100, 1, 1000)
	res := runImport(t, []string{"INSIDER_API_KEY=" + testKey}, e.args()...)
	require.Equal(t, 2, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	t.Logf("exit %d after %d requests: %s", res.Code, requests.Load(), lastLine(res.Stderr))
	assert.Contains(t, res.Stderr, "refuses every request")
	// 100 users: 7 halvings to user 1, then user 2.
	assert.LessOrEqual(t, requests.Load(), int64(9))
	rep := readReport(t, e.report)
	assert.Zero(t, rep.UsersRejected, "nothing is marked rejected")
}

// lastLine is the last non-empty line of s: the binary's final message.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

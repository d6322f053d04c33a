package importer

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
)

// throttleFigures is what a run against a rate-limited stand-in measured.
type throttleFigures struct {
	requests, throttled int
	duration            time.Duration
	settledRate         float64 // accepted requests/s from the answer n/4 to the one 9n/10
}

func (f throttleFigures) String() string {
	return fmt.Sprintf("%d requests in %.1fs, %d answered 429 (%.1f%%), %.2f req/s accepted once settled",
		f.requests, f.duration.Seconds(), f.throttled, 100*float64(f.throttled)/float64(f.requests), f.settledRate)
}

// limiter is a server's rate limit: allow says whether a request arriving
// at now passes and, if not, when one would (the Retry-After).
type limiter interface {
	allow(now time.Time) (bool, time.Duration)
}

// bucket is a token bucket, golang.org/x/time/rate's: what API gateways and
// nginx limit_req do.
type bucket struct{ *rate.Limiter }

func (b bucket) allow(now time.Time) (bool, time.Duration) {
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// fixedWindow lets n requests through per window of length per (per
// second, per minute, ...): a counter reset at each window's start. The
// windows count from the limiter's creation, so a run crosses the same
// number of them whatever the wall clock says.
type fixedWindow struct {
	n      int
	per    time.Duration
	origin time.Time
	window int64
	count  int
}

func newFixedWindow(n int, per time.Duration) *fixedWindow {
	return &fixedWindow{n: n, per: per, origin: time.Now()}
}

func (f *fixedWindow) allow(now time.Time) (bool, time.Duration) {
	if w := int64(now.Sub(f.origin) / f.per); w != f.window {
		f.window, f.count = w, 0
	}
	if f.count >= f.n {
		return false, f.origin.Add(time.Duration(f.window+1) * f.per).Sub(now)
	}
	f.count++
	return true, 0
}

// slidingLog lets n requests through in any window of length per: a log of
// the times of the requests it let through.
type slidingLog struct {
	n   int
	per time.Duration
	log []time.Time
}

func (s *slidingLog) allow(now time.Time) (bool, time.Duration) {
	for len(s.log) > 0 && !s.log[0].After(now.Add(-s.per)) {
		s.log = s.log[1:]
	}
	if len(s.log) >= s.n {
		return false, s.log[0].Add(s.per).Sub(now)
	}
	s.log = append(s.log, now)
	return true, 0
}

// throttleRun is one import of nReq batches with delivery.requests_per_second
// 1000 and 8 workers against the stand-in behind a limiter. Its setup needs
// t; run may go on any goroutine.
type throttleRun struct {
	name  string
	limit float64 // the requests/s the limiter allows on average
	nReq  int
	cfg   *Config
	mu    sync.Mutex
	times []time.Time // of the answers 200
	fig   throttleFigures
	err   error
}

const usersPerBatch = 1 // little CPU per request: the test measures pacing, not mapping

// A nil lim is the stand-in's own throttle (fakeapi.Options.Throttle): a
// token bucket holding a second's worth, answering 429 with Retry-After: 1.
func newThrottleRun(t *testing.T, name string, limit float64, lim limiter, retryAfter bool, nReq int) *throttleRun {
	tr := &throttleRun{name: name, limit: limit, nReq: nReq}
	opts := fakeapi.Options{Token: testKey}
	if lim == nil {
		opts.Throttle = limit
	}
	srv := fakeapi.New(opts)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.fig.requests++
		if lim != nil {
			if ok, after := lim.allow(time.Now()); !ok {
				tr.fig.throttled++
				if retryAfter {
					w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(after.Seconds())), 10))
				}
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
		}
		rw := &statusWriter{ResponseWriter: w}
		srv.ServeHTTP(rw, r)
		switch rw.status {
		case http.StatusOK, 0:
			tr.times = append(tr.times, time.Now())
		case http.StatusTooManyRequests:
			tr.fig.throttled++
		}
	}))
	t.Cleanup(ts.Close)
	p := genCSV(t, t.TempDir(), "a.csv", nReq*usersPerBatch*2, time.Now())
	tr.cfg = testConfig(t, ts.URL+upsert.Path, []string{p}, "")
	tr.cfg.Delivery.BatchUsers, tr.cfg.Delivery.Workers, tr.cfg.Delivery.RequestsPerSecond = usersPerBatch, 8, 1000
	return tr
}

func (tr *throttleRun) run() {
	start := time.Now()
	rep, err := Run(context.Background(), tr.cfg, Options{APIKey: testKey})
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.fig.duration = time.Since(start)
	n, acc := tr.nReq, tr.times
	switch {
	case err != nil:
		tr.err = err
	case rep.UsersAccepted != int64(n*usersPerBatch) || len(acc) != n:
		tr.err = fmt.Errorf("%d users accepted in %d requests, want %d in %d", rep.UsersAccepted, len(acc), n*usersPerBatch, n)
	default:
		slices.SortFunc(acc, func(a, b time.Time) int { return a.Compare(b) })
		// Settled: from the answer a quarter in to the one nine tenths in;
		// the last tenth is the run's tail, where a request held by its
		// Retry-After can end the run alone.
		i, j := n/4, n*9/10
		tr.fig.settledRate = float64(j-i) / acc[j].Sub(acc[i]).Seconds()
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// TestThrottlingConverges runs imports against limiters that are not the
// stand-in's own: golang.org/x/time/rate token buckets with a burst of 1 and
// 20, fixed windows of a second, 10 seconds and a minute, and a sliding log,
// each with and without Retry-After, all at once (the test takes as long as
// the slowest, the per-minute window: about 70s). The goals: 100
// batches at 5 req/s burst 1 in 30s or less (ideal 20s); at 20 req/s, 90%
// or more of the allowed rate once settled; at most 5% of requests answered
// 429 in the per-second cases and 10% in the others, the per-minute one
// included, and every run finishes without giving up.
// IMPORTER_THROTTLE_CASES, a regular expression, picks cases by name.
func TestThrottlingConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 70s")
	}
	type tcase struct {
		name    string
		limit   float64 // requests/s allowed on average
		lim     func() limiter
		nReq    int
		maxTime time.Duration // 0: no bound
		rate    float64       // share of limit once settled (0: not judged: a window's burst)
		share   float64       // most 429s allowed, as a share of the requests
	}
	cases := []tcase{
		{"token bucket 5/s burst 1", 5, func() limiter { return bucket{rate.NewLimiter(5, 1)} }, 100, 30 * time.Second, 0.8, 0.05},
		{"token bucket 20/s burst 20", 20, func() limiter { return bucket{rate.NewLimiter(20, 20)} }, 400, 0, 0.9, 0.05},
		{"the stand-in's token bucket 20/s burst 20", 20, func() limiter { return nil }, 400, 0, 0.9, 0.05},
		{"fixed window 20 per second", 20, func() limiter { return newFixedWindow(20, time.Second) }, 400, 0, 0.9, 0.05},
		{"sliding log 20 per second", 20, func() limiter { return &slidingLog{n: 20, per: time.Second} }, 400, 0, 0.9, 0.05},
		{"fixed window 100 per 10s", 10, func() limiter { return newFixedWindow(100, 10*time.Second) }, 250, 0, 0, 0.1},
		// Insider's limits are per minute. Long: two minutes' windows.
		{"fixed window 120 per minute", 2, func() limiter { return newFixedWindow(120, time.Minute) }, 200, 0, 0, 0.1},
	}
	if s := os.Getenv("IMPORTER_THROTTLE_CASES"); s != "" {
		re := regexp.MustCompile(s)
		cases = slices.DeleteFunc(cases, func(c tcase) bool { return !re.MatchString(c.name) })
	}
	var runs []*throttleRun
	var want []tcase
	var wg sync.WaitGroup
	for _, c := range cases {
		for _, ra := range []bool{false, true} {
			lim := c.lim()
			if lim == nil && !ra {
				continue // the stand-in always sends Retry-After
			}
			tr := newThrottleRun(t, fmt.Sprintf("%s, Retry-After %v", c.name, ra), c.limit, lim, ra, c.nReq)
			runs, want = append(runs, tr), append(want, c)
			wg.Go(tr.run)
		}
	}
	late, worst := schedulingDelay(&wg)
	t.Logf("timer delays during the runs: %v at the 90th percentile, %v at the 99th", late, worst)
	// A limit with no burst counts arrivals: when the machine delays
	// goroutines by tens of milliseconds (make test runs every package at
	// once, under -race, on 2 shared cores), requests paced below the limit
	// arrive bunched and draw 429s no client can avoid. The goals are then
	// out of reach for any pacing; the bounds loosen to catch only a pacer
	// that does not converge.
	// The race detector slows every goroutine several times and unevenly:
	// under it the bounds are the loose ones (make test also runs this test
	// without it, where the goals hold as stated).
	loaded := raceEnabled || late > 2*time.Millisecond || worst > 20*time.Millisecond
	if late > 5*time.Millisecond || worst > 50*time.Millisecond {
		// Timers tens of milliseconds late at the 90th percentile: no
		// pacing can be judged. Every run must still finish.
		t.Logf("the machine is too loaded to judge pacing: only checking that every import finished")
		for _, r := range runs {
			assert.NoError(t, r.err, r.name)
			t.Logf("%s: %v", r.name, r.fig)
		}
		return
	}
	if loaded {
		t.Logf("under -race, or with timers delayed too much to pace evenly: 429 shares doubled, rates at 70%%, times 1.5×")
	}
	for i, r := range runs {
		c := want[i]
		t.Run(r.name, func(t *testing.T) {
			require.NoError(t, r.err)
			t.Logf("%s: %v (%.0f%% of the limit)", r.name, r.fig, 100*r.fig.settledRate/c.limit)
			share, least := c.share, c.rate
			if loaded {
				share, least = 2*share, min(least, 0.7)
			}
			if c.maxTime > 0 {
				limit := c.maxTime
				if loaded {
					limit = limit * 3 / 2
				}
				assert.LessOrEqual(t, r.fig.duration, limit)
			}
			if least > 0 {
				assert.GreaterOrEqual(t, r.fig.settledRate, least*c.limit, "at least %.0f%% of the allowed rate once settled", 100*least)
			}
			assert.LessOrEqual(t, float64(r.fig.throttled), share*float64(r.fig.requests), "at most %.0f%% of requests answered 429", 100*share)
		})
	}
}

// schedulingDelay waits for wg and returns the 90th and 99th percentiles of
// how late a 10ms timer fired meanwhile: how loaded the machine was.
func schedulingDelay(wg *sync.WaitGroup) (p90, p99 time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var late []time.Duration
	for {
		t0 := time.Now()
		select {
		case <-done:
			if len(late) == 0 {
				return 0, 0
			}
			slices.Sort(late)
			return late[len(late)*9/10], late[len(late)*99/100]
		case <-time.After(10 * time.Millisecond):
			late = append(late, time.Since(t0)-10*time.Millisecond)
		}
	}
}

package delivery

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"
)

// pacer is the request rate shared by every worker. Its one idea is AIMD
// in time, the shape of TCP CUBIC and the AWS SDK's adaptive retry: a 429
// cuts the rate to 70%; time without one brings it back, doubling every
// second up to 90% of the rate the cut saw passing, then growing as the
// cube of the time spent there (+10% after 6 s, twice after 13 s) to find
// the limit again, or to leave a cut that saw too little. So it settles
// just under any limiter (token bucket, fixed or sliding window), and one
// 429 costs a second of growth, not the run. The rest follows from it:
//
//   - What a cut saw passing is the rate asked, unless the successes of
//     the last second came further apart (workers that cannot keep up),
//     and then never less than half of it. Before the first 429,
//     as TCP's slow start, the rate starts at pacerStart and grows by half
//     a success; the rate before the last step is what passed.
//   - A 429 with no success since the last cut means the server's window
//     is full: it halves the rate, keeping what passed, so probes space
//     out as a backoff would, and a Retry-After above a second holds every
//     start. Growth counts from the last success or cut: the first success
//     after the window reopens brings the rate straight back.
//   - Requests start one at a time, 1/rate after the real start of the one
//     before: a worker woken late does not bunch the next ones up.
type pacer struct {
	max  float64       // delivery.requests_per_second (per shard)
	turn chan struct{} // held by the request waiting for its start
	wake chan struct{} // a success raised the rate: the waiting request looks again

	mu         sync.Mutex
	rate, seen float64     // now, and what the last cut saw pass (+Inf: no cut yet)
	last, hold time.Time   // the last start (less pacerSlack); no start before hold
	cut, grown time.Time   // the last cut; the last success or cut (growth counts from it)
	banded     time.Time   // when the rate came back to the band after the last cut
	okCut      bool        // a request started after the last cut succeeded
	oks        []time.Time // the successes of the last second
	lastOK     time.Time   // the last success, or the start
}

const (
	pacerStart     = 10                   // req/s at first
	pacerStartGrow = 1.5                  // growth a success until the first 429
	pacerMin       = 1.0 / 30             // one request per 30 s at the lowest
	pacerBand      = 0.9                  // fast growth up to this share of what passed
	pacerCubic     = 0.0005               // then it grows by this times the cube of the seconds there
	pacerCut       = 0.7                  // a 429 cuts the rate to this share
	pacerSlack     = 2 * time.Millisecond // a start this late counts as on time
)

func newPacer(rps float64, now time.Time) *pacer {
	return &pacer{max: rps, rate: min(rps, pacerStart), seen: math.Inf(1), grown: now, lastOK: now,
		turn: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
}

// wait blocks until a request may start and returns the start time, which
// the answer is judged by.
func (p *pacer) wait(ctx context.Context) (time.Time, error) {
	select {
	case p.turn <- struct{}{}:
		defer func() { <-p.turn }()
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	for {
		p.mu.Lock()
		now := time.Now()
		every := time.Duration(float64(time.Second) / p.rate)
		at := maxTime(p.last.Add(every), p.hold)
		// A twentieth of the interval early is on time, not worth a timer.
		if at.Sub(now) <= min(every/20, pacerSlack/2) {
			p.last = maxTime(at, now.Add(-pacerSlack))
			p.mu.Unlock()
			return now, nil
		}
		p.mu.Unlock()
		t := time.NewTimer(at.Sub(now))
		select { // then look again
		case <-ctx.Done():
			t.Stop()
			return time.Time{}, ctx.Err()
		case <-t.C:
		case <-p.wake: // a success raised the rate
			t.Stop()
		}
	}
}

// success records an accepted request started at start.
func (p *pacer) success(start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.lastOK = now
	if !start.After(p.cut) {
		return // its rate was judged by the cut
	}
	p.okCut = true
	p.oks = append(p.oks[sinceSecond(p.oks, now):], now)
	band := pacerBand * p.seen
	switch {
	case p.cut.IsZero():
		p.rate *= pacerStartGrow
	case p.rate < band:
		p.rate = min(band, p.rate*math.Exp2(now.Sub(p.grown).Seconds()))
		if p.rate == band {
			p.banded = now
		}
	default: // CUBIC's convex part: +10% after 6 s at the band, twice after 13 s
		t := now.Sub(p.banded).Seconds()
		p.rate = band * (1 + pacerCubic*t*t*t)
	}
	p.rate, p.grown = min(p.rate, p.max), now
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// throttled records a 429 to a request started at start, with the answer's
// Retry-After (0 if none).
func (p *pacer) throttled(start time.Time, after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !start.After(p.cut) {
		return // the last cut answered it
	}
	now := time.Now()
	full := !p.okCut && !p.cut.IsZero()
	if full {
		p.rate /= 2
	} else {
		// The successes of the last second came this far apart.
		passed, ok := math.Inf(1), p.oks[sinceSecond(p.oks, now):]
		if n := len(ok); n > 1 {
			passed = float64(n-1) / ok[n-1].Sub(ok[0]).Seconds()
		}
		p.seen = p.rate
		if p.cut.IsZero() {
			p.seen /= pacerStartGrow // the rate before the last step passed
		}
		if passed < pacerBand*p.seen {
			p.seen = max(passed, p.seen/2) // a short or stalled second counts little
		}
		p.rate = p.seen * pacerCut
	}
	p.rate = max(pacerMin, p.rate)
	p.hold = now.Add(time.Duration(float64(time.Second) / p.rate))
	if full && after > time.Second {
		p.hold = maxTime(p.hold, now.Add(after)) // a window longer than a second
	}
	p.cut, p.grown, p.okCut = now, now, false
}

// sinceOK is how long ago the last request succeeded (or the run started).
func (p *pacer) sinceOK() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.lastOK)
}

// current is the rate now, for tests and progress.
func (p *pacer) current() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sinceSecond is the index of the first of ts within a second before now.
func sinceSecond(ts []time.Time, now time.Time) int {
	return sort.Search(len(ts), func(i int) bool { return now.Sub(ts[i]) <= time.Second })
}

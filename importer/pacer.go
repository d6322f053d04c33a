package importer

import (
	"context"
	"math"
	"sync"
	"time"
)

// pacer is the request rate shared by every worker; requests start 1/rate
// apart, one at a time, counted from the real start of the one before (a
// worker woken late does not bunch the next ones up). Its one idea is AIMD
// in time, the shape of TCP CUBIC and the AWS SDK's adaptive retry: a 429
// cuts the rate to 70%; time without one brings it back, doubling every
// second up to 90% of the rate the cut saw passing, then 0.2% of that a
// success to find the limit again. So it settles just under any limiter
// (token bucket, fixed or sliding window), and one 429 costs a second of
// growth, not the run. What passed is the rate asked, unless the last
// second's successes were far fewer (a start that overshot, a window's
// burst); before the first 429 nothing bounds it: slow start from
// pacerStart. A 429 with
// no success since the last cut means the server's window is full: it
// halves the rate, keeping what passed, so probes space out as a backoff
// would, and a Retry-After above a second holds every start; growth counts
// from the last success or cut, so the first success after the window
// reopens brings the rate straight back.
type pacer struct {
	max  float64       // delivery.requests_per_second (per shard)
	turn chan struct{} // held by the request waiting for its start

	mu         sync.Mutex
	rate, seen float64     // now, and what the last cut saw pass (+Inf: no cut yet)
	last, hold time.Time   // the last start (less pacerSlack); no start before hold
	cut, grown time.Time   // the last cut; the last success or cut (growth counts from it)
	okCut      bool        // a request started after the last cut succeeded
	oks        []time.Time // the successes of the last second
	begin      time.Time   // the first start
	lastOK     time.Time   // the last success, or the start
}

const (
	pacerStart = 10                   // req/s before the first 429
	pacerMin   = 1.0 / 30             // one request per 30 s at the lowest
	pacerBand  = 0.9                  // fast growth up to this share of what passed
	pacerProbe = 0.002                // then this share of it a success
	pacerCut   = 0.7                  // a 429 cuts the rate to this share
	pacerSlack = 2 * time.Millisecond // a start this late counts as on time
)

func newPacer(rps float64, now time.Time) *pacer {
	return &pacer{max: rps, rate: min(rps, pacerStart), seen: math.Inf(1), grown: now, lastOK: now, turn: make(chan struct{}, 1)}
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
		at := maxTime(p.last.Add(time.Duration(float64(time.Second)/p.rate)), p.hold)
		if !at.After(now) {
			p.last = maxTime(at, now.Add(-pacerSlack))
			if p.begin.IsZero() {
				p.begin = now
			}
			p.mu.Unlock()
			return now, nil
		}
		p.mu.Unlock()
		// Look again within a second: a success may have raised the rate.
		if err := sleepCtx(ctx, min(at.Sub(now), time.Second)); err != nil {
			return time.Time{}, err
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
	p.oks = append(trimBefore(p.oks, now.Add(-time.Second)), now)
	if band := pacerBand * p.seen; p.rate < band {
		p.rate = min(band, p.rate*math.Exp2(now.Sub(p.grown).Seconds()))
	} else {
		p.rate += pacerProbe * p.seen
	}
	p.rate, p.grown = min(p.rate, p.max), now
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
		p.oks = trimBefore(p.oks, now.Add(-time.Second))
		passed := float64(len(p.oks)+1) / min(1, now.Sub(p.begin).Seconds())
		p.seen = p.rate
		if passed < pacerBand*p.rate {
			p.seen = max(passed, p.rate/2)
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

func trimBefore(ts []time.Time, t time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(t) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

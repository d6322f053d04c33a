package delivery

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/insider-import/insider-import/internal/ctxsleep"
)

// pacer is the request rate shared by every worker. Its one idea: pace
// just under what the server let through in the second before its last
// 429. Asked for more than their limit, token buckets and fixed or sliding
// windows all pass about their limit in a second, so a 429 cuts the rate to
// 70% of the successes per second since a second before it (or since the
// last cut, if nearer) plus its own slot, at most the rate asked and at
// least half of it or of the last measure (a stalled second counts little).
// Time without a 429 brings the rate back, doubling each second up to 95%
// of what passed, then growing as the cube of the time spent there (CUBIC,
// as in the AWS SDK's adaptive retry: +10% after 6 s) to find a limit that
// rose. Before the first 429 the rate starts at 10/s and grows by half a
// success (slow start).
//
// A 429 with no success since the last cut means the window is full: the
// rate halves each time, a backoff of probes, and a Retry-After above a
// second holds every start.
type pacer struct {
	max  float64        // delivery.requests_per_second (per shard)
	now  func() float64 // seconds since the pacer was made
	turn chan struct{}  // held by the request waiting for its start: starts go in turn

	mu               sync.Mutex
	rate, seen, last float64   // now; what passed at the last cut (10 at first); the last start
	cut, grown       float64   // the last cut (-Inf: none yet); the last success or cut
	ok, grew         float64   // the last success; when the rate came back to the band
	oks              []float64 // the successes of the last second
}

func newPacer(rps float64, t0 time.Time) *pacer {
	return &pacer{max: rps, rate: min(rps, 10), seen: 10, cut: math.Inf(-1), last: math.Inf(-1),
		now: func() float64 { return time.Since(t0).Seconds() }, turn: make(chan struct{}, 1)}
}

// wait blocks until a request may start and returns its start, which the
// answer is judged by.
func (p *pacer) wait(ctx context.Context) (float64, error) {
	select {
	case p.turn <- struct{}{}:
		defer func() { <-p.turn }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for {
		now := p.now()
		d := p.reserve(now)
		if d <= 0 {
			return now, nil
		}
		// Look again within 50 ms: a success may have raised the rate.
		if err := ctxsleep.Sleep(ctx, time.Duration(min(d, 0.05)*1e9)); err != nil {
			return 0, err
		}
	}
}

// reserve takes the next start if it is due at now, else returns the
// seconds until it is. Each start is 1/rate after the real start of the
// one before: a worker woken late bunches none up.
func (p *pacer) reserve(now float64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at := p.last + 1/p.rate; at > now {
		return at - now
	}
	p.last = max(p.last+1/p.rate, now-0.002) // a start 2 ms late is on time
	return 0
}

// success records an accepted request started at start.
func (p *pacer) success(start float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.ok, p.oks = now, append(p.oks[sort.SearchFloat64s(p.oks, now-1):], now)
	band := 0.95 * p.seen
	switch {
	case start <= p.cut: // its rate was judged by the cut
		return
	case math.IsInf(p.cut, -1):
		p.rate *= 1.5
	case p.rate < band:
		p.rate, p.grew = min(band, p.rate*math.Exp2(now-p.grown)), now
	default:
		t := now - p.grew
		p.rate = band * (1 + 0.0005*t*t*t)
	}
	p.rate, p.grown = min(p.rate, p.max), now
}

// throttled records a 429 to a request started at start, with the answer's
// Retry-After (0 if none).
func (p *pacer) throttled(start float64, after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now, full := p.now(), p.grown == p.cut
	switch {
	case start <= p.cut: // the last cut answered it
		return
	case full:
		p.rate /= 2
	default:
		// The successes of the last second (or since the last cut, if that is
		// nearer: its dip measures nothing) and its own slot, per second.
		since := max(now-1, p.cut)
		passed := float64(len(p.oks)-sort.SearchFloat64s(p.oks, since)+1) / (now - since)
		p.seen = max(min(p.rate, passed), min(p.rate, p.seen)/2)
		p.rate = 0.7 * p.seen
	}
	p.rate = max(1.0/30, p.rate) // a request every 30 s at the least
	p.last, p.cut, p.grown = now, now, now
	if full && after > time.Second { // a window longer than a second
		p.last = max(now, now+after.Seconds()-1/p.rate)
	}
}

// sinceOK is how long ago the last request succeeded (or the run started).
func (p *pacer) sinceOK() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration((p.now() - p.ok) * 1e9)
}

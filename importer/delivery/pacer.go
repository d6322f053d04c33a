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
// windows all pass about their limit in a second, so a 429 measures the
// successes per second since a second before it (or the last cut, if
// nearer) plus its own slot, at most the rate asked and at least half of it
// or of the last measure, and cuts the rate to 70% of that. t seconds after
// the next success, the rate is the measure × (0.95 + 0.0004·t³): just
// under it, back at it after 5 s, then convex (CUBIC, as in the AWS SDK's
// adaptive retry) to find a limit that rose. Before the first 429 the rate
// starts at 10/s and triples with each success. A 429 with no success since
// the cut means a full window: the rate halves each time, a backoff of
// probes; a Retry-After above a second holds every start until it ends.
type pacer struct {
	max  float64        // delivery.requests_per_second (per shard)
	now  func() float64 // seconds since the pacer was made
	turn sync.Mutex     // held by the request waiting for its start: starts go in turn

	mu               sync.Mutex
	rate, seen, last float64       // now; the last cut's measure (10 at first); the last start
	cut, from        float64       // the last cut (-Inf: none); the first success since (+Inf: none)
	oks              []float64     // when the successes of the last second came, the last one last (at first 0)
	rose             chan struct{} // closed when the rate rises, for the start waiting (wait)
}

func newPacer(rps float64, t0 time.Time) *pacer {
	return &pacer{max: rps, rate: min(rps, 10), seen: 10, cut: math.Inf(-1), last: math.Inf(-1), oks: []float64{0},
		rose: make(chan struct{}), now: func() float64 { return time.Since(t0).Seconds() }}
}

// wait blocks until a request may start and returns its start, which the
// answer is judged by.
func (p *pacer) wait(ctx context.Context) (float64, error) {
	p.turn.Lock()
	defer p.turn.Unlock()
	for {
		now := p.now()
		d, rose := p.reserve(now)
		// Look again once a success raises the rate (in the slow start,
		// each one does), within 50 ms at the latest.
		if err := ctxsleep.SleepOr(ctx, time.Duration(min(d, 0.05)*1e9), rose); d <= 0 || err != nil {
			return now, err
		}
	}
}

// reserve takes the next start if due at now, else returns the seconds until
// it is: 1/rate after the real start before, so a late worker bunches none up.
// rose is closed once the rate rises (success).
func (p *pacer) reserve(now float64) (d float64, rose <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.last + 1/p.rate
	if at <= now {
		p.last = max(at, now-0.002) // a start 2 ms late is on time
	}
	return at - now, p.rose
}

// success records an accepted request started at start.
func (p *pacer) success(start float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.from = min(p.from, now)
	p.oks = append(p.oks[sort.SearchFloat64s(p.oks, now-1):], now)
	was := p.rate
	switch t := now - p.from; {
	case start <= p.cut: // its rate was judged by the cut
	case math.IsInf(p.cut, -1):
		p.rate = min(p.max, p.rate*3)
	default:
		p.rate = min(p.max, p.seen*(0.95+0.0004*t*t*t))
	}
	if p.rate >= 1.1*was { // the slow start's, not the regrowth's small steps
		close(p.rose)
		p.rose = make(chan struct{})
	}
}

// throttled records a 429 to a request started at start, with the answer's
// Retry-After (0 if none).
func (p *pacer) throttled(start float64, after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	switch {
	case start <= p.cut: // the last cut answered it
		return
	case math.IsInf(p.from, 1): // the window is full
		p.rate = max(1.0/30, p.rate/2) // a request every 30 s at the least
	default:
		since := max(now-1, p.cut)
		passed := float64(len(p.oks)-sort.SearchFloat64s(p.oks, since)+1) / (now - since)
		p.seen = max(min(p.rate, passed), min(p.rate, p.seen)/2)
		p.rate = 0.7 * p.seen
	}
	p.last, p.cut, p.from = now, now, math.Inf(1)
	if after > time.Second { // a window longer than a second: wait for its end
		p.last = max(now, now+after.Seconds()-1/p.rate)
	}
}

// sinceOK is how long ago the last request succeeded (or the run started).
func (p *pacer) sinceOK() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration((p.now() - p.oks[len(p.oks)-1]) * 1e9)
}

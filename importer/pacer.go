package importer

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer is the request rate shared by every worker, AIMD as in TCP's
// congestion avoidance and the AWS SDK's adaptive retry mode: a 429 cuts the
// rate multiplicatively, once per window; each success raises it a little.
//
//   - A cut happens only for a 429 to a request sent after the last cut:
//     the 429s of requests already on the wire say nothing new.
//   - The cut starts from the lower of the current rate and the rate that
//     was measured to pass (successes in the last second) when those differ
//     widely (the first 429 of a run that started far too fast), so one cut
//     lands near the server's limit instead of many.
//   - Growth is per success, not per second, so a cycle between two cuts
//     holds about the same number of requests at 5 req/s as at 100 req/s,
//     which keeps the share of 429s low at any limit. It is fast up to just
//     below the rate of the last cut and slow around it (CUBIC's plateau):
//     the rate settles just under the server's limit.
//   - A 429 to a request sent after a cut, with no success since the cut,
//     means the server's window is still full: every worker pauses until
//     the Retry-After time, or one window, instead of cutting again.
type pacer struct {
	lim *rate.Limiter
	max float64 // delivery.requests_per_second (per shard)

	mu         sync.Mutex
	rate       float64
	ceiling    float64   // the rate of the last cut (0: none yet)
	lastCut    time.Time // zero: none yet
	okSinceCut bool
	pauseUntil time.Time
	pauseEnd   time.Time   // when the last pause ended (successes before it measure nothing)
	recent     []time.Time // success times within the last window
	lastOK     time.Time   // last success, or the start
}

const (
	// pacerWindow is the window a rate limit counts in: requests per second.
	pacerWindow = time.Second
	// pacerBeta is the multiplicative decrease.
	pacerBeta = 0.9
	// pacerFast and pacerSlow are the growth per success, as a fraction of
	// the rate: fast below 97% of the last cut's rate and above 105% of it,
	// slow in between.
	pacerFast = 0.005
	pacerSlow = 0.0004
	// pacerMin is the lowest rate: one request per 20 seconds.
	pacerMin = 0.05
)

func newPacer(rps float64, now time.Time) *pacer {
	return &pacer{lim: rate.NewLimiter(rate.Limit(rps), 1), max: rps, rate: rps, lastOK: now}
}

// wait blocks until a request may start: after any shared pause, at the
// current rate. It returns the start time, which the answer is judged by.
func (p *pacer) wait(ctx context.Context) (time.Time, error) {
	for {
		p.mu.Lock()
		until := p.pauseUntil
		p.mu.Unlock()
		if d := time.Until(until); d > 0 {
			if err := sleepCtx(ctx, d); err != nil {
				return time.Time{}, err
			}
			continue
		}
		if err := p.lim.Wait(ctx); err != nil {
			return time.Time{}, err
		}
		p.mu.Lock()
		now := time.Now()
		paused := now.Before(p.pauseUntil)
		p.mu.Unlock()
		if !paused {
			return now, nil
		}
	}
}

// success records an accepted request started at start.
func (p *pacer) success(start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.lastOK = now
	p.recent = append(trimBefore(p.recent, now.Add(-pacerWindow)), now)
	if start.After(p.lastCut) {
		p.okSinceCut = true
	}
	g := pacerFast
	if p.ceiling > 0 && p.rate >= 0.97*p.ceiling && p.rate <= 1.05*p.ceiling {
		g = pacerSlow
	}
	p.set(min(p.max, p.rate*(1+g)))
}

// throttled records a 429 to a request started at start, with the answer's
// Retry-After (0 if none).
func (p *pacer) throttled(start time.Time, after time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	switch {
	case !p.lastCut.IsZero() && !start.After(p.lastCut):
		// Sent before the last cut: that cut already answered it.
	case !p.lastCut.IsZero() && !p.okSinceCut:
		// The cut has not let anything through yet: the server's window is
		// still full. Wait for it rather than cutting again.
		p.pause(now, max(after, p.lastCut.Add(pacerWindow).Sub(now)))
	default:
		p.recent = trimBefore(p.recent, now.Add(-pacerWindow))
		measured := float64(len(p.recent))
		from := p.rate
		if measured > 0 && measured < 0.7*p.rate && p.pauseEnd.Before(now.Add(-pacerWindow)) {
			// Far more was asked than passed (a run that started too fast,
			// or workers that cannot keep up): what passed is the estimate.
			// The server's window is full of those: let it clear.
			from = measured
			p.pause(now, p.recent[0].Add(pacerWindow).Sub(now))
		}
		p.ceiling = from
		p.lastCut, p.okSinceCut = now, false
		p.set(max(pacerMin, from*pacerBeta))
	}
}

func (p *pacer) pause(now time.Time, d time.Duration) {
	if until := now.Add(d); d > 0 && until.After(p.pauseUntil) {
		p.pauseUntil = until
		p.pauseEnd = until
	}
}

func (p *pacer) set(r float64) {
	if r != p.rate {
		p.rate = r
		p.lim.SetLimit(rate.Limit(r))
	}
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

func trimBefore(ts []time.Time, t time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(t) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

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
//   - The rate starts at 50 req/s (or the configured rate if lower) and,
//     until the first 429, grows 10% per success up to the configured
//     rate, like TCP's slow start: a run that starts far above the
//     server's limit overshoots it by a request or two, not by a pool of
//     workers' worth.
//   - A cut happens only for a 429 to a request sent after the last cut:
//     the 429s of requests already on the wire say nothing new.
//   - The cut starts from the current rate, or from the rate measured to
//     pass (successes in the last second) when that is far lower (the
//     first 429 of a run that started too fast, workers that cannot keep
//     up): one cut lands near the server's limit instead of many. Such a
//     measure can be low, so it sets no slow band: the rate grows fast
//     until the next cut, which starts from a rate that was really asked.
//   - Growth is per success, not per second, so a cycle between two cuts
//     holds about the same number of requests at 5 req/s as at 100 req/s,
//     which keeps the share of 429s low at any limit. It is fast up to just
//     below the last cut's rate and slow around it (CUBIC's plateau), so
//     the rate settles just under the server's limit.
//   - A 429 to a request sent after a cut, with no success since the cut,
//     means the server's window is still full: every worker pauses until
//     the oldest success leaves the window (or until the Retry-After time
//     when that is longer than a window) instead of cutting again.
//     Otherwise Retry-After holds back only the request it answered.
type pacer struct {
	lim *rate.Limiter
	max float64 // delivery.requests_per_second (per shard)

	mu         sync.Mutex
	rate       float64
	ceiling    float64   // the most asked or seen to pass at the last cut (0: none yet)
	lastCut    time.Time // zero: none yet
	okSinceCut bool
	pauseUntil time.Time
	pauseEnd   time.Time   // when the last pause ended (successes before it measure nothing)
	recent     []time.Time // success times within the last window
	lastOK     time.Time   // last success, or the start
	// slowStart: no 429 yet; the rate starts low and grows by
	// pacerSlowStart per success up to max, as TCP's slow start, so a run
	// that starts far above the server's limit overshoots it by a few
	// requests, not by a worker pool's worth.
	slowStart bool
	// measuredCut: the last cut started from the measured rate; successes
	// of requests sent within the window before it, answered after it,
	// belong to that measure and raise it.
	measuredCut bool
	cutMeasure  float64 // what it measured, raised by late successes
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
	pacerSlow = 0.0002
	// pacerMin is the lowest rate: one request per 20 seconds.
	pacerMin = 0.05
	// pacerStart and pacerSlowStart: the first rate (if max is higher) and
	// its growth per success until the first 429.
	pacerStart     = 50
	pacerSlowStart = 0.1
)

func newPacer(rps float64, now time.Time) *pacer {
	r := min(rps, pacerStart)
	return &pacer{lim: rate.NewLimiter(rate.Limit(r), 1), max: rps, rate: r, lastOK: now, slowStart: true}
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
	} else if p.measuredCut && start.After(p.lastCut.Add(-pacerWindow)) {
		// Passed in the window the last cut measured.
		p.cutMeasure++
		p.set(max(p.rate, p.cutMeasure*pacerBeta))
		return
	}
	g := pacerFast
	switch {
	case p.slowStart:
		g = pacerSlowStart
	case p.ceiling > 0 && p.rate >= 0.97*p.ceiling && p.rate <= 1.05*p.ceiling:
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
		p.recent = trimBefore(p.recent, now.Add(-pacerWindow))
		wait := pacerWindow
		if len(p.recent) > 0 {
			wait = p.recent[0].Add(pacerWindow).Sub(now) // the oldest leaves the window
		}
		if after > pacerWindow {
			wait = max(wait, after) // longer than a rate window: the server says stop
		}
		p.pause(now, wait)
	default:
		p.recent = trimBefore(p.recent, now.Add(-pacerWindow))
		measured := float64(len(p.recent))
		from := p.rate
		p.slowStart, p.measuredCut = false, false
		if measured > 0 && measured < 0.7*p.rate && p.pauseEnd.Before(now.Add(-pacerWindow)) {
			// Far more was asked than passed (a run that started too fast,
			// or workers that cannot keep up): what passed is the estimate.
			// The server's window is full of those: let it clear.
			from, p.measuredCut = measured, true
			p.pause(now, p.recent[0].Add(pacerWindow).Sub(now))
		}
		if !p.measuredCut && measured > 0 {
			// The measure may lower the cut's start a little: the rate
			// asked for can be above what passed. It is a count over one
			// window, so off by one at low rates: never more than 5%.
			from = min(from, max(measured, 0.95*from))
		}
		// The slow band sits at the most that was asked or seen to pass;
		// after a cut from the measure there is none until the next cut: a
		// pipeline still warming up, or a burst, can make the measure low.
		p.ceiling = max(from, measured)
		if p.measuredCut {
			p.ceiling, p.cutMeasure = 0, measured
		}
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

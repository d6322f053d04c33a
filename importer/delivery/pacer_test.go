package delivery

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The pacer on a fake clock, one request at a time answered in 1 ms and
// started up to 2 ms late, against a token bucket with no burst, a fixed
// window and a sliding log: whatever the limiter, it settles at 90% of the
// limit or more with at most 5% 429s, and one early 429 does not pin it;
// against a window of a minute (no Retry-After) its probes back off to at
// most 10% 429s and every window is used. The idea of pacer.go, checked in
// a moment; TestThrottlingConverges in importer holds the whole import to
// it against real limiters.
func TestPacerSettlesUnderEveryLimiter(t *testing.T) {
	for _, c := range []struct {
		name         string
		limit, least float64 // the limit (req/s); the share of it to reach from 10 s on
		share        float64 // most 429s allowed, as a share of the requests
		allow        func() func(now float64) bool
	}{
		{"token bucket 5/s burst 1", 5, 0.9, 0.05, func() func(float64) bool {
			next := 0.0
			return func(now float64) bool {
				if now < next {
					return false
				}
				next = now + 0.2
				return true
			}
		}},
		{"fixed window 20 per second", 20, 0.9, 0.05, fixedWindow(20, 1)},
		{"fixed window 120 per minute", 2, 0.9, 0.1, fixedWindow(120, 60)},
		{"sliding log 20 per second", 20, 0.9, 0.05, func() func(float64) bool {
			var log []float64
			return func(now float64) bool {
				for len(log) > 0 && log[0] <= now-1 {
					log = log[1:]
				}
				if len(log) >= 20 {
					return false
				}
				log = append(log, now)
				return true
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var clock float64
			p := newPacer(1000, time.Now())
			p.now = func() float64 { return clock }
			allow, rng := c.allow(), rand.New(rand.NewPCG(1, 2))
			requests, throttled, settled := 0, 0, 0
			for clock < 190 {
				if d := p.reserve(clock); d > 0 {
					clock += d + rng.Float64()*0.002
					continue
				}
				start, ok := clock, allow(clock)
				clock += 0.001
				requests++
				switch {
				case !ok:
					throttled++
					p.throttled(start, 0)
				case start >= 10:
					settled++
					fallthrough
				default:
					p.success(start)
				}
			}
			t.Logf("%d requests, %d answered 429, %.2f/s accepted from 10 s on", requests, throttled, float64(settled)/180)
			assert.GreaterOrEqual(t, float64(settled)/180, c.least*c.limit, "the rate from 10 s on")
			assert.LessOrEqual(t, float64(throttled), c.share*float64(requests), "429s")
		})
	}
}

// fixedWindow lets n requests through per window of per seconds.
func fixedWindow(n int, per float64) func() func(float64) bool {
	return func() func(float64) bool {
		window, count := 0.0, 0
		return func(now float64) bool {
			if w := math.Floor(now / per); w != window {
				window, count = w, 0
			}
			count++
			return count <= n
		}
	}
}

// current is the rate now.
func (p *pacer) current() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}

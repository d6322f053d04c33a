package delivery

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pacer on a fake clock, one request at a time answered in 1 ms and
// started up to 2 ms late, against a token bucket with no burst, a fixed
// window and a sliding log, each with and without Retry-After (whole
// seconds, as servers send it): whatever the limiter, it settles at 90% of
// the limit or more with at most 5% 429s, and one early 429 does not pin
// it; against a window of a minute its probes back off (or wait for the
// Retry-After) to at most 10% 429s and every window is used. The idea of
// pacer.go, checked in a moment; TestThrottlingConverges in importer holds
// the whole import to it against real limiters.
func TestPacerSettlesUnderEveryLimiter(t *testing.T) {
	for _, c := range []struct {
		name         string
		limit, least float64 // the limit (req/s); the share of it to reach from 10 s on
		share        float64 // most 429s allowed, as a share of the requests
		// allow says how long until a request at now would pass: 0 if it does.
		allow func() func(now float64) float64
	}{
		{"token bucket 5/s burst 1", 5, 0.9, 0.05, func() func(float64) float64 {
			next := 0.0
			return func(now float64) float64 {
				if now < next {
					return next - now
				}
				next = now + 0.2
				return 0
			}
		}},
		{"fixed window 20 per second", 20, 0.9, 0.05, fixedWindow(20, 1)},
		{"fixed window 120 per minute", 2, 0.9, 0.1, fixedWindow(120, 60)},
		{"sliding log 20 per second", 20, 0.9, 0.05, func() func(float64) float64 {
			var log []float64
			return func(now float64) float64 {
				for len(log) > 0 && log[0] <= now-1 {
					log = log[1:]
				}
				if len(log) >= 20 {
					return log[0] + 1 - now
				}
				log = append(log, now)
				return 0
			}
		}},
	} {
		for _, retryAfter := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, Retry-After %v", c.name, retryAfter), func(t *testing.T) {
				var clock float64
				p := newPacer(1000, time.Now())
				p.now = func() float64 { return clock }
				allow, rng := c.allow(), rand.New(rand.NewPCG(1, 2))
				requests, throttled, settled := 0, 0, 0
				for clock < 190 {
					if d, _ := p.reserve(clock); d > 0 {
						clock += d + rng.Float64()*0.002
						continue
					}
					start, until := clock, allow(clock)
					clock += 0.001
					requests++
					switch {
					case until > 0:
						throttled++
						after := 0.0
						if retryAfter {
							after = math.Ceil(until)
						}
						p.throttled(start, time.Duration(after*float64(time.Second)))
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
}

// fixedWindow lets n requests through per window of per seconds.
func fixedWindow(n int, per float64) func() func(float64) float64 {
	return func() func(float64) float64 {
		window, count := 0.0, 0
		return func(now float64) float64 {
			if w := math.Floor(now / per); w != window {
				window, count = w, 0
			}
			if count++; count <= n {
				return 0
			}
			return (window+1)*per - now
		}
	}
}

// current is the rate now.
func (p *pacer) current() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}

// In the slow start each success raises the rate: the start waiting for
// its turn at the old rate is woken to start at the new one, not after a
// poll (in the pair, 30 ms of a run's first 80).
func TestPacerWakesTheWaitingStartOnARise(t *testing.T) {
	clock := 0.0
	p := newPacer(1000, time.Now())
	p.now = func() float64 { return clock }
	d, _ := p.reserve(0)
	require.LessOrEqual(t, d, 0.0, "the first start is at once")
	clock = 0.001
	d, rose := p.reserve(clock)
	require.Greater(t, d, 0.05, "at 10/s")
	clock = 0.005
	p.success(0)
	select {
	case <-rose:
	default:
		t.Fatal("the rise is not signalled")
	}
	later, _ := p.reserve(clock)
	assert.Less(t, later, d-0.05, "at 30/s")
}

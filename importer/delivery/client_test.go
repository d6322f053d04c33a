package delivery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/upsert"
)

const testKey = "test-key-1234"

// testSettings are the settings a run of the config's defaults (and the
// importer tests' max_attempts: 4) gives the client.
func testSettings(url string) Settings {
	return Settings{Endpoint: url + upsert.Path, Partner: "acme", Timeout: 60 * time.Second, MaxAttempts: 4, GiveUpAfter: 30 * time.Minute, Conns: 3}
}

// 429s and timeouts do not use up delivery.max_attempts: the retries end
// when no request has succeeded for delivery.give_up_after, and the error
// says so. Each retry's warning names the rows.
func TestThrottlesAndTimeoutsEndAtGiveUpAfter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		msg     string
	}{
		{"429", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":"rejected: too many requests"}`)
		}, "HTTP 429"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
		}, "delivery.timeout (50ms)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.handler(w, r)
			}))
			defer ts.Close()
			set := testSettings(ts.URL)
			set.MaxAttempts, set.GiveUpAfter, set.Timeout = 2, 2*time.Second, 50*time.Millisecond
			var mu sync.Mutex
			var logged []string
			s := NewClient(set, testKey, nil, 100, func(msg string, args ...any) {
				mu.Lock()
				logged = append(logged, fmt.Sprint(args...))
				mu.Unlock()
			})
			_, err := s.Send(context.Background(), []byte(`{"users":[]}`), 1, "a.csv rows 1-2")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "no request succeeded for")
			assert.Contains(t, err.Error(), "(delivery.give_up_after)")
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "max_attempts")
			assert.Greater(t, calls.Load(), int64(set.MaxAttempts), "more tries than max_attempts")
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, logged)
			for _, l := range logged {
				assert.Contains(t, l, "a.csv rows 1-2")
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var first atomic.Int64
	var gap atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if first.CompareAndSwap(0, now) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":"rejected: too many requests"}`)
			return
		}
		gap.Store(now - first.Load())
		fmt.Fprint(w, `{"data":{"successful":{"count":1},"fail":{}}}`)
	}))
	defer ts.Close()
	s := NewClient(testSettings(ts.URL), testKey, nil, 100, func(string, ...any) {})
	before := s.pacer.current()
	_, err := s.Send(context.Background(), []byte(`{"users":[]}`), 1, "test rows")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Duration(gap.Load()), time.Second)
	assert.EqualValues(t, 1, s.Counters().Throttled.Load())
	assert.Less(t, s.pacer.current(), before, "throttling slows every worker down")
}

// Dropped connections and timeouts are retried like 5xx.
func TestConnectionErrorsAndTimeoutsAreRetried(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch calls.Add(1) {
		case 1: // the connection drops without an answer
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			conn.Close()
			return
		case 2: // no answer within delivery.timeout
			time.Sleep(300 * time.Millisecond)
		}
		fmt.Fprint(w, `{"data":{"successful":{"count":1},"fail":{}}}`)
	}))
	defer ts.Close()
	set := testSettings(ts.URL)
	set.Timeout = 100 * time.Millisecond
	var logged []string
	s := NewClient(set, testKey, nil, 100, func(msg string, args ...any) { logged = append(logged, fmt.Sprint(args...)) })
	_, err := s.Send(context.Background(), []byte(`{"users":[]}`), 1, "test rows")
	require.NoError(t, err)
	assert.EqualValues(t, 3, calls.Load())
	assert.EqualValues(t, 2, s.Counters().Retries.Load())
	require.Len(t, logged, 2)
	assert.Contains(t, logged[0], "EOF")
	assert.Contains(t, logged[1], "deadline exceeded")
	for _, l := range logged {
		assert.NotContains(t, l, testKey, "the key never appears in logs")
	}
}

package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/upsert"
)

// Every answer has one verdict; a 200 is success only when it is Insider's
// and adds up.
func TestClassifyAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
		users  int
		want   verdictKind
		after  time.Duration
		msg    string // in the error
	}{
		{"all accepted", 200, nil, `{"data":{"successful":{"count":3},"fail":{}}}`, 3, vOK, 0, ""},
		{"partly accepted", 200, nil, `{"data":{"successful":{"count":2},"fail":{"count":1,"errors":{"users.2.identifiers.*.regexp(x)":["bad phone"]}}}}`, 3, vOK, 0, ""},
		{"none accepted", 200, nil, `{"data":{"successful":{},"fail":{"count":1,"errors":{"users.0.x":["bad"]}}}}`, 1, vOK, 0, ""},
		{"maintenance page", 200, nil, `{"message":"service under maintenance"}`, 3, vRetry, 0, `body "{\"message\":\"service under maintenance\"}"`},
		{"html page", 200, nil, `<html>Down for maintenance</html>`, 3, vRetry, 0, "not Insider's answer"},
		{"count too low", 200, nil, `{"data":{"successful":{"count":2},"fail":{}}}`, 3, vRetry, 0, "do not add up"},
		{"fail count without names", 200, nil, `{"data":{"successful":{"count":2},"fail":{"count":1}}}`, 3, vRetry, 0, "names none"},
		{"fail names a user not sent", 200, nil, `{"data":{"successful":{"count":2},"fail":{"count":1,"errors":{"users.7.x":["bad"]}}}}`, 3, vRetry, 0, "names no user"},
		{"302", 302, http.Header{"Location": {"http://elsewhere.example/x"}}, ``, 3, vFatal, 0, `"http://elsewhere.example/x"`},
		{"308", 308, http.Header{"Location": {"http://elsewhere.example/x"}}, ``, 3, vFatal, 0, "redirects are not followed"},
		{"401", 401, nil, `{"success":false,"message":"Partner token authentication failed."}`, 3, vCredentials, 0, ""},
		{"403", 403, nil, ``, 3, vCredentials, 0, ""},
		{"429", 429, http.Header{"Retry-After": {"2"}}, `{"error":"rejected: too many requests"}`, 3, vThrottle, 2 * time.Second, ""},
		{"413", 413, nil, ``, 3, vSplit, 0, ""},
		{"400 size", 400, nil, `{"error":"request body is bigger than maximum allowed size 5,000,000 bytes"}`, 3, vSplit, 0, ""},
		{"400 other", 400, nil, `{"error":"users must contain at most 1000 users, got 1001: bad request"}`, 3, vRejectUsers, 0, "at most 1000"},
		{"400 partner", 400, nil, `{"success": false, "message": "Partner is invalid."}`, 3, vRejectUsers, 0, "Partner is invalid."},
		{"500", 500, nil, `{"success":false,"message":"unknown error"}`, 3, vRetry, 0, "HTTP 500"},
		{"503 Retry-After", 503, http.Header{"Retry-After": {"7"}}, ``, 3, vRetry, 7 * time.Second, ""},
		{"408", 408, nil, ``, 3, vRetry, 0, ""},
		{"404", 404, nil, `not found`, 3, vFatal, 0, "/api/user/v1/upsert"},
		{"418", 418, nil, `teapot`, 3, vFatal, 0, "not an answer Insider documents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			v := classify(&http.Response{StatusCode: tc.status, Header: h}, []byte(tc.body), nil, tc.users, time.Second)
			assert.Equal(t, tc.want, v.kind, "%v", v.err)
			assert.Equal(t, tc.after, v.after)
			if tc.msg != "" {
				assert.ErrorContains(t, v.err, tc.msg)
			}
			if tc.want == vOK {
				assert.NoError(t, v.err)
			}
		})
	}
}

// Transport errors are judged by their cause: what cannot get better is
// fatal at once; a timeout names delivery.timeout and uses up no attempt.
func TestClassifyTransportErrors(t *testing.T) {
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "https://api.example/x", Err: err} }
	for _, tc := range []struct {
		name string
		err  error
		want verdictKind
		free bool
		msg  string
	}{
		{"refused", wrap(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), vRetry, false, "connection refused"},
		{"reset", wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), vRetry, false, "connection reset"},
		{"EOF", wrap(io.EOF), vRetry, false, "closed before the answer"},
		{"timeout", wrap(context.DeadlineExceeded), vRetry, true, "delivery.timeout (1s)"},
		{"no such host", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}}), vFatal, false, `no such host "api.example"`},
		{"dns timeout", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "api.example", IsTimeout: true}}), vRetry, true, "delivery.timeout"},
		{"other", wrap(errors.New("something odd")), vRetry, false, "something odd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := classifyTransport(tc.err, time.Second)
			assert.Equal(t, tc.want, v.kind, "%v", v.err)
			assert.Equal(t, tc.free, v.free)
			assert.ErrorContains(t, v.err, tc.msg)
			assert.NotContains(t, fmt.Sprint(v.err), "599")
		})
	}
}

func TestBisectBound(t *testing.T) {
	// 2·(bad+workers)·⌈log2 n⌉
	for _, c := range []struct {
		bad        int64
		workers, n int
		want       int64
	}{{0, 1, 1, 2}, {0, 1, 2, 2}, {0, 1, 1000, 20}, {1, 1, 1024, 40}, {10, 8, 1025, 396}, {3, 0, 8, 24}} {
		assert.Equal(t, c.want, bisectBound(c.bad, c.workers, c.n), "%+v", c)
	}
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
			cfg := testConfig(t, ts.URL+upsert.Path, []string{"x"}, "")
			cfg.Delivery.MaxAttempts, cfg.Delivery.GiveUpAfter, cfg.Delivery.Timeout = 2, 2*time.Second, 50*time.Millisecond
			var mu sync.Mutex
			var logged []string
			s := newSender(cfg, testKey, nil, 100, func(msg string, args ...any) {
				mu.Lock()
				logged = append(logged, fmt.Sprint(args...))
				mu.Unlock()
			})
			_, err := s.send(context.Background(), []byte(`{"users":[]}`), 1, "a.csv rows 1-2")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "no request succeeded for")
			assert.Contains(t, err.Error(), "(delivery.give_up_after)")
			assert.Contains(t, err.Error(), tc.msg)
			assert.NotContains(t, err.Error(), "max_attempts")
			assert.Greater(t, calls.Load(), int64(cfg.Delivery.MaxAttempts), "more tries than max_attempts")
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, logged)
			for _, l := range logged {
				assert.Contains(t, l, "a.csv rows 1-2")
			}
		})
	}
}

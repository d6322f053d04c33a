package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
		want   Kind
		after  time.Duration
		msg    string // in the error
	}{
		{"all accepted", 200, nil, `{"data":{"successful":{"count":3},"fail":{}}}`, 3, OK, 0, ""},
		{"partly accepted", 200, nil, `{"data":{"successful":{"count":2},"fail":{"count":1,"errors":{"users.2.identifiers.*.regexp(x)":["bad phone"]}}}}`, 3, OK, 0, ""},
		{"none accepted", 200, nil, `{"data":{"successful":{},"fail":{"count":1,"errors":{"users.0.x":["bad"]}}}}`, 1, OK, 0, ""},
		{"maintenance page", 200, nil, `{"message":"service under maintenance"}`, 3, Retry, 0, `body "{\"message\":\"service under maintenance\"}"`},
		{"html page", 200, nil, `<html>Down for maintenance</html>`, 3, Retry, 0, "not Insider's answer"},
		{"count too low", 200, nil, `{"data":{"successful":{"count":2},"fail":{}}}`, 3, Retry, 0, "do not add up"},
		{"fail count without names", 200, nil, `{"data":{"successful":{"count":2},"fail":{"count":1}}}`, 3, Retry, 0, "names none"},
		{"fail names a user not sent", 200, nil, `{"data":{"successful":{"count":2},"fail":{"count":1,"errors":{"users.7.x":["bad"]}}}}`, 3, Retry, 0, "names no user"},
		{"302", 302, http.Header{"Location": {"http://elsewhere.example/x"}}, ``, 3, Fatal, 0, `"http://elsewhere.example/x"`},
		{"308", 308, http.Header{"Location": {"http://elsewhere.example/x"}}, ``, 3, Fatal, 0, "redirects are not followed"},
		{"401", 401, nil, `{"success":false,"message":"Partner token authentication failed."}`, 3, Credentials, 0, ""},
		{"403", 403, nil, ``, 3, Credentials, 0, ""},
		{"429", 429, http.Header{"Retry-After": {"2"}}, `{"error":"rejected: too many requests"}`, 3, Throttle, 2 * time.Second, ""},
		{"413", 413, nil, ``, 3, Split, 0, ""},
		{"400 size", 400, nil, `{"error":"request body is bigger than maximum allowed size 5,000,000 bytes"}`, 3, Split, 0, ""},
		{"400 other", 400, nil, `{"error":"users must contain at most 1000 users, got 1001: bad request"}`, 3, RejectUsers, 0, "at most 1000"},
		{"400 partner", 400, nil, `{"success": false, "message": "Partner is invalid."}`, 3, RejectUsers, 0, "Partner is invalid."},
		{"500", 500, nil, `{"success":false,"message":"unknown error"}`, 3, Retry, 0, "HTTP 500"},
		{"503 Retry-After", 503, http.Header{"Retry-After": {"7"}}, ``, 3, Retry, 7 * time.Second, ""},
		{"408", 408, nil, ``, 3, Retry, 0, ""},
		{"404", 404, nil, `not found`, 3, Fatal, 0, "/api/user/v1/upsert"},
		{"418", 418, nil, `teapot`, 3, Fatal, 0, "not an answer Insider documents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			v := classify(&http.Response{StatusCode: tc.status, Header: h}, []byte(tc.body), nil, tc.users, time.Second)
			assert.Equal(t, tc.want, v.Kind, "%v", v.Err)
			assert.Equal(t, tc.after, v.after)
			if tc.msg != "" {
				assert.ErrorContains(t, v.Err, tc.msg)
			}
			if tc.want == OK {
				assert.NoError(t, v.Err)
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
		want Kind
		free bool
		msg  string
	}{
		{"refused", wrap(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), Retry, false, "connection refused"},
		{"reset", wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), Retry, false, "connection reset"},
		{"EOF", wrap(io.EOF), Retry, false, "closed before the answer"},
		{"timeout", wrap(context.DeadlineExceeded), Retry, true, "delivery.timeout (1s)"},
		{"no such host", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}}), Fatal, false, `no such host "api.example"`},
		{"dns timeout", wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "api.example", IsTimeout: true}}), Retry, true, "delivery.timeout"},
		{"other", wrap(errors.New("something odd")), Retry, false, "something odd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := classifyTransport(tc.err, time.Second)
			assert.Equal(t, tc.want, v.Kind, "%v", v.Err)
			assert.Equal(t, tc.free, v.free)
			assert.ErrorContains(t, v.Err, tc.msg)
			assert.NotContains(t, fmt.Sprint(v.Err), "599")
		})
	}
}

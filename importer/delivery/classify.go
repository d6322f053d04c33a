package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
)

// Kind is what the client does with one answer (or failure) of the API.
// It is decided in one place, classify, in the manner of rclone's
// ShouldRetry: every status and every transport error has exactly one kind.
// Client.Send returns OK, Split and RejectUsers with a nil error; it retries
// Retry and Throttle itself, and the other kinds come with an error.
type Kind uint8

const (
	// OK: Insider's 200 answer, consistent with the request; Verdict.Failed
	// lists the users it rejected.
	OK Kind = iota
	// Retry: try the same request again after a backoff (or Retry-After).
	// Unless free, it uses up one of Settings.MaxAttempts.
	Retry
	// Throttle: 429. The shared rate goes down (see pacer); the request is
	// tried again after Retry-After, without using up an attempt.
	Throttle
	// Split: the request is too large (413 or Insider's documented size
	// message): the caller sends each half on its own.
	Split
	// RejectUsers: a 400 about the content: some user in the request is
	// refused; the caller bisects to find which.
	RejectUsers
	// Credentials: 401/403, the run stops (ErrCredentials).
	Credentials
	// Fatal: sending again cannot help (TLS, DNS, redirect, wrong
	// endpoint); the run stops with the message.
	Fatal
)

var kindNames = [...]string{"ok", "retry", "throttle", "split", "reject users", "credentials", "fatal"}

func (k Kind) String() string { return kindNames[k] }

// Verdict is classify's answer, and what Client.Send returns.
type Verdict struct {
	Kind Kind
	// Failed holds, for OK, Insider's messages by user index in the request.
	Failed map[int][]string
	// Err says what went wrong, for every kind but OK. It never holds the
	// API key (the key travels in a header no error quotes, and whatever an
	// answer quotes is redacted).
	Err error
	// after is the answer's Retry-After, 0 when absent.
	after time.Duration
	// free marks a retry that does not use up an attempt (a timeout): the
	// client is bounded by Settings.GiveUpAfter instead.
	free bool
}

// APIError is an HTTP answer the client did not treat as success; Verdict.Err
// wraps it for the kinds an HTTP status decides.
type APIError struct {
	Status     int
	Msg        string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Msg)
}

// classify judges one attempt: the answer (resp with its body read into
// body) or the transport error err, for a request that held users users.
// timeout is delivery.timeout, named in the message of a timed-out request.
// The caller has already ruled out its own cancellation (stop, grace).
func classify(resp *http.Response, body []byte, err error, users int, timeout time.Duration) Verdict {
	if err != nil {
		return classifyTransport(err, timeout)
	}
	status := resp.StatusCode
	ae := &APIError{Status: status, Msg: errorText(body), RetryAfter: RetryAfter(resp.Header.Get("Retry-After"))}
	switch {
	case status == http.StatusOK:
		failed, err := checkAnswer(body, users)
		if err != nil {
			// A maintenance page or a proxy's JSON: nothing says the users
			// arrived. Sending again is safe (Insider stores an identical
			// event once; attributes are overwritten).
			return Verdict{Kind: Retry, Err: err}
		}
		return Verdict{Kind: OK, Failed: failed}
	case status >= 300 && status < 400:
		return Verdict{Kind: Fatal, Err: redirectError(resp)}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Verdict{Kind: Credentials, Err: ae}
	case status == http.StatusTooManyRequests:
		return Verdict{Kind: Throttle, after: ae.RetryAfter, Err: ae}
	case status == http.StatusRequestEntityTooLarge,
		status == http.StatusBadRequest && tooLarge(ae.Msg):
		return Verdict{Kind: Split, Err: ae}
	case status == http.StatusBadRequest:
		return Verdict{Kind: RejectUsers, Err: ae}
	case status == http.StatusRequestTimeout, status >= 500:
		return Verdict{Kind: Retry, after: ae.RetryAfter, Err: ae}
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		return Verdict{Kind: Fatal, Err: fmt.Errorf("%w: insider.endpoint is not the upsert API (its path is %s)", ae, upsert.Path)}
	}
	return Verdict{Kind: Fatal, Err: fmt.Errorf("%w: not an answer Insider documents", ae)}
}

// tooLarge reports whether a 400's message is Insider's documented size
// error ("request body is bigger than maximum allowed size 5,000,000
// bytes"). Nothing else splits: other 400s are bisected.
func tooLarge(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "bigger than maximum allowed size")
}

// checkAnswer accepts a 200 body only when it is Insider's shape,
// {"data": {"successful": {...}, "fail": {...}}}, and its counts add up: the
// successful count plus the users named in fail is the number of users
// sent. It returns Insider's messages by user index.
func checkAnswer(body []byte, users int) (map[int][]string, error) {
	var a struct {
		Data *struct {
			Successful *struct {
				Count int `json:"count"`
			} `json:"successful"`
			Fail *upsert.Fail `json:"fail"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.Data == nil || a.Data.Successful == nil || a.Data.Fail == nil {
		return nil, fmt.Errorf("HTTP 200 but not Insider's answer (no data.successful and data.fail), nothing counted as delivered: %s", quoteBody(body))
	}
	failed, err := failedUsers(*a.Data.Fail, users)
	if err != nil {
		return nil, fmt.Errorf("HTTP 200 with a fail block that does not fit the request: %v: %s", err, quoteBody(body))
	}
	ok := a.Data.Successful.Count
	if ok+len(failed) != users || a.Data.Fail.Count != len(failed) {
		return nil, fmt.Errorf("HTTP 200 whose counts do not add up (%d successful + %d failed, %d users named in fail, for %d users sent), nothing counted as delivered: %s",
			ok, a.Data.Fail.Count, len(failed), users, quoteBody(body))
	}
	return failed, nil
}

// quoteBody quotes an answer's body for a message, cut to 300 bytes.
func quoteBody(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "empty body"
	}
	if len(b) > 300 {
		return "body " + strconv.Quote(string(b[:300])) + "…"
	}
	return "body " + strconv.Quote(string(b))
}

func redirectError(resp *http.Response) error {
	loc := resp.Header.Get("Location")
	if loc == "" {
		loc = "(no Location)"
	}
	return fmt.Errorf("insider.endpoint answered HTTP %d, a redirect to %q; redirects are not followed, so the API key never goes to another host: set insider.endpoint to the final URL if that is Insider's",
		resp.StatusCode, loc)
}

// classifyTransport judges a request that got no answer, by its cause.
func classifyTransport(err error, timeout time.Duration) Verdict {
	var (
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recErr    tls.RecordHeaderError
		dnsErr    *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		return Verdict{Kind: Fatal, Err: fmt.Errorf("TLS: the server's certificate is not trusted, nothing was sent (check insider.endpoint, or the system's CA certificates): %w", err)}
	case errors.As(err, &recErr):
		return Verdict{Kind: Fatal, Err: fmt.Errorf("TLS: the server does not speak TLS (check the scheme of insider.endpoint): %w", err)}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return Verdict{Kind: Fatal, Err: fmt.Errorf("DNS: no such host %q (check insider.endpoint): %w", dnsErr.Name, err)}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return Verdict{Kind: Retry, free: true, Err: fmt.Errorf("no answer within delivery.timeout (%s); Insider may still store the request, raise delivery.timeout if the API is slow: %w", timeout, err)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Verdict{Kind: Retry, Err: fmt.Errorf("connection refused: %w", err)}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return Verdict{Kind: Retry, Err: fmt.Errorf("connection reset: %w", err)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Verdict{Kind: Retry, Err: fmt.Errorf("the connection closed before the answer: %w", err)}
	}
	return Verdict{Kind: Retry, Err: fmt.Errorf("no answer: %w", err)}
}

func errorText(b []byte) string {
	var eb upsert.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Text() != "" {
		return eb.Text()
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// RetryAfter reads a Retry-After header: seconds or an HTTP date. It is
// capped at 5 minutes; 0 when absent or unreadable.
func RetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(h, 64); err == nil && secs >= 0 {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, 5*time.Minute))
}

// failedUsers maps the keys of a fail block to user indexes: each
// "users.N.…" key gives its messages to user N.
func failedUsers(f upsert.Fail, nUsers int) (map[int][]string, error) {
	if len(f.Errors) == 0 {
		if f.Count > 0 {
			return nil, fmt.Errorf("the answer says %d users failed but names none", f.Count)
		}
		return nil, nil
	}
	out := map[int][]string{}
	keys := make([]string, 0, len(f.Errors))
	for key := range f.Errors {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		msgs := f.Errors[key]
		rest, ok := strings.CutPrefix(key, "users.")
		if !ok {
			return nil, fmt.Errorf("fail block key %q does not name a user", key)
		}
		num, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i >= nUsers {
			return nil, fmt.Errorf("fail block key %q names no user of the request (%d users)", key, nUsers)
		}
		for _, m := range msgs {
			out[i] = append(out[i], m+" ("+key+")")
		}
	}
	return out, nil
}

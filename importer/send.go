package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/insider-import/insider-import/importer/upsert"
)

// ErrCredentials is returned when the API refuses the partner name or key
// (401/403). The run stops at once: nothing more is sent.
var ErrCredentials = errors.New("Insider refused the credentials (403): check insider.partner (lowercase account name) and the API key; nothing more was sent")

// APIError is an answer the sender did not treat as success.
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

// Temporary reports whether the request may succeed if tried again.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// sender posts request bodies with a shared rate limit and retries.
type sender struct {
	client      *http.Client
	endpoint    string
	partner     string
	key         string
	maxAttempts int
	timeout     time.Duration
	limiter     *rate.Limiter
	maxRate     rate.Limit
	log         func(msg string, args ...any)

	mu         sync.Mutex
	pauseUntil time.Time

	requests, retries, throttled, bytesSent atomic.Int64
}

func newSender(cfg *Config, key string, client *http.Client, rps float64, log func(string, ...any)) *sender {
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Delivery.Workers
		tr.MaxIdleConns = cfg.Delivery.Workers * 2
		client = &http.Client{Transport: tr}
	}
	return &sender{
		client: client, endpoint: cfg.Insider.Endpoint, partner: cfg.Partner(), key: key,
		maxAttempts: cfg.Delivery.MaxAttempts, timeout: cfg.Delivery.Timeout,
		limiter: rate.NewLimiter(rate.Limit(rps), 1), maxRate: rate.Limit(rps), log: log,
	}
}

// send posts body until it gets an answer that is not temporary, or runs out
// of attempts. A 200 answer is returned parsed; others as *APIError, or
// ErrCredentials. Requests run under ctx; once stop is done no new attempt
// starts (a request on the wire still gets its answer).
func (s *sender) send(stop, ctx context.Context, body []byte) (*upsert.Response, error) {
	for attempt := 1; ; attempt++ {
		if err := stop.Err(); err != nil {
			return nil, err
		}
		resp, err := s.post(ctx, body)
		if err == nil {
			s.recover()
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if errors.Is(err, ErrCredentials) || isAPI && !ae.Temporary() {
			return nil, err
		}
		if attempt >= s.maxAttempts {
			return nil, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		wait := backoff(attempt)
		if isAPI && ae.RetryAfter > 0 {
			wait = ae.RetryAfter + time.Duration(rand.Int64N(int64(250*time.Millisecond)))
		}
		if isAPI && ae.Status == http.StatusTooManyRequests {
			s.throttle(wait)
		}
		s.retries.Add(1)
		s.log("retrying request", "attempt", attempt, "wait", wait.Round(time.Millisecond).String(), "error", err.Error())
		if err := sleepCtx(stop, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is exponential with full jitter: up to 0.5s, 1s, 2s, ... 30s.
func backoff(attempt int) time.Duration {
	max := 500 * time.Millisecond << min(attempt-1, 6)
	if max > 30*time.Second {
		max = 30 * time.Second
	}
	return max/2 + time.Duration(rand.Int64N(int64(max/2)))
}

// throttle slows every worker down together: a shared pause for the
// Retry-After time and a lower request rate that recovers on success.
func (s *sender) throttle(pause time.Duration) {
	s.throttled.Add(1)
	s.mu.Lock()
	if until := time.Now().Add(pause); until.After(s.pauseUntil) {
		s.pauseUntil = until
	}
	s.mu.Unlock()
	if l := s.limiter.Limit() * 0.7; l >= 1 {
		s.limiter.SetLimit(l)
	} else {
		s.limiter.SetLimit(1)
	}
}

func (s *sender) recover() {
	if l := s.limiter.Limit(); l < s.maxRate {
		s.limiter.SetLimit(min(s.maxRate, l+s.maxRate/50))
	}
}

func (s *sender) wait(ctx context.Context) error {
	s.mu.Lock()
	until := s.pauseUntil
	s.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	return s.limiter.Wait(ctx)
}

func (s *sender) post(ctx context.Context, body []byte) (*upsert.Response, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(upsert.HeaderPartner, s.partner)
	req.Header.Set(upsert.HeaderToken, s.key)
	req.Header.Set("User-Agent", "insider-import")
	s.requests.Add(1)
	s.bytesSent.Add(int64(len(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		// Connection errors and timeouts are temporary. The URL is in the
		// error; the key is not (it travels in a header).
		return nil, &APIError{Status: 599, Msg: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	io.Copy(io.Discard, resp.Body)
	if err != nil {
		return nil, &APIError{Status: 599, Msg: "reading the answer: " + err.Error()}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var out upsert.Response
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, &APIError{Status: 599, Msg: fmt.Sprintf("200 with a body that is not Insider's JSON: %v", err)}
		}
		return &out, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, ErrCredentials
	}
	return nil, &APIError{Status: resp.StatusCode, Msg: errorText(b), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
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

// retryAfter reads a Retry-After header: seconds or an HTTP date. It is
// capped at 5 minutes.
func retryAfter(h string) time.Duration {
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

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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

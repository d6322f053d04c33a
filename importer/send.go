package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
)

// ErrCredentials is returned when the API refuses the partner name or key
// (401/403). The run stops at once: nothing more is sent.
var ErrCredentials = errors.New("Insider refused the credentials (403): check insider.partner (lowercase account name) and the API key; nothing more was sent")

// ErrRefused is returned when Insider refuses the run's first users, not a
// few rows: the users it refused one by one (400) outnumber those
// delivered, or it answers 413 to a single user before any was delivered
// (see sendUsers). Nothing is marked rejected; fix and run again.
var ErrRefused = errors.New("Insider refuses the run's users, not a few rows")

// sender posts request bodies at the pacer's shared rate, and tries again
// what classify says may succeed if tried again.
type sender struct {
	client      *http.Client
	endpoint    string
	partner     string
	key         string
	maxAttempts int
	timeout     time.Duration
	giveUpAfter time.Duration
	pacer       *pacer
	redact      *redactor
	log         func(msg string, args ...any)
	// wire is the context of requests already on the wire: it outlives the
	// run's context by the grace period, so a request started before a stop
	// gets its answer (cutting it off would leave a batch the API may have
	// stored to be sent again). nil: the caller's context without its
	// cancellation.
	wire context.Context

	requests, retries, throttled, bytesSent, delivered atomic.Int64
	// For bisection (see sendUsers): users delivered and refused alone,
	// extra requests spent bisecting 400s, single users answered 413.
	usersOK, usersBad, bisected, tooLarge atomic.Int64
}

func newSender(cfg *Config, key string, client *http.Client, rps float64, log func(string, ...any)) *sender {
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Delivery.Workers
		tr.MaxIdleConns = cfg.Delivery.Workers * 2
		// Request bodies are hundreds of KB: a 256 KiB write buffer sends
		// one in a few write calls instead of dozens of 4 KiB ones.
		tr.WriteBufferSize = 256 << 10
		client = &http.Client{Transport: tr}
	} else {
		c := *client
		client = &c
	}
	// No redirect is followed: a 302 would turn the POST into a GET that
	// another host answers, a 307/308 would carry the key and the users
	// there. classify turns the 3xx into a fatal error naming the Location.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	giveUp := cfg.Delivery.GiveUpAfter
	if giveUp <= 0 {
		giveUp = 30 * time.Minute
	}
	return &sender{
		client: client, endpoint: cfg.Insider.Endpoint, partner: cfg.Partner(), key: key,
		maxAttempts: cfg.Delivery.MaxAttempts, timeout: cfg.Delivery.Timeout, giveUpAfter: giveUp,
		pacer: newPacer(rps, time.Now()), redact: newRedactor(key), log: log,
	}
}

// send posts body, which holds users users, until classify says it is
// done: vOK (with the users Insider rejected), vSplit or vRejectUsers are
// returned with a nil error; credentials, fatal answers and giving up are
// errors. what names the file and rows for the log.
//
// Once ctx is done (the run stops) no new attempt starts, waits included; a
// request on the wire runs under s.wire, which ends only with the grace
// period after the stop.
// 429s and timeouts do not use up delivery.max_attempts: retries end when
// no request of the run has succeeded for delivery.give_up_after.
func (s *sender) send(ctx context.Context, body []byte, users int, what string) (verdict, error) {
	wire := s.wire
	if wire == nil {
		wire = context.WithoutCancel(ctx)
	}
	attempts, backoffs := 0, 0
	for {
		start, err := s.pacer.wait(ctx)
		if err != nil {
			return verdict{}, err
		}
		if err := ctx.Err(); err != nil {
			return verdict{}, err
		}
		v := s.post(wire, body, users)
		if err := wire.Err(); err != nil {
			return verdict{}, err
		}
		switch v.kind {
		case vOK:
			s.pacer.success(start)
			s.delivered.Add(1)
			return v, nil
		case vSplit, vRejectUsers:
			return v, nil
		case vCredentials:
			return v, ErrCredentials
		case vFatal:
			return v, v.err
		}
		wait := v.after
		if v.kind == vThrottle {
			s.throttled.Add(1)
			s.pacer.throttled(start, v.after)
		} else {
			if !v.free {
				attempts++
			}
			if attempts >= s.maxAttempts {
				return v, fmt.Errorf("gave up after %d attempts (delivery.max_attempts): %w", attempts, v.err)
			}
			backoffs++
			wait = max(wait, backoff(backoffs))
		}
		if d := s.pacer.sinceOK(); d >= s.giveUpAfter {
			return v, fmt.Errorf("gave up: no request succeeded for %s (delivery.give_up_after): %w", d.Round(time.Second), v.err)
		}
		s.retries.Add(1)
		s.log("retrying request", "rows", what, "wait", wait.Round(time.Millisecond).String(), "error", v.err.Error())
		if err := sleepCtx(ctx, wait); err != nil {
			return verdict{}, err
		}
	}
}

// backoff is exponential with full jitter: a random wait up to 0.5s, 1s,
// 2s, ... 30s.
func backoff(n int) time.Duration {
	ceil := min(500*time.Millisecond<<min(n-1, 6), 30*time.Second)
	return time.Duration(rand.Int64N(int64(ceil))) + time.Millisecond
}

// post makes one attempt and classifies it.
func (s *sender) post(ctx context.Context, body []byte, users int) verdict {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return verdict{kind: vFatal, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(upsert.HeaderPartner, s.partner)
	req.Header.Set(upsert.HeaderToken, s.key)
	req.Header.Set("User-Agent", "insider-import")
	s.requests.Add(1)
	s.bytesSent.Add(int64(len(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL is in the error; the key travels in a header, but an
		// endpoint could hold it.
		return classify(nil, nil, s.redact.error(err), users, s.timeout)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return classify(nil, nil, s.redact.error(fmt.Errorf("reading the answer: %w", err)), users, s.timeout)
	}
	// Whatever classify quotes (the body, Location) is free of the key:
	// a proxy's page may echo the request's headers.
	for _, vs := range resp.Header {
		for i, v := range vs {
			vs[i] = s.redact.string(v)
		}
	}
	return classify(resp, s.redact.bytes(b), nil, users, s.timeout)
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

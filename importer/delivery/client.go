package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/internal/ctxsleep"
)

// ErrCredentials is returned when the API refuses the partner name or key
// (401/403). The run stops at once: nothing more is sent.
var ErrCredentials = errors.New("Insider refused the credentials (403): check insider.partner (lowercase account name) and the API key; nothing more was sent")

// Settings are the client's inputs from the config's insider and delivery
// sections.
type Settings struct {
	Endpoint string // insider.endpoint: the upsert URL
	Partner  string // the partner name sent in its header
	// Timeout bounds one request, the answer's body included
	// (delivery.timeout).
	Timeout time.Duration
	// MaxAttempts bounds the tries of a request that fails in a way that
	// uses up an attempt (delivery.max_attempts).
	MaxAttempts int
	// GiveUpAfter ends the retries once no request of the client has
	// succeeded for this long (delivery.give_up_after); 429s and timeouts
	// are bounded by it alone. The config sets its default.
	GiveUpAfter time.Duration
	// Conns is the number of connections kept open, one per worker
	// (delivery.workers); used only when NewClient builds the HTTP client.
	Conns int
}

// Counters are the client's running totals, safe to read at any time.
type Counters struct {
	// Requests made, retries among them, 429s answered, request bytes
	// sent, requests Insider accepted.
	Requests, Retries, Throttled, BytesSent, Delivered atomic.Int64
}

// Client posts request bodies at the pacer's rate, shared by every worker
// that calls Send, and tries again what classify says may succeed if tried
// again: it owns the pacer and the retry loop (the shape of rclone's
// lib/pacer).
type Client struct {
	client *http.Client
	set    Settings
	key    string
	pacer  *pacer
	redact *redactor
	log    func(msg string, args ...any)
	// wire is the context of requests already on the wire (see SetWire).
	// nil: the caller's context without its cancellation.
	wire context.Context
	n    Counters
}

// NewClient makes a client that sends with key at no more than rate
// requests per second (the pacer starts lower and finds the API's limit).
// httpClient nil: one made for s.Conns connections; else a copy of it is
// used. Redirects are never followed. log receives each retry's warning.
func NewClient(s Settings, key string, httpClient *http.Client, rate float64, log func(msg string, args ...any)) *Client {
	if httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = s.Conns
		tr.MaxIdleConns = s.Conns * 2
		// Request bodies are hundreds of KB (1000 users of the pair's
		// data: about 720 KB): one that fits the write buffer goes out in
		// one write. One that does not is copied on through a new 32 KiB
		// buffer, a dozen writes (net/http limits the body's reader, so
		// it cannot write itself): with 256 KiB, that copy was 5% of a
		// 1M-row run's CPU. 1 MiB a connection.
		tr.WriteBufferSize = 1 << 20
		httpClient = &http.Client{Transport: tr}
	} else {
		c := *httpClient
		httpClient = &c
	}
	// No redirect is followed: a 302 would turn the POST into a GET that
	// another host answers, a 307/308 would carry the key and the users
	// there. classify turns the 3xx into a fatal error naming the Location.
	httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		client: httpClient, set: s, key: key,
		pacer: newPacer(rate, time.Now()), redact: newRedactor(key), log: log,
	}
}

// SetWire sets the context requests already on the wire run under: it
// outlives the run's context by the grace period, so a request started
// before a stop gets its answer (cutting it off would leave a batch the API
// may have stored to be sent again). Call it before the first Send.
func (s *Client) SetWire(wire context.Context) { s.wire = wire }

// Counters returns the client's live totals.
func (s *Client) Counters() *Counters { return &s.n }

// Send posts body, which holds users users, until classify says it is
// done: OK (with the users Insider rejected), Split or RejectUsers are
// returned with a nil error; credentials (ErrCredentials), fatal answers
// and giving up are errors. what names the file and rows for the log.
//
// Once ctx is done (the run stops) no new attempt starts, waits included; a
// request on the wire runs under the wire context (SetWire), which ends
// only with the grace period after the stop.
// 429s and timeouts do not use up Settings.MaxAttempts: retries end when
// no request of the client has succeeded for Settings.GiveUpAfter.
func (s *Client) Send(ctx context.Context, body []byte, users int, what string) (Verdict, error) {
	wire := s.wire
	if wire == nil {
		wire = context.WithoutCancel(ctx)
	}
	attempts, backoffs := 0, 0
	for {
		start, err := s.pacer.wait(ctx)
		if err != nil {
			return Verdict{}, err
		}
		if err := ctx.Err(); err != nil {
			return Verdict{}, err
		}
		v := s.post(wire, body, users)
		if err := wire.Err(); err != nil {
			return Verdict{}, err
		}
		switch v.Kind {
		case OK:
			s.pacer.success(start)
			s.n.Delivered.Add(1)
			return v, nil
		case Split, RejectUsers:
			return v, nil
		case Credentials:
			return v, ErrCredentials
		case Fatal:
			return v, v.Err
		}
		wait := v.after
		if v.Kind == Throttle {
			s.n.Throttled.Add(1)
			s.pacer.throttled(start, v.after)
		} else {
			if !v.free {
				attempts++
			}
			if attempts >= s.set.MaxAttempts {
				return v, fmt.Errorf("gave up after %d attempts (delivery.max_attempts): %w", attempts, v.Err)
			}
			backoffs++
			wait = max(wait, backoff(backoffs))
		}
		if d := s.pacer.sinceOK(); d >= s.set.GiveUpAfter {
			return v, fmt.Errorf("gave up: no request succeeded for %s (delivery.give_up_after): %w", d.Round(time.Second), v.Err)
		}
		s.n.Retries.Add(1)
		s.log("retrying request", "rows", what, "wait", wait.Round(time.Millisecond).String(), "error", v.Err.Error())
		if err := ctxsleep.Sleep(ctx, wait); err != nil {
			return Verdict{}, err
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
func (s *Client) post(ctx context.Context, body []byte, users int) Verdict {
	rctx, cancel := context.WithTimeout(ctx, s.set.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.set.Endpoint, bytes.NewReader(body))
	if err != nil {
		return Verdict{Kind: Fatal, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(upsert.HeaderPartner, s.set.Partner)
	req.Header.Set(upsert.HeaderToken, s.key)
	req.Header.Set("User-Agent", "insider-import")
	s.n.Requests.Add(1)
	s.n.BytesSent.Add(int64(len(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL is in the error; the key travels in a header, but an
		// endpoint could hold it.
		return classify(nil, nil, s.redact.error(err), users, s.set.Timeout)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return classify(nil, nil, s.redact.error(fmt.Errorf("reading the answer: %w", err)), users, s.set.Timeout)
	}
	// Whatever classify quotes (the body, Location) is free of the key:
	// a proxy's page may echo the request's headers.
	for _, vs := range resp.Header {
		for i, v := range vs {
			vs[i] = s.redact.string(v)
		}
	}
	return classify(resp, s.redact.bytes(b), nil, users, s.set.Timeout)
}

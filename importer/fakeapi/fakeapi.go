package fakeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/internal/ctxsleep"
)

// Options configures a Server. The zero value is a permissive, well-behaved
// API: any partner and token, no throttling, no failures.
type Options struct {
	// Partner is the expected X-PARTNER-NAME. Empty accepts any non-empty
	// lowercase name (Insider's partner names are lowercase).
	Partner string
	// Token is the expected X-REQUEST-TOKEN. Empty accepts any non-empty
	// token. The token is never logged.
	Token string
	// Throttle is the maximum number of upsert requests per second across
	// all clients (a token bucket holding one second's worth). Requests over
	// it get 429 with "Retry-After: 1". Zero or less turns throttling off.
	Throttle float64
	// RateLimit is a true limit of upsert requests per second across all
	// clients: at most RateLimit requests are let through in any window of
	// one second (a sliding window; answered requests count, refused ones
	// do not). Requests over it get 429, with a Retry-After (whole seconds
	// until a request would pass) only when RetryAfter is set. Zero or less
	// turns it off.
	RateLimit  float64
	RetryAfter bool
	// Maintenance answers every upsert request 200
	// {"message":"service under maintenance"}, as a maintenance page or a
	// proxy does: not Insider's answer, nothing is stored.
	Maintenance bool
	// RedirectTo, if set, answers every upsert request with a redirect
	// (RedirectStatus, default 302) to this URL, and stores nothing.
	RedirectTo     string
	RedirectStatus int
	// BadUser, if set, makes a request answered 400 when one of its users
	// holds this string as a value (say an email), as Insider refuses a
	// whole request over one user it cannot process. Other requests pass.
	BadUser string
	// FailRate is the fraction (0..1) of upsert requests, after
	// authentication and throttling, answered with 500. Which ones is
	// decided by a random generator seeded with Seed, so a run with the same
	// seed and the same request order fails the same requests.
	FailRate float64
	Seed     uint64
	// Delay holds every upsert answer back this long, after the request has
	// been processed and counted (like an ack lost on the way back when the
	// client gives up first).
	Delay time.Duration
	// Hold holds every upsert answer back, after the request has been
	// processed and counted, until POST /release (Release): a test can
	// act while the client waits, at a point it knows (say, once the first
	// request arrived), without sleeping.
	Hold bool
	// MaxBytes and MaxUsers override upsert.MaxBytes and upsert.MaxUsers
	// when positive (to exercise batch splitting with small payloads).
	MaxBytes int
	MaxUsers int
	// EventTTL returns the retention of an event name; events older than
	// Now minus it are counted in Stats.ExpiredEvents (Insider would drop
	// them silently). Nil means DefaultEventTTL; a zero return means never.
	EventTTL func(eventName string) time.Duration
	// Now is the clock for throttling and event age. Nil means time.Now.
	Now func() time.Time
	// Logger receives one line per rejected request (Warn/Info) and per
	// accepted request (Debug). Nil discards.
	Logger *slog.Logger
	// Record, if set, is called with the body and the answer of every
	// request answered 200 (including those where some users failed). It is
	// called from the request's goroutine, possibly concurrently, before the
	// answer is written. The body is not used by the Server afterwards.
	Record func(body []byte, resp upsert.Response)
	// Profile holds the options of the profile API (see profile.go).
	Profile ProfileOptions
}

// DefaultEventTTL is the default retention of an event in an Insider
// account: 730 days for purchase, 90 days for everything else (see §6 of the
// API notes; accounts can differ).
func DefaultEventTTL(eventName string) time.Duration {
	const day = 24 * time.Hour
	if eventName == "purchase" {
		return 730 * day
	}
	return 90 * day
}

// Stats are the counters of a Server. Requests counts every request to the
// upsert path and equals the sum of Accepted, BadRequests, Forbidden,
// Throttled, Failed, OtherErrors, Maintenance and Redirected.
type Stats struct {
	Requests    int64 `json:"requests"`
	Accepted    int64 `json:"accepted"`     // answered 200 (possibly with a fail block)
	BadRequests int64 `json:"bad_requests"` // answered 400
	Forbidden   int64 `json:"forbidden"`    // answered 401 or 403
	Throttled   int64 `json:"throttled"`    // answered 429
	Failed      int64 `json:"failed"`       // answered 500 (FailRate)
	OtherErrors int64 `json:"other_errors"` // answered 405 (wrong method)
	Maintenance int64 `json:"maintenance"`  // answered by the maintenance page
	Redirected  int64 `json:"redirected"`   // answered with a redirect

	UsersAccepted int64 `json:"users_accepted"`
	UsersRejected int64 `json:"users_rejected"` // users listed in a fail block
	// Events counts the events of accepted users, every delivery;
	// DistinctEvents counts them once per event key (see EventKey), the way
	// Insider stores identical events once.
	Events         int64 `json:"events"`
	DistinctEvents int64 `json:"distinct_events"`
	// ExpiredEvents and FutureEvents count deliveries (within Events) whose
	// timestamp is older than the event's TTL or after Now. Insider would
	// not store them; an importer should not send them.
	ExpiredEvents int64 `json:"expired_events"`
	FutureEvents  int64 `json:"future_events"`
	// RequestsWithoutSkipHook counts accepted requests whose top-level
	// skip_hook is not exactly true (a backfill would trigger journeys).
	RequestsWithoutSkipHook int64 `json:"requests_without_skip_hook"`
	// BytesAccepted is the total body size of accepted requests.
	BytesAccepted int64 `json:"bytes_accepted"`
	// ProfileRequests counts requests to the profile path (not in
	// Requests).
	ProfileRequests int64 `json:"profile_requests"`
}

// Server is the fake API. It is an http.Handler and is safe for concurrent
// use; create it with New.
type Server struct {
	opts     Options
	maxBytes int
	maxUsers int
	ttl      func(string) time.Duration
	now      func() time.Time
	log      *slog.Logger
	limiter  *rate.Limiter // nil when not throttling
	window   slidingWindow
	mux      *http.ServeMux

	mu     sync.Mutex
	rng    *rand.Rand
	stats  Stats
	events map[string]int // event key → deliveries
	times  []time.Time    // arrival of every upsert request

	released    chan struct{} // closed by Release (Options.Hold)
	releaseOnce sync.Once

	profiles profileStore
}

// New returns a Server with opts. FailRate is clamped to 0..1.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts,
		maxBytes: upsert.MaxBytes,
		maxUsers: upsert.MaxUsers,
		ttl:      opts.EventTTL,
		now:      opts.Now,
		log:      opts.Logger,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		events:   make(map[string]int),
		mux:      http.NewServeMux(),
	}
	s.opts.FailRate = min(max(opts.FailRate, 0), 1)
	if opts.MaxBytes > 0 {
		s.maxBytes = opts.MaxBytes
	}
	if opts.MaxUsers > 0 {
		s.maxUsers = opts.MaxUsers
	}
	if s.ttl == nil {
		s.ttl = DefaultEventTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.window.limit = opts.RateLimit
	if opts.Throttle > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.Throttle), max(1, int(math.Ceil(opts.Throttle))))
	}
	s.mux.HandleFunc(upsert.Path, s.handleUpsert)
	s.mux.HandleFunc(upsert.ProfilePath, s.handleProfile)
	s.mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	s.mux.HandleFunc("GET /events", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Events())
	})
	s.mux.HandleFunc("GET /request-times", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.RequestTimes())
	})
	s.released = make(chan struct{})
	s.mux.HandleFunc("POST /release", func(w http.ResponseWriter, _ *http.Request) {
		s.Release()
		writeJSON(w, http.StatusOK, map[string]bool{"released": true})
	})
	return s
}

// ServeHTTP serves the upsert path, GET /stats, GET /events, GET
// /request-times and POST /release.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve answers requests on l until ctx is done, then shuts down: it stops
// accepting, cancels the contexts of requests in flight (ending any Delay)
// and waits up to five seconds for them. It returns nil after a shutdown
// caused by ctx, or the error that stopped serving. Serve closes l.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("shut down: %w", err), srv.Close())
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Events returns a copy of the delivered events: event key (see EventKey) →
// number of deliveries. A count above 1 means the same event arrived again.
func (s *Server) Events() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.events)
}

// RequestTimes returns when each upsert request arrived, in order, so that
// a test can check the request rate of several clients together.
func (s *Server) RequestTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.times)
}

// Reset clears the counters, the delivered events and the request times.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
	s.events = make(map[string]int)
	s.times = nil
	s.profiles.reset()
}

func (s *Server) add(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Whole-request error messages. Those quoted from Insider keep Insider's text.
const (
	// drainLimit bounds how much of a rejected body is read and discarded.
	drainLimit = 64 << 20

	msgUsersMissing = "users must be defined: bad request"
	msgTooBig       = "request body is bigger than maximum allowed size %s bytes"
	msgThrottled    = "rejected: too many requests"
	msgInternal     = "internal error"
	msgMaintenance  = "service under maintenance"
	msgBadUser      = "user %s cannot be processed: bad request"
)

func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.add(func(st *Stats) {
		st.Requests++
		s.times = append(s.times, now)
	})
	log := s.log.With("remote", r.RemoteAddr)
	if s.refuse(w, r, log) {
		return
	}

	body, msg := s.readBody(r)
	var res *result
	if msg == "" && s.opts.BadUser != "" && bytes.Contains(body, []byte(strconv.Quote(s.opts.BadUser))) {
		msg = fmt.Sprintf(msgBadUser, s.opts.BadUser)
	}
	if msg == "" {
		res, msg = s.check(body)
	}
	if msg != "" {
		s.add(func(st *Stats) { st.BadRequests++ })
		log.Warn("upsert: bad request", "error", msg)
		reject(w, r, http.StatusBadRequest, upsert.ErrorBody{Error: msg})
		return
	}

	resp := s.commit(body, res)
	s.profiles.store(res)
	if resp.Data.Fail.Count > 0 {
		log.Info("upsert: some users rejected", "accepted", resp.Data.Successful.Count,
			"rejected", resp.Data.Fail.Count, "errors", len(resp.Data.Fail.Errors))
	} else {
		log.Debug("upsert: accepted", "users", resp.Data.Successful.Count)
	}
	if s.opts.Record != nil {
		s.opts.Record(body, resp)
	}
	s.delay(r)
	writeJSON(w, http.StatusOK, resp)
}

// refuse answers a request that is refused before its body is looked at:
// a method other than POST, a redirect, maintenance, bad credentials,
// throttling or a failure on purpose. It reports whether it answered.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, log *slog.Logger) bool {
	if r.Method != http.MethodPost {
		s.add(func(st *Stats) { st.OtherErrors++ })
		log.Warn("upsert: method not allowed", "method", r.Method)
		w.Header().Set("Allow", http.MethodPost)
		reject(w, r, http.StatusMethodNotAllowed, upsert.ErrorBody{Error: "method " + r.Method + " not allowed: use POST"})
		return true
	}
	if s.opts.RedirectTo != "" {
		s.add(func(st *Stats) { st.Redirected++ })
		status := s.opts.RedirectStatus
		if status == 0 {
			status = http.StatusFound
		}
		w.Header().Set("Location", s.opts.RedirectTo)
		reject(w, r, status, upsert.ErrorBody{Message: "moved"})
		return true
	}
	if s.opts.Maintenance {
		s.add(func(st *Stats) { st.Maintenance++ })
		reject(w, r, http.StatusOK, upsert.ErrorBody{Message: msgMaintenance})
		return true
	}
	if status, msg := s.authorize(r); status != 0 {
		s.add(func(st *Stats) { st.Forbidden++ })
		log.Warn("upsert: credentials refused", "status", status, "error", msg)
		reject(w, r, status, upsert.ErrorBody{Error: msg})
		return true
	}
	return s.throttle(w, r, log) || s.failOnPurpose(w, r, log)
}

// throttle answers 429 when the request is over either rate limit: the
// token bucket (Retry-After: 1) or the requests-per-second window
// (Retry-After when the options ask for it). It reports whether it
// answered.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request, log *slog.Logger) bool {
	if s.limiter != nil && !s.limiter.AllowN(s.now(), 1) {
		s.add(func(st *Stats) { st.Throttled++ })
		log.Debug("upsert: throttled")
		w.Header().Set("Retry-After", "1")
		reject(w, r, http.StatusTooManyRequests, upsert.ErrorBody{Error: msgThrottled})
		return true
	}
	if wait, ok := s.window.allow(s.now()); !ok {
		s.add(func(st *Stats) { st.Throttled++ })
		if s.opts.RetryAfter {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		}
		reject(w, r, http.StatusTooManyRequests, upsert.ErrorBody{Error: msgThrottled})
		return true
	}
	return false
}

// failOnPurpose answers 500 when the fail rate picks this request. It
// reports whether it answered.
func (s *Server) failOnPurpose(w http.ResponseWriter, r *http.Request, log *slog.Logger) bool {
	if !s.failNext() {
		return false
	}
	s.add(func(st *Stats) { st.Failed++ })
	log.Info("upsert: failing on purpose (fail rate)")
	f := false
	reject(w, r, http.StatusInternalServerError, upsert.ErrorBody{Success: &f, Message: msgInternal})
	return true
}

// delay holds an accepted request's answer for the Delay option, or until
// the client goes away.
func (s *Server) delay(r *http.Request) {
	if s.opts.Hold {
		select {
		case <-s.released:
		case <-r.Context().Done():
		}
	}
	_ = ctxsleep.Sleep(r.Context(), s.opts.Delay) // a client gone ends the delay
}

// Release ends Options.Hold: held answers go out, and later ones are not
// held. Calling it again does nothing.
func (s *Server) Release() { s.releaseOnce.Do(func() { close(s.released) }) }

// reject answers before the body is read in full. It reads the rest
// first, so that a client still sending a big body gets the answer rather
// than a reset connection.
func reject(w http.ResponseWriter, r *http.Request, status int, v any) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, drainLimit))
	writeJSON(w, status, v)
}

// authorize checks the partner and token headers. It returns 0 when they
// pass, else the status and message to answer with.
func (s *Server) authorize(r *http.Request) (int, string) {
	partner := r.Header.Get(upsert.HeaderPartner)
	token := r.Header.Get(upsert.HeaderToken)
	switch {
	case partner == "":
		return http.StatusForbidden, upsert.HeaderPartner + " header is missing: forbidden"
	case s.opts.Partner != "" && partner != s.opts.Partner:
		return http.StatusForbidden, "partner is invalid: forbidden"
	case s.opts.Partner == "" && partner != strings.ToLower(partner):
		return http.StatusForbidden, "partner is invalid (partner names are lowercase): forbidden"
	case token == "":
		return http.StatusUnauthorized, upsert.HeaderToken + " header is missing: unauthorized"
	case s.opts.Token != "" && token != s.opts.Token:
		return http.StatusForbidden, "request token is invalid for this partner: forbidden"
	}
	return 0, ""
}

// failNext draws whether this request fails on purpose.
func (s *Server) failNext() bool {
	if s.opts.FailRate <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < s.opts.FailRate
}

// readBody checks the content type and size and reads the body. It returns
// a message for a 400 answer when they are wrong.
func (s *Server) readBody(r *http.Request) ([]byte, string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, "Content-Type must be application/json: bad request"
	}
	tooBig := fmt.Sprintf(msgTooBig, thousands(s.maxBytes))
	if r.ContentLength > int64(s.maxBytes) {
		return nil, tooBig
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.maxBytes)+1))
	if err != nil {
		return nil, "reading request body: " + err.Error()
	}
	if len(body) > s.maxBytes {
		return nil, tooBig
	}
	return body, ""
}

// commit counts an answered-200 request and its accepted users' events and
// returns the answer.
func (s *Server) commit(body []byte, res *result) upsert.Response {
	var resp upsert.Response
	resp.Data.Successful.Count = len(res.users)
	resp.Data.Fail.Count = res.failed
	if len(res.errs) > 0 {
		resp.Data.Fail.Errors = res.errs
	}
	now := s.now()
	var events, expired, future int64
	for _, u := range res.users {
		for _, e := range u.events {
			events++
			if ttl := s.ttl(e.name); ttl > 0 && e.time.Before(now.Add(-ttl)) {
				expired++
			}
			if e.time.After(now) {
				future++
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	st.Accepted++
	st.BytesAccepted += int64(len(body))
	st.UsersAccepted += int64(len(res.users))
	st.UsersRejected += int64(res.failed)
	st.Events += events
	st.ExpiredEvents += expired
	st.FutureEvents += future
	if !res.skipHook {
		st.RequestsWithoutSkipHook++
	}
	for _, u := range res.users {
		for _, e := range u.events {
			s.events[e.key]++
		}
	}
	st.DistinctEvents = int64(len(s.events))
	return resp
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// thousands formats n with "," every three digits, as Insider's size message
// does (5,000,000).
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// slidingWindow lets at most limit requests through in any one second.
type slidingWindow struct {
	limit float64
	mu    sync.Mutex
	times []time.Time // of the requests let through in the last second
}

// allow reports whether a request at now passes; if not, how long until one
// would.
func (sw *slidingWindow) allow(now time.Time) (time.Duration, bool) {
	if sw.limit <= 0 {
		return 0, true
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	i := 0
	for i < len(sw.times) && !sw.times[i].After(now.Add(-time.Second)) {
		i++
	}
	sw.times = append(sw.times[:0], sw.times[i:]...)
	if len(sw.times) > 0 && float64(len(sw.times)+1) > sw.limit {
		return sw.times[0].Add(time.Second).Sub(now), false
	}
	sw.times = append(sw.times, now)
	return 0, true
}

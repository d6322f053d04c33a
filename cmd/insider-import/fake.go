package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/fakeapi"
)

// runFake runs `insider-import fake`: the local stand-in for Insider's Upsert
// API, on a loopback address, until ctx is done. It prints one line to stdout
// once listening ("fake Insider API listening on http://ADDR", with the real
// port when --addr ends in :0) and logs to stderr. It returns nil when ctx is
// cancelled, flag.ErrHelp for -h, a usageError for bad flag values, and an
// error for a failed listen or stats file.
func runFake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFakeFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	f.opts.Logger = logger
	srv := fakeapi.New(f.opts)

	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", f.addr)
	if err != nil {
		return fmt.Errorf("fake: listen: %w", err)
	}
	f.logStart(logger, l.Addr())
	fmt.Fprintf(stdout, "fake Insider API listening on http://%s\n", l.Addr())

	serveErr := srv.Serve(ctx, l)
	st := srv.Stats()
	logger.Info("fake Insider API stopped", "requests", st.Requests, "accepted", st.Accepted,
		"users_accepted", st.UsersAccepted, "users_rejected", st.UsersRejected,
		"events", st.Events, "distinct_events", st.DistinctEvents)
	var statsErr error
	if f.statsFile != "" {
		statsErr = fakeWriteStats(f.statsFile, st)
	}
	return errors.Join(serveErr, statsErr)
}

// fakeFlags are runFake's flags: the stand-in's options and how to run it.
type fakeFlags struct {
	opts        fakeapi.Options
	addr        string
	statsFile   string
	verbose     bool
	tokenSource string // where opts.Token came from: "flag" or "INSIDER_API_KEY"
}

// parseFakeFlags parses and checks runFake's flags. An empty --token is
// taken from $INSIDER_API_KEY.
func parseFakeFlags(args []string, stderr io.Writer) (*fakeFlags, error) {
	f := &fakeFlags{}
	o := &f.opts
	fs := flag.NewFlagSet("insider-import fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: insider-import fake [flags]\n\n"+
			"Serves a local stand-in for Insider's Upsert User Data API (POST /api/user/v1/upsert)\n"+
			"that validates requests like Insider, its Get User Profile API (POST /api/user/v1/profile) answered from what it stored, and GET /stats, GET /events and GET /request-times for inspection.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "loopback `host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&o.Partner, "partner", "", "expected X-PARTNER-NAME (default: any non-empty lowercase name)")
	fs.StringVar(&o.Token, "token", "", "expected X-REQUEST-TOKEN (default: $INSIDER_API_KEY if set, else any non-empty token)")
	fs.Float64Var(&o.Throttle, "throttle", 0, "answer 429 above this many `requests/s` across all clients (0 = off)")
	fs.Float64Var(&o.RateLimit, "rate-limit", 0, "let at most this many `requests/s` through in any one second, 429 above (0 = off)")
	fs.BoolVar(&o.RetryAfter, "retry-after", false, "with --rate-limit: send Retry-After with each 429")
	fs.BoolVar(&o.Maintenance, "maintenance", false, "answer every upsert 200 {\"message\":\"service under maintenance\"} (not Insider's answer)")
	fs.StringVar(&o.RedirectTo, "redirect-to", "", "answer every upsert with a redirect to `URL`")
	fs.IntVar(&o.RedirectStatus, "redirect-status", 302, "the status of --redirect-to (301, 302, 303, 307, 308)")
	fs.StringVar(&o.BadUser, "bad-user", "", "answer 400 to any request holding a user with this `value` (say an email)")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "`fraction` (0..1) of requests answered with 500")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed for --fail-rate, so a run fails the same requests again")
	fs.DurationVar(&o.Delay, "delay", 0, "hold every upsert answer back this long (e.g. 200ms)")
	fs.BoolVar(&o.Hold, "hold", false, "hold every upsert answer back until POST /release")
	fs.IntVar(&o.MaxBytes, "max-bytes", 0, "request size limit in bytes (default: Insider's 5,000,000)")
	fs.StringVar(&f.statsFile, "stats-file", "", "write the final stats as JSON to `FILE` on shutdown")
	fs.StringVar(&o.Profile.Drop, "profile-drop", "", "profile API: answer as if attribute `NAME` (c_tier or tier) had never been stored")
	fs.StringVar(&o.Profile.Change, "profile-change", "", "profile API: answer attribute `NAME` with an altered value")
	fs.Float64Var(&o.Profile.Quota, "profile-quota", 0, "profile API: quota `units` a minute (default Insider's 1000)")
	fs.BoolVar(&f.verbose, "v", false, "log every request, not only rejected ones")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("fake: unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	f.tokenSource = "flag"
	if o.Token == "" {
		o.Token = os.Getenv("INSIDER_API_KEY")
		f.tokenSource = "INSIDER_API_KEY"
	}
	if err := fakeValidateFlags(f.addr, o.Throttle, o.FailRate, o.MaxBytes); err != nil {
		return nil, usageError{"fake: " + err.Error()}
	}
	if o.RateLimit < 0 {
		return nil, usageError{fmt.Sprintf("fake: --rate-limit must be 0 or more, got %g", o.RateLimit)}
	}
	if o.RedirectStatus < 300 || o.RedirectStatus > 399 {
		return nil, usageError{fmt.Sprintf("fake: --redirect-status must be a 3xx status, got %d", o.RedirectStatus)}
	}
	return f, nil
}

// logStart logs the stand-in's settings once it listens on addr. The token
// itself is never logged, only whether it is fixed and where it came from.
func (f *fakeFlags) logStart(logger *slog.Logger, addr net.Addr) {
	o := &f.opts
	tokenDesc := "any non-empty token"
	if o.Token != "" {
		tokenDesc = "fixed (from " + f.tokenSource + ")"
	}
	partnerDesc := o.Partner
	if partnerDesc == "" {
		partnerDesc = "any lowercase name"
	}
	logger.Info("fake Insider API starting", "addr", addr.String(), "partner", partnerDesc, "token", tokenDesc,
		"throttle_rps", o.Throttle, "rate_limit_rps", o.RateLimit, "retry_after", o.RetryAfter,
		"maintenance", o.Maintenance, "redirect_to", o.RedirectTo, "fail_rate", o.FailRate, "seed", o.Seed, "delay", o.Delay)
}

// fakeValidateFlags checks the flags of runFake, all problems at once.
func fakeValidateFlags(addr string, throttle, failRate float64, maxBytes int) error {
	var errs []error
	if err := fakeLoopbackOnly(addr); err != nil {
		errs = append(errs, err)
	}
	if throttle < 0 {
		errs = append(errs, fmt.Errorf("--throttle must be 0 or more, got %g", throttle))
	}
	if failRate < 0 || failRate > 1 {
		errs = append(errs, fmt.Errorf("--fail-rate must be between 0 and 1, got %g", failRate))
	}
	if maxBytes < 0 {
		errs = append(errs, fmt.Errorf("--max-bytes must be 0 or more, got %d", maxBytes))
	}
	return errors.Join(errs...)
}

// fakeLoopbackOnly refuses listen addresses that are not loopback: the fake
// accepts any token and holds user data, so it must not be reachable from
// other machines.
func fakeLoopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--addr %q: the fake API listens on loopback only (use 127.0.0.1, ::1 or localhost)", addr)
}

// fakeWriteStats writes st as JSON to path with mode 0600, replacing the
// file atomically.
func fakeWriteStats(path string, st fakeapi.Stats) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode stats: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp-%d-%d", path, os.Getpid(), time.Now().UnixNano())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write stats %s: %w", path, err)
	}
	return nil
}

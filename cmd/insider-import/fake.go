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
	fs := flag.NewFlagSet("insider-import fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: insider-import fake [flags]\n\n"+
			"Serves a local stand-in for Insider's Upsert User Data API (POST /api/user/v1/upsert)\n"+
			"that validates requests like Insider, its Get User Profile API (POST /api/user/v1/profile) answered from what it stored, and GET /stats, GET /events and GET /request-times for inspection.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8080", "loopback `host:port` to listen on (port 0 picks a free one)")
	partner := fs.String("partner", "", "expected X-PARTNER-NAME (default: any non-empty lowercase name)")
	token := fs.String("token", "", "expected X-REQUEST-TOKEN (default: $INSIDER_API_KEY if set, else any non-empty token)")
	throttle := fs.Float64("throttle", 0, "answer 429 above this many `requests/s` across all clients (0 = off)")
	rateLimit := fs.Float64("rate-limit", 0, "let at most this many `requests/s` through in any one second, 429 above (0 = off)")
	retryAfterFlag := fs.Bool("retry-after", false, "with --rate-limit: send Retry-After with each 429")
	maintenance := fs.Bool("maintenance", false, "answer every upsert 200 {\"message\":\"service under maintenance\"} (not Insider's answer)")
	redirectTo := fs.String("redirect-to", "", "answer every upsert with a redirect to `URL`")
	redirectStatus := fs.Int("redirect-status", 302, "the status of --redirect-to (301, 302, 303, 307, 308)")
	badUser := fs.String("bad-user", "", "answer 400 to any request holding a user with this `value` (say an email)")
	failRate := fs.Float64("fail-rate", 0, "`fraction` (0..1) of requests answered with 500")
	seed := fs.Uint64("seed", 1, "seed for --fail-rate, so a run fails the same requests again")
	delay := fs.Duration("delay", 0, "hold every upsert answer back this long (e.g. 200ms)")
	hold := fs.Bool("hold", false, "hold every upsert answer back until POST /release")
	maxBytes := fs.Int("max-bytes", 0, "request size limit in bytes (default: Insider's 5,000,000)")
	statsFile := fs.String("stats-file", "", "write the final stats as JSON to `FILE` on shutdown")
	profileDrop := fs.String("profile-drop", "", "profile API: answer as if attribute `NAME` (c_tier or tier) had never been stored")
	profileChange := fs.String("profile-change", "", "profile API: answer attribute `NAME` with an altered value")
	profileQuota := fs.Float64("profile-quota", 0, "profile API: quota `units` a minute (default Insider's 1000)")
	verbose := fs.Bool("v", false, "log every request, not only rejected ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("fake: unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	tokenSource := "flag"
	if *token == "" {
		*token = os.Getenv("INSIDER_API_KEY")
		tokenSource = "INSIDER_API_KEY"
	}
	if err := fakeValidateFlags(*addr, *throttle, *failRate, *maxBytes); err != nil {
		return usageError{"fake: " + err.Error()}
	}
	if *rateLimit < 0 {
		return usageError{fmt.Sprintf("fake: --rate-limit must be 0 or more, got %g", *rateLimit)}
	}
	if *redirectStatus < 300 || *redirectStatus > 399 {
		return usageError{fmt.Sprintf("fake: --redirect-status must be a 3xx status, got %d", *redirectStatus)}
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv := fakeapi.New(fakeapi.Options{
		Partner:        *partner,
		Token:          *token,
		Throttle:       *throttle,
		RateLimit:      *rateLimit,
		RetryAfter:     *retryAfterFlag,
		Maintenance:    *maintenance,
		RedirectTo:     *redirectTo,
		RedirectStatus: *redirectStatus,
		BadUser:        *badUser,
		FailRate:       *failRate,
		Seed:           *seed,
		Delay:          *delay,
		Hold:           *hold,
		MaxBytes:       *maxBytes,
		Logger:         logger,
		Profile:        fakeapi.ProfileOptions{Quota: *profileQuota, Drop: *profileDrop, Change: *profileChange},
	})

	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("fake: listen: %w", err)
	}
	tokenDesc := "any non-empty token"
	if *token != "" {
		tokenDesc = "fixed (from " + tokenSource + ")"
	}
	partnerDesc := *partner
	if partnerDesc == "" {
		partnerDesc = "any lowercase name"
	}
	logger.Info("fake Insider API starting", "addr", l.Addr().String(), "partner", partnerDesc, "token", tokenDesc,
		"throttle_rps", *throttle, "rate_limit_rps", *rateLimit, "retry_after", *retryAfterFlag,
		"maintenance", *maintenance, "redirect_to", *redirectTo, "fail_rate", *failRate, "seed", *seed, "delay", *delay)
	fmt.Fprintf(stdout, "fake Insider API listening on http://%s\n", l.Addr())

	serveErr := srv.Serve(ctx, l)
	st := srv.Stats()
	logger.Info("fake Insider API stopped", "requests", st.Requests, "accepted", st.Accepted,
		"users_accepted", st.UsersAccepted, "users_rejected", st.UsersRejected,
		"events", st.Events, "distinct_events", st.DistinctEvents)
	var statsErr error
	if *statsFile != "" {
		statsErr = fakeWriteStats(*statsFile, st)
	}
	return errors.Join(serveErr, statsErr)
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

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/internal/safefile"
)

type runFlags struct {
	config     string
	checkpoint string
	report     string
	rejects    string
	dryRun     bool
	restart    bool
	grace      time.Duration
	shardIndex int
	shardCount int
	logFormat  string
	progress   string
	sample     int
	profile    string // insider.profiles account
	verify     int    // users to verify after the run
	// pushgateway and pushInterval override metrics.pushgateway and
	// metrics.push_interval.
	pushgateway  string
	pushInterval time.Duration
	rejectFlags
}

func parseRunFlags(name string, args []string, stderr io.Writer, validate bool) (*runFlags, error) {
	f := &runFlags{shardCount: 1}
	fs := flag.NewFlagSet("insider-import "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "c", "", "the import config `file` (YAML)")
	fs.StringVar(&f.config, "config", "", "same as -c")
	fs.StringVar(&f.report, "report", "", "write the report as JSON to `file` (mode 0600)")
	fs.StringVar(&f.rejects, "rejects", "", "write rejected rows as JSON lines to `file` (default: insider-import-rejects.jsonl beside the checkpoints)")
	f.rejectFlags.register(fs)
	fs.StringVar(&f.logFormat, "log-format", "auto", "log format: json, text, or auto (text on a terminal, JSON elsewhere)")
	fs.StringVar(&f.profile, "profile", "", "the insider.profiles account to import into, e.g. uat or production (default: the only one)")
	fs.StringVar(&f.progress, "progress", "auto", "progress display: bar, log, none, or auto (a bar on a terminal, a JSON log line every 5s elsewhere)")
	if validate {
		fs.IntVar(&f.sample, "sample", 1, "print the first `N` request bodies exactly as they would be sent")
	} else {
		fs.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint location: a `DIR` or s3://bucket/prefix/ (default: .insider-import beside the config)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "read, map and validate everything; send nothing")
		fs.IntVar(&f.verify, "verify", 0, "after the run, read `N` imported users back from Insider and compare (as insider-import verify)")
		fs.BoolVar(&f.restart, "restart", false, "discard this job's checkpoint and import everything from the start")
		fs.DurationVar(&f.grace, "grace", 25*time.Second, "on SIGTERM/SIGINT, how long requests in flight may finish")
		fs.IntVar(&f.shardIndex, "shard-index", envInt("JOB_COMPLETION_INDEX", 0), "this shard's index (default $JOB_COMPLETION_INDEX)")
		fs.IntVar(&f.shardCount, "shard-count", 1, "number of shards the files are split across")
		fs.StringVar(&f.pushgateway, "pushgateway", "", "push Prometheus metrics to the Pushgateway at `URL` during the run and at its end (default: metrics.pushgateway)")
		fs.DurationVar(&f.pushInterval, "push-interval", 0, "how often metrics are pushed during the run (default: metrics.push_interval, 20s)")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := f.rejectFlags.check(); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if f.config == "" {
		return nil, usageError{"-c FILE is required: the import config"}
	}
	if f.pushgateway != "" {
		if err := config.CheckPushgateway(f.pushgateway); err != nil {
			return nil, usageError{fmt.Sprintf("--pushgateway: %v", err)}
		}
	}
	if f.pushInterval < 0 {
		return nil, usageError{"--push-interval must not be negative"}
	}
	if f.verify > 0 && f.shardCount > 1 {
		return nil, usageError{"--verify reads back a job run whole; for shards, run insider-import verify --shard-count N once every shard is done"}
	}
	if f.shardCount < 1 || f.shardIndex < 0 || f.shardIndex >= f.shardCount {
		return nil, usageError{fmt.Sprintf("--shard-index %d must be in [0, --shard-count %d)", f.shardIndex, f.shardCount)}
	}
	return f, nil
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil {
		return n
	}
	return def
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newLogger(format string, stderr io.Writer, tty bool) *slog.Logger {
	if format == "auto" {
		format = "json"
		if tty {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "text" {
		if tty {
			opts.Level = slog.LevelWarn // the bar shows progress; keep the terminal quiet
		}
		return slog.New(slog.NewTextHandler(stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(stderr, opts))
}

// apiKey reads the key from the file or environment variable the config
// names. It is never printed.
func apiKey(cfg *config.Config) (string, error) {
	return readKey(cfg.Insider.APIKeyFile, cfg.Insider.APIKeyEnv, "insider")
}

// readKey reads a key from file, else from the environment variable env;
// section names the config section in messages.
func readKey(file, env, section string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageError{fmt.Sprintf("%s.api_key_file: %v", section, err)}
		}
		return strings.TrimSpace(string(b)), nil
	}
	if k := strings.TrimSpace(os.Getenv(env)); k != "" {
		return k, nil
	}
	return "", usageError{fmt.Sprintf("no API key: set the environment variable %s (%s.api_key_env) or %s.api_key_file", env, section, section)}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer, validate bool) (err error) {
	name := "run"
	if validate {
		name = "validate"
	}
	f, err := parseRunFlags(name, args, stderr, validate)
	if err != nil {
		return err
	}
	if err := safefile.NotLink(f.report); f.report != "" && err != nil {
		return fmt.Errorf("--report: %w", err) // refused before anything is imported
	}
	cfg, err := loadConfig(f.config, f.profile, validate)
	if err != nil {
		return err
	}
	tty := isTerminal(stderr)
	log := newLogger(f.logFormat, stderr, tty)
	opts := importer.Options{
		DryRun: f.dryRun || validate, Restart: f.restart, Grace: f.grace,
		ShardIndex: f.shardIndex, ShardCount: f.shardCount, Logger: log,
	}
	var (
		rep *importer.Report
		ps  *pusher
	)
	if !opts.DryRun {
		// From here on every outcome is pushed, a refused key or a held
		// lease included, so the exit code metric tells why a run failed.
		url, every := cmp.Or(f.pushgateway, cfg.Metrics.Pushgateway), cmp.Or(f.pushInterval, cfg.Metrics.PushInterval)
		ps = newPusher(url, cfg.Metrics.Job, f.shardIndex, every, log)
		defer func() { ps.finish(rep, processExitCode(err), time.Now()) }()

		store, err := f.wireDelivery(ctx, cfg, &opts)
		if err != nil {
			return err
		}
		defer store.Close(context.WithoutCancel(ctx))
	}
	opts.RejectsPath = f.rejects
	f.rejectFlags.apply(&opts)
	if validate {
		opts.OnBatch = printFirst(stdout, f.sample)
	}
	stopProgress := wireProgress(&opts, f.progress, stderr, tty, log)
	ps.start(&opts)
	rep, err = importer.Run(ctx, cfg, opts)
	stopProgress()
	err = acceptRejects(cfg, err)
	if rep != nil {
		err = f.writeReport(rep, err, stdout, stderr)
	}
	if f.verify > 0 && !opts.DryRun && (err == nil || errors.Is(err, importer.ErrIncomplete)) {
		if verr := verifyJob(ctx, cfg, opts.Store, 1, f.verify, jobSeed(cfg.JobID(0, 1)), f.rejects, stdout, log); verr != nil {
			err = verr
		}
	}
	return err
}

// wireDelivery readies a run that sends (not a dry run): it checks the
// partner name, reads the API key and opens the checkpoint store into opts,
// and defaults f.rejects to insider-import-rejects.jsonl beside the
// checkpoints (in the working directory for S3 checkpoints). The caller
// closes the store.
func (f *runFlags) wireDelivery(ctx context.Context, cfg *config.Config, opts *importer.Options) (checkpoint.Store, error) {
	if cfg.Partner() == "" {
		return nil, usageError{"no partner name: set insider.partner in the config or INSIDER_PARTNER_NAME"}
	}
	key, err := apiKey(cfg)
	if err != nil {
		return nil, err
	}
	opts.APIKey = key
	store, dir, err := openStore(ctx, f.checkpoint, f.config, cfg)
	if err != nil {
		return nil, err
	}
	opts.Store, opts.StoreName = store, cmp.Or(dir, f.checkpoint)
	if f.rejects == "" && dir != "" {
		f.rejects = filepath.Join(dir, "insider-import-rejects.jsonl")
	}
	if f.rejects == "" {
		f.rejects = "insider-import-rejects.jsonl"
	}
	return store, nil
}

// printFirst returns an Options.OnBatch that prints the first n request
// bodies to w, one a line (validate --sample).
func printFirst(w io.Writer, n int) func(body []byte) {
	return func(body []byte) {
		if n > 0 {
			n--
			fmt.Fprintf(w, "%s\n", body)
		}
	}
}

// acceptRejects applies delivery.rejects_exit_code: 0: a run that ended
// with rejects (importer.ErrIncomplete) succeeded, the rejects being in the
// report, the rejects file and insider_import_rows_rejected. Other errors
// are returned as they are.
func acceptRejects(cfg *config.Config, err error) error {
	if rc := cfg.Delivery.RejectsExitCode; rc != nil && *rc == exitOK && errors.Is(err, importer.ErrIncomplete) {
		return nil
	}
	return err
}

// writeReport prints rep to stdout and writes it as JSON to --report if
// given. It returns the run's error runErr; if that is nil, a failure to
// write the report, else that failure goes to stderr.
func (f *runFlags) writeReport(rep *importer.Report, runErr error, stdout, stderr io.Writer) error {
	rep.WriteText(stdout)
	if f.report == "" {
		return runErr
	}
	werr := writeJSON(f.report, rep)
	switch {
	case werr == nil:
		return runErr
	case runErr != nil:
		fmt.Fprintf(stderr, "insider-import: %v\n", werr) // the run's own error is returned
		return runErr
	}
	return werr
}

// wireProgress connects importer progress to a bar on a terminal or a JSON
// log line every few seconds elsewhere. It returns a func that finishes the
// display.
func wireProgress(opts *importer.Options, mode string, stderr io.Writer, tty bool, log *slog.Logger) func() {
	if mode == "auto" {
		mode = "log"
		if tty {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
		)
		opts.Progress = func(p importer.Progress) {
			if p.BytesTotal > 0 && bar.GetMax64() != p.BytesTotal {
				bar.ChangeMax64(p.BytesTotal)
			}
			rate := 0.0
			if s := p.Elapsed.Seconds(); s > 0 {
				rate = float64(p.RowsRead) / s
			}
			bar.Describe(fmt.Sprintf("%d rows (%.0f rows/s), %d rejected, %d requests", p.RowsRead, rate, p.RowsRejected, p.Requests))
			bar.Set64(p.BytesRead)
		}
		return func() { bar.Finish(); fmt.Fprintln(stderr) }
	case "log":
		opts.ProgressEvery = 5 * time.Second
		opts.Progress = func(p importer.Progress) {
			rate := 0.0
			if s := p.Elapsed.Seconds(); s > 0 {
				rate = float64(p.RowsRead) / s
			}
			log.Info("progress", "rows_read", p.RowsRead, "rows_done", p.RowsDone, "rows_rejected", p.RowsRejected,
				"events_sent", p.EventsSent, "requests", p.Requests, "retries", p.Retries, "throttled", p.Throttled,
				"bytes_read", p.BytesRead, "bytes_total", p.BytesTotal, "rows_per_second", int64(rate))
		}
	}
	return func() {}
}

// loadConfig loads the config at path (every problem reported at once, as
// *config.ConfigError) and applies the insider.profiles account profile
// (optional with several profiles when validate: a dry run needs none).
func loadConfig(path, profile string, validate bool) (*config.Config, error) {
	cfg, err := config.Load(path, importer.CheckValue)
	if err != nil {
		return nil, err
	}
	if err := cfg.UseProfile(profile, validate); err != nil {
		return nil, err
	}
	return cfg, nil
}

// openStore opens the checkpoint store at uri, chosen by its scheme
// (checkpoint.Open): a local directory (default .insider-import beside the
// config) or an s3:// prefix, reached as the config's source.s3 says. dir
// is the local directory, "" for S3.
func openStore(ctx context.Context, uri, configPath string, cfg *config.Config) (checkpoint.Store, string, error) {
	if uri == "" {
		uri = filepath.Join(filepath.Dir(configPath), ".insider-import")
	}
	s, err := checkpoint.Open(ctx, uri, checkpoint.OpenOptions{S3: cfg.Source.S3})
	if errors.Is(err, checkpoint.ErrBadURI) {
		return nil, "", usageError{fmt.Sprintf("--checkpoint: %v", err)}
	}
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint: %w", err)
	}
	dir, _ := checkpoint.LocalDir(uri)
	return s, dir, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

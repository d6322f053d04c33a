package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/importer/config"
)

// cmdVerify runs `insider-import verify`: it reads a sample of the users
// the job delivered back from Insider's profile API and compares them with
// what was sent (importer.Verify). Exit 0 all equal, 3 some differ or are
// missing, 1 the API failed.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insider-import verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfgPath, cpURI, rejects, profile, seedText, logFormat string
	var n, shards int
	fs.StringVar(&cfgPath, "c", "", "the import config `file` (YAML)")
	fs.IntVar(&shards, "shard-count", 1, "the job ran as this many shards (--shard-count of run): verify them together")
	fs.StringVar(&cfgPath, "config", "", "same as -c")
	fs.IntVar(&n, "n", 0, "how many users to read back (default verify.sample, 20)")
	fs.StringVar(&seedText, "seed", "", "seed of the random sample: the same seed picks the same users (default: from the job id)")
	fs.StringVar(&cpURI, "checkpoint", "", "checkpoint location (as given to run)")
	fs.StringVar(&rejects, "rejects", "", "the job's rejects `file` (as given to run): its rows are not verified")
	fs.StringVar(&profile, "profile", "", "the insider.profiles account to verify (default: the only one)")
	fs.StringVar(&logFormat, "log-format", "auto", "log format: json, text, or auto")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if cfgPath == "" {
		return usageError{"-c FILE is required: the import config"}
	}
	if n < 0 {
		return usageError{"--n must be at least 1"}
	}
	if shards < 1 {
		return usageError{"--shard-count must be at least 1"}
	}
	cfg, err := loadConfig(cfgPath, profile, false)
	if err != nil {
		return err
	}
	if cfg.Partner() == "" {
		return usageError{"no partner name: set insider.partner in the config or INSIDER_PARTNER_NAME"}
	}
	store, dir, err := openStore(ctx, cpURI, cfgPath, cfg)
	if err != nil {
		return err
	}
	defer store.Close(context.WithoutCancel(ctx))
	if rejects == "" {
		rejects = filepath.Join(dir, "insider-import-rejects.jsonl")
		if dir == "" {
			rejects = "insider-import-rejects.jsonl"
		}
	}
	var seed uint64
	if seedText != "" {
		if seed, err = strconv.ParseUint(seedText, 10, 64); err != nil {
			return usageError{fmt.Sprintf("--seed %q: a whole number wanted", seedText)}
		}
	} else {
		seed = jobSeed(cfg.JobID(0, 1))
	}
	log := newLogger(logFormat, stderr, isTerminal(stderr))
	return verifyJob(ctx, cfg, store, shards, n, seed, rejects, stdout, log)
}

// jobSeed is the default seed: the job id's first 64 bits.
func jobSeed(job string) uint64 {
	s, _ := strconv.ParseUint(job[:min(16, len(job))], 16, 64)
	return s
}

// verifyJob reads the checkpoints of the job's shards (1 when it ran
// whole) and verifies a sample of n users.
func verifyJob(ctx context.Context, cfg *config.Config, store checkpoint.Store, shards, n int, seed uint64, rejects string, stdout io.Writer, log *slog.Logger) error {
	key, err := verifyKey(cfg)
	if err != nil {
		return err
	}
	states := make([]checkpoint.State, shards)
	var jobs []string
	found := 0
	for i := range shards {
		job := cfg.JobID(i, shards)
		jobs = append(jobs, job)
		states[i], err = peekState(ctx, store, job)
		switch {
		case errors.Is(err, checkpoint.ErrNotFound):
			log.Warn("verify: a shard has no checkpoint: its rows are not sampled", "shard", i, "job", job)
		case err != nil:
			return err
		default:
			found++
		}
	}
	if found == 0 {
		return fmt.Errorf("verify: job %s has no checkpoint: run the import first (same config, --checkpoint, --profile and --shard-count)", strings.Join(jobs, ", "))
	}
	fmt.Fprintf(stdout, "verify: job %s, partner %s, profile API %s\n", strings.Join(jobs, ", "), cfg.Partner(), cfg.ProfileEndpoint())
	_, err = importer.Verify(ctx, cfg, importer.VerifyOptions{
		N: n, Seed: seed, APIKey: key, Shards: states, RejectsPath: rejects, Out: stdout, Logger: log,
	})
	return err
}

// verifyKey is the profile API's key: from verify.api_key_file or
// verify.api_key_env when set, else the upsert's (apiKey).
func verifyKey(cfg *config.Config) (string, error) {
	if v := cfg.Verify; v.APIKeyFile != "" || v.APIKeyEnv != "" {
		return readKey(v.APIKeyFile, v.APIKeyEnv, "verify")
	}
	return apiKey(cfg)
}

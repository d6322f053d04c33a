// Command insider-import backfills historical user data from CSV and Parquet
// files, local or in S3, into Insider's Upsert User Data API.
//
//	insider-import init     [--out import.yaml] INPUT...
//	insider-import run      -c import.yaml [--checkpoint URI] [--report FILE] [--dry-run]
//	insider-import validate -c import.yaml [--sample N]
//	insider-import status   -c import.yaml
//	insider-import verify   -c import.yaml [--n 20] [--seed S]
//	insider-import fake     [--addr 127.0.0.1:8080]
//	insider-import version
//
// Exit codes: 0 all rows imported; 3 finished, some rows rejected (0 with
// delivery.rejects_exit_code: 0); 2 bad usage or config, or an input that
// cannot be used at all (nothing matches, no such S3 object, not a regular
// file), or Insider refusing the run's users (importer.ErrRefused); 4
// credentials refused (403); 5 another run of the same job holds the
// checkpoint; 1 any other failure
// (among them an input that could not be read to its end: fix it and run
// again to resume); 130/143 interrupted by SIGINT/SIGTERM (the checkpoint
// is saved: run again to resume). verify exits 0 when every field read
// back equals what was sent, 3 when some differ or are missing, 1 when the
// profile API failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sync/atomic"
	"syscall"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitRejects     = 3
	exitCredentials = 4
	exitLeaseHeld   = 5
	exitSIGINT      = 130
	exitSIGTERM     = 143
)

func main() {
	tuneGC()
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		got := <-sigs
		caught.Store(&got)
		cancel()
		// A second signal exits at once; the checkpoint saved so far is
		// valid because every save is atomic.
		s := <-sigs
		fmt.Fprintf(os.Stderr, "insider-import: second %v, exiting now\n", s)
		os.Exit(signalCode(s))
	}()
	stopProfile := startProfile()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(processExitCode(err))
}

// tuneGC sets a soft memory limit of 400 MiB, under the Job's 512 MiB,
// so the collector works harder rather than let the heap grow past it,
// and GOGC 200: the heap is mostly rows and bodies on their way, and
// collecting half as often saved about 15 % of a 1M-row CSV run's CPU for
// about 35 MiB more peak RSS (the limit still holds a slow server's
// backlog). GOGC and GOMEMLIMIT in the environment win.
func tuneGC() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(400 << 20)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200)
	}
}

// startProfile writes a CPU profile of the whole run to the file named by
// INSIDER_IMPORT_CPUPROFILE, for `go tool pprof`, and the allocations to
// that name with ".alloc" added; without it, it does nothing. The
// returned func stops the profile and writes the allocations.
func startProfile() (stop func()) {
	path := os.Getenv("INSIDER_IMPORT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "insider-import: INSIDER_IMPORT_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		writeAllocProfile(path + ".alloc")
	}
}

// writeAllocProfile writes the heap profile (every allocation of the run,
// sampled: `go tool pprof -sample_index=alloc_space`) next to the CPU
// profile.
func writeAllocProfile(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "insider-import: INSIDER_IMPORT_CPUPROFILE: %v\n", err)
	}
}

// caught is the first SIGINT or SIGTERM received, if any.
var caught atomic.Pointer[os.Signal]

// processExitCode is the code the process exits with after err: exitCode's,
// or 130/143 when a signal interrupted the run.
func processExitCode(err error) int {
	if s := caught.Load(); s != nil && (errors.Is(err, importer.ErrInterrupted) || errors.Is(err, context.Canceled)) {
		return signalCode(*s)
	}
	return exitCode(err)
}

func signalCode(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

// usageError marks bad command-line usage (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ce *config.ConfigError
	var ue usageError
	var ie *readers.InputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ce), errors.As(err, &ue), errors.As(err, &ie), errors.Is(err, importer.ErrChangedInput), errors.Is(err, importer.ErrTooManyRejects),
		errors.Is(err, importer.ErrRefused):
		return exitUsage
	case errors.Is(err, importer.ErrIncomplete):
		return exitRejects
	case errors.Is(err, importer.ErrCredentials):
		return exitCredentials
	case errors.Is(err, checkpoint.ErrLeaseHeld):
		return exitLeaseHeld
	}
	// An interruption is 130/143 only when a signal came (see main); a
	// stop for any other cause (a failed checkpoint save) is a failure.
	return exitFailure
}

const usage = `insider-import backfills user data from CSV and Parquet files into Insider's Upsert API.

Usage:
  insider-import init     [--out import.yaml] INPUT...  write a commented config from the inputs' columns and a sample
  insider-import run      -c import.yaml [--checkpoint DIR|s3://bucket/prefix/] [--report FILE] [--rejects FILE] [--dry-run] [--restart]
  insider-import validate -c import.yaml [--sample N]   read, map and validate; send nothing
  insider-import status   -c import.yaml                what the checkpoint says, per file
  insider-import verify   -c import.yaml [--n 20] [--seed S]  read a sample of imported users back from Insider and compare
  insider-import fake     [--addr 127.0.0.1:8080]        local stand-in for the Insider API
  insider-import version                                version, commit and Go version

Run 'insider-import COMMAND -h' for a command's flags.
`

// run dispatches a subcommand. Errors are printed here, once.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr, false)
	case "validate":
		err = cmdRun(ctx, args[1:], stdout, stderr, true)
	case "status":
		err = cmdStatus(ctx, args[1:], stdout, stderr)
	case "verify":
		err = cmdVerify(ctx, args[1:], stdout, stderr)
	case "init":
		err = cmdInit(ctx, args[1:], stdout, stderr)
	case "fake":
		err = runFake(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		err = cmdVersion(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, importer.ErrIncomplete) {
		fmt.Fprintf(stderr, "insider-import: %v\n", err)
	}
	return err
}

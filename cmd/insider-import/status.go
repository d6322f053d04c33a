package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// cmdStatus prints what the checkpoint says about each input: done,
// partial with a percentage, new, changed since it was imported, waiting
// (modified within source.min_age), or gone: "done (gone)" for a finished
// input cleaned up since, "partial (gone)" for one that stops the next run;
// and "missing" for a path of source.paths that matches no file (run stops
// on it with exit 2).
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insider-import status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfgPath, cpURI, profile string
	var shardIndex, shardCount int
	fs.StringVar(&cfgPath, "c", "", "the import config `file` (YAML)")
	fs.StringVar(&cpURI, "checkpoint", "", "checkpoint location (as given to run)")
	fs.IntVar(&shardIndex, "shard-index", envInt("JOB_COMPLETION_INDEX", 0), "shard index")
	fs.IntVar(&shardCount, "shard-count", 1, "shard count")
	fs.StringVar(&profile, "profile", "", "the insider.profiles account (as given to run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfgPath == "" {
		return usageError{"-c FILE is required: the import config"}
	}
	cfg, err := loadConfig(cfgPath, profile, false)
	if err != nil {
		return err
	}
	store, _, err := openStore(ctx, cpURI, cfgPath, cfg)
	if err != nil {
		return err
	}
	defer store.Close(context.WithoutCancel(ctx))
	job := cfg.JobID(shardIndex, shardCount)
	st, err := peekState(ctx, store, job)
	if err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
		return err
	}
	known := st.Index() // Files and the archive
	// A path that matches nothing (and names no file the checkpoint knows)
	// is listed as missing rather than failing the whole listing. Each path
	// is listed once; the files are their union, in order.
	knownNames := slices.Collect(maps.Keys(known))
	var files, missing []string
	seen := map[string]bool{}
	for _, p := range cfg.Source.Paths {
		matched, err := readers.ExpandKnown(ctx, []string{p}, cfg.Source.S3, knownNames)
		switch {
		case errors.Is(err, readers.ErrNoMatch):
			missing = append(missing, p)
			continue
		case err != nil:
			return err
		}
		for _, f := range matched {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	fmt.Fprintf(stdout, "job %s", job)
	if !st.Updated.IsZero() {
		fmt.Fprintf(stdout, ", checkpoint saved %s", st.Updated.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSTATE\tROWS ACKED\tROWS REJECTED\tLAST RUN")
	present := map[string]bool{}
	for _, f := range files {
		present[f] = true
	}
	// Inputs the checkpoint knows that are gone: a finished one was cleaned
	// up (normal); a partly imported one stops the next run.
	for _, f := range slices.Sorted(maps.Keys(known)) {
		if !present[f] {
			files = append(files, f)
		}
	}
	for _, f := range files {
		state, acked, rejected, last := "new", int64(0), int64(0), "-"
		fst := known[f]
		var id readers.Identity
		idErr := errors.New("gone")
		if present[f] {
			id, idErr = identity(ctx, f, cfg)
		}
		if fst != nil {
			acked, rejected = fst.RowsAcked, fst.RowsRejected
			last = fst.LastRun.Format(time.RFC3339)
			state = "partial"
			switch {
			case fst.Total > 0:
				state = fmt.Sprintf("partial %.0f%%", 100*float64(fst.Frontier.Index)/float64(fst.Total))
			case fst.Frontier.Offset > 0 && fst.Identity.Size > 0: // plain CSV not yet read to the end
				state = fmt.Sprintf("partial %.0f%%", 100*float64(fst.Frontier.Offset)/float64(fst.Identity.Size))
			}
			if fst.Finished {
				state = "done"
			}
			switch {
			case !present[f]:
				state += " (gone)"
			case idErr == nil && !id.Equal(fst.Identity):
				state = "changed"
			}
		}
		// Modified within source.min_age: the next run leaves it too.
		if (fst == nil || !fst.Finished) && cfg.Source.MinAge > 0 && idErr == nil && !id.ModTime.IsZero() && time.Since(id.ModTime) < cfg.Source.MinAge {
			state = "waiting"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", f, state, acked, rejected, last)
	}
	for _, p := range missing {
		fmt.Fprintf(tw, "%s\tmissing\t-\t-\t-\n", p)
	}
	return tw.Flush()
}

// peekState reads job's State without taking its lock where the store
// can (an import may be running), else loads it.
func peekState(ctx context.Context, store checkpoint.Store, job string) (checkpoint.State, error) {
	if p, ok := store.(checkpoint.Peeker); ok {
		return p.Peek(ctx, job)
	}
	return store.Load(ctx, job)
}

func identity(ctx context.Context, file string, cfg *config.Config) (readers.Identity, error) {
	return readers.Stat(ctx, file, readers.Options{Format: cfg.Source.Format, S3: cfg.Source.S3})
}

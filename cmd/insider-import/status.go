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
	files, missing, err := statusInputs(ctx, cfg, slices.Collect(maps.Keys(known)))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "job %s", job)
	if !st.Updated.IsZero() {
		fmt.Fprintf(stdout, ", checkpoint saved %s", st.Updated.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	return writeStatusTable(ctx, stdout, cfg, known, files, missing)
}

// statusInputs expands each path of cfg's source.paths, letting it match
// knownNames (the files the checkpoint knows) too. A path that matches
// nothing is returned in missing rather than failing the whole listing.
// Each path is listed once; files are their union, in order.
func statusInputs(ctx context.Context, cfg *config.Config, knownNames []string) (files, missing []string, err error) {
	seen := map[string]bool{}
	for _, p := range cfg.Source.Paths {
		matched, err := readers.ExpandKnown(ctx, []string{p}, cfg.Source.S3, knownNames)
		switch {
		case errors.Is(err, readers.ErrNoMatch):
			missing = append(missing, p)
			continue
		case err != nil:
			return nil, nil, err
		}
		for _, f := range matched {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files, missing, nil
}

// writeStatusTable writes status's table to w: a row for each of files,
// then for each input the checkpoint knows (known) that is gone, in name
// order, then for each missing path.
func writeStatusTable(ctx context.Context, w io.Writer, cfg *config.Config, known map[string]*checkpoint.FileState, files, missing []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
		acked, rejected, last := int64(0), int64(0), "-"
		fst := known[f]
		if fst != nil {
			acked, rejected = fst.RowsAcked, fst.RowsRejected
			last = fst.LastRun.Format(time.RFC3339)
		}
		state := fileStatus(ctx, cfg, f, fst, present[f])
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", f, state, acked, rejected, last)
	}
	for _, p := range missing {
		fmt.Fprintf(tw, "%s\tmissing\t-\t-\t-\n", p)
	}
	return tw.Flush()
}

// fileStatus is the STATE status shows for file, whose checkpoint entry is
// fst (nil if none) and which the source lists if present: new, partial
// (with a percentage when known), done, either one "(gone)", changed, or
// waiting.
func fileStatus(ctx context.Context, cfg *config.Config, file string, fst *checkpoint.FileState, present bool) string {
	var id readers.Identity
	idErr := errors.New("gone")
	if present {
		id, idErr = identity(ctx, file, cfg)
	}
	state := "new"
	if fst != nil {
		state = progressStatus(fst)
		switch {
		case !present:
			state += " (gone)"
		case idErr == nil && !id.Equal(fst.Identity):
			state = "changed"
		}
	}
	// Modified within source.min_age: the next run leaves it too.
	if (fst == nil || !fst.Finished) && cfg.Source.MinAge > 0 && idErr == nil && !id.ModTime.IsZero() && time.Since(id.ModTime) < cfg.Source.MinAge {
		state = "waiting"
	}
	return state
}

// progressStatus says how far the checkpoint got with a file: done, or
// partial with the share of its rows (or, for a plain CSV not yet read to
// the end, of its bytes) when that is known.
func progressStatus(fst *checkpoint.FileState) string {
	if fst.Finished {
		return "done"
	}
	switch {
	case fst.Total > 0:
		return fmt.Sprintf("partial %.0f%%", 100*float64(fst.Frontier.Index)/float64(fst.Total))
	case fst.Frontier.Offset > 0 && fst.Identity.Size > 0: // plain CSV not yet read to the end
		return fmt.Sprintf("partial %.0f%%", 100*float64(fst.Frontier.Offset)/float64(fst.Identity.Size))
	}
	return "partial"
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
	return readers.Stat(ctx, file, cfg.Source.ReaderOptions())
}

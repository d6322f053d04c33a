package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// plan is what the plan stage decides before anything is read or sent:
// the files of this shard, the checkpoint to resume, and the files to read.
type plan struct {
	files []string         // this shard's inputs, in order
	state checkpoint.State // loaded, or new
	todo  []fileTask       // files to read, with where to resume
}

// plan expands the inputs, keeps this shard's, loads and checks the
// checkpoint, and opens every input to check it (preflight).
func (r *run) plan(ctx context.Context) (*plan, error) {
	r.s3 = r.cfg.Source.S3
	if slices.ContainsFunc(r.cfg.Source.Paths, readers.IsS3) {
		// One client, so one credential chain, for every object of the run.
		client, err := readers.NewS3Client(ctx, r.s3)
		if err != nil {
			return nil, err
		}
		r.s3.Client = client
	}
	files, err := readers.Expand(ctx, r.cfg.Source.Paths, r.s3)
	if errors.Is(err, readers.ErrNoMatch) {
		files, err = r.expandKnown(ctx, err)
	}
	if err != nil {
		return nil, err
	}
	p := &plan{}
	if p.files, err = r.shard(ctx, files); err != nil {
		return nil, err
	}
	if p.state, err = r.loadCheckpoint(ctx); err != nil {
		return nil, err
	}
	p.todo, err = r.preflight(ctx, p.files, files, p.state)
	return p, err
}

// expandKnown expands the inputs of a job that ran before, when a pattern
// matched nothing (noMatch): its files may all have been imported and
// cleaned up since, which is normal. A pattern that names none of the
// files the checkpoint knows is still an error.
func (r *run) expandKnown(ctx context.Context, noMatch error) ([]string, error) {
	if r.opts.Store == nil || r.opts.Restart {
		return nil, noMatch
	}
	st, err := r.opts.Store.Load(ctx, r.job)
	if err != nil {
		return nil, noMatch
	}
	return readers.ExpandKnown(ctx, r.cfg.Source.Paths, r.s3, slices.Collect(maps.Keys(st.Index())))
}

// loadCheckpoint returns the job's saved state (deleting it first on
// --restart), or a new one; a checkpoint written for another mapping is
// refused.
func (r *run) loadCheckpoint(ctx context.Context) (checkpoint.State, error) {
	st := checkpoint.State{Version: checkpoint.Version, Job: r.job, ConfigHash: r.cfg.Hash()}
	if r.opts.Store == nil || r.opts.DryRun {
		return st, nil
	}
	if r.opts.Restart {
		if err := r.opts.Store.Delete(ctx, r.job); err != nil {
			return st, fmt.Errorf("checkpoint: %w", err)
		}
	}
	loaded, err := r.opts.Store.Load(ctx, r.job)
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("checkpoint: %w", err)
	case loaded.ConfigHash != st.ConfigHash:
		return st, &ConfigError{Problems: []config.ConfigProblem{{File: r.cfg.File, Msg: fmt.Sprintf(
			"the mapping changed since the checkpoint of job %s was written (%s); payloads would differ from what was sent. Run with --restart to import from the start, or restore the old config to resume",
			r.job, loaded.Updated.Format(time.RFC3339))}}}
	}
	return loaded, nil
}

// shard keeps the inputs assigned to this shard. A Parquet file with
// several row groups is shared by all shards: each reads one contiguous
// range of its row groups, about 1/ShardCount of its rows (r.parts), so
// that one large export does not leave one shard with most of the work.
// Every other file goes whole to one shard by a hash of its name. Each
// shard opens every Parquet file's footer to learn its row groups.
func (r *run) shard(ctx context.Context, files []string) ([]string, error) {
	if r.opts.ShardCount <= 1 {
		return files, nil
	}
	var out []string
	for _, f := range files {
		if readers.FormatOf(f, r.cfg.Source.Format) == readers.FormatParquet {
			rd, err := readers.Open(ctx, f, r.readerOptions(nil))
			if err != nil {
				return nil, err
			}
			splits := readers.Splits(rd)
			rd.Close()
			if len(splits) > 2 { // two row groups or more
				if p, ok := sharePart(splits, r.opts.ShardIndex, r.opts.ShardCount); ok {
					if r.parts == nil {
						r.parts = map[string]part{}
					}
					r.parts[f] = p
					out = append(out, f)
				}
				continue
			}
		}
		h := fnv.New32a()
		h.Write([]byte(f))
		if int(h.Sum32()%uint32(r.opts.ShardCount)) == r.opts.ShardIndex {
			out = append(out, f)
		}
	}
	return out, nil
}

// part is the range of rows [from, to) of a file that this shard reads;
// rows is the file's row count.
type part struct {
	from, to, rows int64
}

// sharePart returns shard i of n's part of a file with the given splits
// (row indexes where reading can start cheaply, from 0 to the row count):
// its share of the row groups, contiguous, so every row is in exactly one
// shard's part. Writers cut row groups of equal size but the last, so equal
// numbers of groups are about equal numbers of rows. ok is false when the
// part is empty (fewer groups than shards).
func sharePart(splits []int64, i, n int) (p part, ok bool) {
	groups := len(splits) - 1
	p = part{from: splits[i*groups/n], to: splits[(i+1)*groups/n], rows: splits[groups]}
	return p, p.from < p.to
}

// partBytes is the share of a file's size that this shard reads.
func (r *run) partBytes(file string, size int64) int64 {
	if p, ok := r.parts[file]; ok && p.rows > 0 {
		return size * (p.to - p.from) / p.rows
	}
	return size
}

type fileTask struct {
	file   string
	resume *checkpoint.FileState // nil: from the start
}

// preflight opens every input before anything is sent: each must have the
// mapped columns in types the mapping can read (see precheck.go), and match
// its checkpoint. It returns the files to read. An input that differs from
// the one the checkpoint recorded is decided by source.on_change; one
// modified within source.min_age waits for a later run; a partly imported
// input that is gone (all lists every input of the job, in any shard)
// stops the run unless on_change is skip.
func (r *run) preflight(ctx context.Context, files, all []string, st checkpoint.State) ([]fileTask, error) {
	var (
		problems []config.ConfigProblem
		hints    []string
		changed  []string
		todo     []fileTask
		// firstText is the first text input (CSV), whose first rows are
		// checked against the mapping (sampleProblems).
		firstText string
	)
	onChange := r.cfg.Source.OnChange
	known := st.Index() // Files and the archive
	for _, f := range files {
		fs := known[f]
		var id readers.Identity
		if fs != nil && fs.Finished {
			// A finished file is never read again: its identity is enough.
			var err error
			if id, err = readers.Stat(ctx, f, r.readerOptions(nil)); err != nil {
				return nil, err
			}
			if fs.Identity.Equal(id) {
				r.listFile(FileReport{File: f, State: "skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected, Note: "finished by an earlier run"})
				continue
			}
			switch onChange {
			case config.OnChangeSkip:
				r.skipChanged(f, fs, id)
				continue
			case config.OnChangeStop:
				changed = append(changed, changedLine(f, fs, id))
				continue
			}
			fs = r.reimport(st, f) // and read it like a new one, below
		}
		if r.waiting(ctx, f, id) {
			continue
		}
		rd, err := readers.Open(ctx, f, r.readerOptions(nil))
		if err != nil {
			return nil, err
		}
		id, cols, types := rd.Identity(), rd.Columns(), readers.ColumnTypes(rd)
		rd.Close()
		r.bytesTotal += r.partBytes(f, id.Size)
		mp, err := encode.NewMapper(r.cfg, f, cols, time.Time{})
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				problems = append(problems, ce.Problems...)
				hints = append(hints, ce.Hints...)
				continue
			}
			return nil, err
		}
		problems = append(problems, r.schemaProblems(ctx, f, mp, types)...)
		if firstText == "" && readers.FormatOf(f, r.cfg.Source.Format) == readers.FormatCSV {
			firstText = f
		}
		switch {
		case fs == nil:
			todo = append(todo, fileTask{file: f})
		case fs.Unreadable != "" && !fs.Identity.Equal(id):
			r.log.Info("input changed since reading it stopped on an error; resuming at the same row of the new version",
				"file", f, "row", fs.Frontier.Row(), "error", fs.Unreadable)
			todo = append(todo, fileTask{file: f, resume: fs})
		case !fs.Identity.Equal(id) && onChange == config.OnChangeSkip:
			r.skipChanged(f, fs, id)
		case !fs.Identity.Equal(id) && onChange == config.OnChangeReimport:
			r.reimport(st, f)
			todo = append(todo, fileTask{file: f})
		case !fs.Identity.Equal(id):
			changed = append(changed, changedLine(f, fs, id))
		default:
			todo = append(todo, fileTask{file: f, resume: fs})
		}
	}
	changed = append(changed, r.gone(st, all)...)
	if len(problems) == 0 && firstText != "" {
		ps, err := r.sampleProblems(ctx, firstText)
		if err != nil {
			return nil, err
		}
		problems = ps
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems, Hints: hints}
	}
	if len(changed) > 0 {
		return nil, changedInputs(changed)
	}
	return todo, nil
}

// changedInputs stops a run (source.on_change: stop) before anything is
// sent: the inputs that differ from the checkpoint, one a line, and the
// choices. It is an ErrChangedInput.
type changedInputs []string

func (c changedInputs) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d input(s) changed or gone since the checkpoint was written (source.on_change: stop); nothing was sent:\n  %s\n",
		len(c), strings.Join(c, "\n  "))
	b.WriteString("Choose: source.on_change: reimport imports a changed file's new content from row 1; " +
		"source.on_change: skip leaves changed and gone files as they are (reported, counted as files_skipped_changed); " +
		"or run with --restart to start the whole job over. A gone or cut file put back as it was resumes where it stopped")
	return b.String()
}

func (c changedInputs) Is(target error) bool { return target == ErrChangedInput }

// changedLine describes an input that differs from its checkpoint.
func changedLine(f string, fs *checkpoint.FileState, id readers.Identity) string {
	how := "finished earlier"
	if !fs.Finished {
		how = fmt.Sprintf("partly imported, %s rows acknowledged", readers.Thousands(fs.RowsAcked))
	}
	return fmt.Sprintf("%s: changed since it was imported (%s): was %s bytes, %s; now %s bytes, %s",
		f, how, readers.Thousands(fs.Identity.Size), identVersion(fs.Identity), readers.Thousands(id.Size), identVersion(id))
}

// skipChanged leaves a changed input as the checkpoint has it
// (source.on_change: skip): reported, and counted.
func (r *run) skipChanged(f string, fs *checkpoint.FileState, id readers.Identity) {
	r.log.Warn("input changed since it was imported; not importing it again (source.on_change: skip)", "file", f)
	r.decided.SkippedChanged++
	r.listFile(FileReport{File: f, State: "changed, skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected, Note: fmt.Sprintf(
		"was %s bytes (%s), now %s bytes (%s); left as it is (source.on_change: skip)",
		readers.Thousands(fs.Identity.Size), identVersion(fs.Identity), readers.Thousands(id.Size), identVersion(id))})
}

// reimport forgets a changed input's progress (source.on_change: reimport):
// it is read again from row 1. The earlier version's rejects stay in the
// rejects files.
func (r *run) reimport(st checkpoint.State, f string) *checkpoint.FileState {
	r.log.Warn("input changed since it was imported; importing the new version from row 1 (source.on_change: reimport)", "file", f)
	r.decided.Reimported++
	if r.reimported == nil {
		r.reimported = map[string]bool{}
	}
	r.reimported[f] = true
	delete(st.Files, f)
	return nil
}

// waiting reports whether f was modified within source.min_age (id, when
// known, is its identity): it is left for a later run, and listed.
func (r *run) waiting(ctx context.Context, f string, id readers.Identity) bool {
	if r.cfg.Source.MinAge <= 0 {
		return false
	}
	if id.Size == 0 && id.ModTime.IsZero() {
		var err error
		if id, err = readers.Stat(ctx, f, r.readerOptions(nil)); err != nil {
			return false // the open that follows reports it
		}
	}
	if id.ModTime.IsZero() { // S3: objects appear whole
		return false
	}
	age := r.opts.Now().Sub(id.ModTime)
	if age >= r.cfg.Source.MinAge {
		return false
	}
	r.decided.Waiting++
	r.listFile(FileReport{File: f, State: "waiting", Note: fmt.Sprintf(
		"modified %s ago, less than source.min_age (%s): left for a later run", age.Round(time.Second), r.cfg.Source.MinAge)})
	return true
}

// gone lists the partly imported inputs of the checkpoint that are no
// longer among the inputs (all), to stop the run; with source.on_change:
// skip they are reported and counted instead. A finished input that is
// gone is normal (imported exports get cleaned up): nothing is said.
func (r *run) gone(st checkpoint.State, all []string) []string {
	present := make(map[string]bool, len(all))
	for _, f := range all {
		present[f] = true
	}
	var out []string
	for _, f := range slices.Sorted(maps.Keys(st.Files)) {
		fs := st.Files[f]
		if present[f] || fs.Finished {
			continue
		}
		how := "partial: " + readers.Thousands(fs.RowsAcked)
		if total := estimateRows(fs); total > 0 {
			how += " of ~" + readers.Thousands(total)
		}
		how += " rows acknowledged"
		if r.cfg.Source.OnChange == config.OnChangeSkip {
			r.log.Warn("a partly imported input is gone; leaving its rest (source.on_change: skip)", "file", f, "rows_acked", fs.RowsAcked)
			r.decided.SkippedChanged++
			r.listFile(FileReport{File: f, State: "gone, skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected,
				Note: how + "; the rest is not imported (source.on_change: skip)"})
			continue
		}
		out = append(out, fmt.Sprintf("%s: gone (removed, or no longer matched by source.paths) while partly imported (%s)", f, how))
	}
	return out
}

// estimateRows is about how many rows a partly imported file has: known
// once it was read to its end, else worked out from the bytes behind the
// frontier (plain CSV); 0 when it cannot be told.
func estimateRows(fs *checkpoint.FileState) int64 {
	switch {
	case fs.Total > 0:
		return fs.Total
	case fs.Frontier.Offset > 0 && fs.Frontier.Index > 0 && fs.Identity.Size > 0:
		return int64(float64(fs.Frontier.Index) * float64(fs.Identity.Size) / float64(fs.Frontier.Offset))
	}
	return 0
}

func identVersion(id readers.Identity) string {
	if id.ETag != "" {
		return "ETag " + id.ETag
	}
	return "modified " + id.ModTime.Format(time.RFC3339)
}

func (r *run) readerOptions(start *readers.Position) readers.Options {
	src := &r.cfg.Source
	return readers.Options{Format: src.Format, Delimiter: src.Delimiter, Encoding: src.Encoding, MaxRecordBytes: src.MaxRecordBytes, Start: start, S3: r.s3,
		Quote: src.Quote, Escape: src.Escape, NoHeader: src.NoHeader, Names: src.Columns, TextNullMarker: src.TextNullMarker}
}

// scanOptions are readerOptions for reading rows: a columnar input
// (Parquet) reads only the mapped columns. The plan opens inputs with every
// column, so that a missing one is reported with the header found.
func (r *run) scanOptions(start *readers.Position) readers.Options {
	o := r.readerOptions(start)
	if !r.cfg.Source.ColumnsInsensitive { // else every column: the file's may be spelled otherwise
		o.Columns = r.cfg.Mapping.Columns()
	}
	return o
}

// partOptions are the scan options for this shard's part of file from
// start (nil: the beginning of the part), and where the part begins.
func (r *run) partOptions(file string, start *readers.Position) (readers.Options, readers.Position) {
	from := readers.Position{File: file, Offset: -1}
	p, ok := r.parts[file]
	if !ok {
		return r.scanOptions(start), from
	}
	from.Index = p.from
	if start == nil || start.Index < p.from {
		start = &from
	}
	o := r.scanOptions(start)
	o.Stop = &readers.Position{File: file, Index: p.to, Offset: -1}
	return o, from
}

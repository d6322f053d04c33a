package plan

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// ErrChangedInput: an input differs from the one the checkpoint was
// written for.
var ErrChangedInput = errors.New("an input changed since the checkpoint was written")

// Options are the run's settings the plan reads.
type Options struct {
	Job     string           // the job's checkpoint name (config.Config.JobID)
	Store   checkpoint.Store // nil: no checkpoint
	Restart bool             // discard the job's checkpoint and start over
	DryRun  bool             // the checkpoint is neither read nor deleted
	// ShardIndex and ShardCount pick this shard's inputs (ShardCount 1:
	// all of them).
	ShardIndex, ShardCount int
	// RejectLimit says a reject limit (--max-rejects) is set: the first
	// rows of the first text input are then not held against the mapping.
	RejectLimit bool
	Now         func() time.Time
	Log         *slog.Logger
	// List lists an input in the report, with what was decided about it.
	List func(FileReport)
}

// Plan is what the plan stage decides before anything is read or sent:
// the files of this shard, the checkpoint to resume, and the files to
// read. It gives the options to read them with.
type Plan struct {
	Files []string         // this shard's inputs, in order
	State checkpoint.State // loaded, or new
	Todo  []Task           // files to read, with where to resume
	// BytesTotal is the size of the inputs to read (this shard's part of
	// each).
	BytesTotal int64
	// Decided counts what source.on_change and source.min_age decided
	// about inputs; Reimported lists the files read again from row 1.
	Decided    FileDecisions
	Reimported map[string]bool

	cfg   *config.Config
	opts  Options
	s3    readers.S3Options       // the config's, with one client for the run
	parts map[string]readers.Part // files this shard shares with the others, by row group
}

// Task is a file to read, and where it resumes.
type Task struct {
	File   string
	Resume *checkpoint.FileState // nil: from the start
}

// FileDecisions count the inputs a run did not simply read or resume:
// changed since the checkpoint and read again from row 1, or left as they
// are (source.on_change), and those modified too recently (source.min_age).
type FileDecisions struct {
	Reimported int64 `json:"files_reimported"`
	// SkippedChanged counts changed inputs, and partly imported ones that
	// are gone, left as they are by source.on_change: skip.
	SkippedChanged int64 `json:"files_skipped_changed"`
	Waiting        int64 `json:"files_waiting"`
}

// FileReport is the state of one input at the end of a run.
type FileReport struct {
	File         string `json:"file"`
	State        string `json:"state"` // done, partial, skipped (done earlier), changed, skipped; gone, skipped; waiting
	RowsAcked    int64  `json:"rows_acked"`
	RowsRejected int64  `json:"rows_rejected"`
	Note         string `json:"note,omitempty"`
}

// Make expands the inputs, keeps this shard's, loads and checks the
// checkpoint, and opens every input to check it (preflight). The Plan it
// returns holds what was decided (Decided, Reimported) even with an error.
func Make(ctx context.Context, cfg *config.Config, opts Options) (*Plan, error) {
	p := &Plan{cfg: cfg, opts: opts, s3: cfg.Source.S3}
	if slices.ContainsFunc(cfg.Source.Paths, readers.IsS3) {
		// One client, so one credential chain, for every object of the run.
		client, err := readers.NewS3Client(ctx, p.s3)
		if err != nil {
			return p, err
		}
		p.s3.Client = client
	}
	files, err := readers.Expand(ctx, cfg.Source.Paths, p.s3)
	if errors.Is(err, readers.ErrNoMatch) {
		files, err = p.expandKnown(ctx, err)
	}
	if err != nil {
		return p, err
	}
	if p.Files, err = p.shard(ctx, files); err != nil {
		return p, err
	}
	if p.State, err = p.loadCheckpoint(ctx); err != nil {
		return p, err
	}
	p.Todo, err = p.preflight(ctx, p.Files, files, p.State)
	return p, err
}

// expandKnown expands the inputs of a job that ran before, when a pattern
// matched nothing (noMatch): its files may all have been imported and
// cleaned up since, which is normal. A pattern that names none of the
// files the checkpoint knows is still an error.
func (p *Plan) expandKnown(ctx context.Context, noMatch error) ([]string, error) {
	if p.opts.Store == nil || p.opts.Restart {
		return nil, noMatch
	}
	st, err := p.opts.Store.Load(ctx, p.opts.Job)
	if err != nil {
		return nil, noMatch
	}
	return readers.ExpandKnown(ctx, p.cfg.Source.Paths, p.s3, slices.Collect(maps.Keys(st.Index())))
}

// loadCheckpoint returns the job's saved state (deleting it first on
// --restart), or a new one; a checkpoint written for another mapping is
// refused.
func (p *Plan) loadCheckpoint(ctx context.Context) (checkpoint.State, error) {
	st := checkpoint.State{Version: checkpoint.Version, Job: p.opts.Job, ConfigHash: p.cfg.Hash()}
	if p.opts.Store == nil || p.opts.DryRun {
		return st, nil
	}
	if p.opts.Restart {
		if err := p.opts.Store.Delete(ctx, p.opts.Job); err != nil {
			return st, fmt.Errorf("checkpoint: %w", err)
		}
	}
	loaded, err := p.opts.Store.Load(ctx, p.opts.Job)
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("checkpoint: %w", err)
	case loaded.ConfigHash != st.ConfigHash:
		return st, &config.ConfigError{Problems: []config.ConfigProblem{{File: p.cfg.File, Msg: fmt.Sprintf(
			"the mapping changed since the checkpoint of job %s was written (%s); payloads would differ from what was sent. Run with --restart to import from the start, or restore the old config to resume",
			p.opts.Job, loaded.Updated.Format(time.RFC3339))}}}
	}
	return loaded, nil
}

// shard keeps the inputs assigned to this shard. A Parquet file with
// several row groups is shared by all shards: each reads one contiguous
// range of its row groups, about 1/ShardCount of its rows (p.parts), so
// that one large export does not leave one shard with most of the work.
// Every other file goes whole to one shard by a hash of its name. Each
// shard opens every Parquet file's footer to learn its row groups.
func (p *Plan) shard(ctx context.Context, files []string) ([]string, error) {
	if p.opts.ShardCount <= 1 {
		return files, nil
	}
	var out []string
	for _, f := range files {
		if readers.FormatOf(f, p.cfg.Source.Format) == readers.FormatParquet {
			rd, err := readers.Open(ctx, f, p.ReaderOptions(nil))
			if err != nil {
				return nil, err
			}
			splits := readers.Splits(rd)
			rd.Close()
			if len(splits) > 2 { // two row groups or more
				if part, ok := readers.SharePart(splits, p.opts.ShardIndex, p.opts.ShardCount); ok {
					if p.parts == nil {
						p.parts = map[string]readers.Part{}
					}
					p.parts[f] = part
					out = append(out, f)
				}
				continue
			}
		}
		h := fnv.New32a()
		h.Write([]byte(f))
		if int(h.Sum32()%uint32(p.opts.ShardCount)) == p.opts.ShardIndex {
			out = append(out, f)
		}
	}
	return out, nil
}

// PartBytes is the share of a file's size that this shard reads.
func (p *Plan) PartBytes(file string, size int64) int64 {
	if part, ok := p.parts[file]; ok && part.Rows > 0 {
		return size * (part.To - part.From) / part.Rows
	}
	return size
}

// preflight opens every input before anything is sent: each must have the
// mapped columns in types the mapping can read (encode.SchemaProblems and
// SampleProblems), and match its checkpoint. It returns the files to read.
// An input that differs from the one the checkpoint recorded is decided by
// source.on_change; one modified within source.min_age waits for a later
// run; a partly imported input that is gone (all lists every input of the
// job, in any shard) stops the run unless on_change is skip.
func (p *Plan) preflight(ctx context.Context, files, all []string, st checkpoint.State) ([]Task, error) {
	c := &inputChecks{p: p, st: st}
	known := st.Index() // Files and the archive
	for _, f := range files {
		if err := c.input(ctx, f, known[f]); err != nil {
			return nil, err
		}
	}
	c.changed = append(c.changed, p.gone(st, all)...)
	if err := c.sample(ctx); err != nil {
		return nil, err
	}
	if len(c.problems) > 0 {
		return nil, &config.ConfigError{Problems: c.problems, Hints: c.hints}
	}
	if len(c.changed) > 0 {
		return nil, changedInputs(c.changed)
	}
	return c.todo, nil
}

// inputChecks is what preflight gathers over the inputs.
type inputChecks struct {
	p        *Plan
	st       checkpoint.State
	problems []config.ConfigProblem // the mapping against the inputs
	hints    []string
	changed  []string // inputs that differ from the checkpoint, one a line
	todo     []Task
	// firstText is the first text input (CSV), whose first rows are
	// checked against the mapping (encode.SampleProblems).
	firstText string
}

// input checks input f, whose checkpoint state is fs (nil: new): a
// finished one by its identity alone, else, unless it waits for
// source.min_age, by opening it; then decides how it is read.
func (c *inputChecks) input(ctx context.Context, f string, fs *checkpoint.FileState) error {
	var id readers.Identity
	if fs != nil && fs.Finished {
		var again bool
		var err error
		if id, again, err = c.finished(ctx, f, fs); err != nil || !again {
			return err
		}
		fs = nil // reimported: read like a new one, below
	}
	if c.p.waiting(ctx, f, id) {
		return nil
	}
	id, mapped, err := c.columns(ctx, f)
	if err != nil || !mapped {
		return err
	}
	c.schedule(f, fs, id)
	return nil
}

// finished checks a finished input, which is never read again: its
// identity (id) is enough. Unchanged, it is listed as skipped; changed,
// source.on_change skips it, stops the run or imports it again (again).
func (c *inputChecks) finished(ctx context.Context, f string, fs *checkpoint.FileState) (id readers.Identity, again bool, err error) {
	if id, err = readers.Stat(ctx, f, c.p.ReaderOptions(nil)); err != nil {
		return id, false, err
	}
	if fs.Identity.Equal(id) {
		c.p.opts.List(FileReport{File: f, State: "skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected, Note: "finished by an earlier run"})
		return id, false, nil
	}
	switch c.p.cfg.Source.OnChange {
	case config.OnChangeSkip:
		c.p.skipChanged(f, fs, id)
		return id, false, nil
	case config.OnChangeStop:
		c.changed = append(c.changed, changedLine(f, fs, id))
		return id, false, nil
	}
	c.p.reimport(c.st, f)
	return id, true, nil
}

// columns opens input f once: its identity (id), counted in the bytes to
// read, and its columns and their types held against the mapping. mapped
// is false when the mapping's columns are not all there.
func (c *inputChecks) columns(ctx context.Context, f string) (id readers.Identity, mapped bool, err error) {
	p := c.p
	rd, err := readers.Open(ctx, f, p.ReaderOptions(nil))
	if err != nil {
		return id, false, err
	}
	id, cols, types := rd.Identity(), rd.Columns(), readers.ColumnTypes(rd)
	rd.Close()
	p.BytesTotal += p.PartBytes(f, id.Size)
	mp, err := encode.NewMapper(p.cfg, f, cols, time.Time{})
	if err != nil {
		var ce *config.ConfigError
		if errors.As(err, &ce) {
			c.problems = append(c.problems, ce.Problems...)
			c.hints = append(c.hints, ce.Hints...)
			return id, false, nil
		}
		return id, false, err
	}
	c.problems = append(c.problems, encode.SchemaProblems(ctx, mp, types, p.ReaderOptions(nil))...)
	if c.firstText == "" && readers.FormatOf(f, p.cfg.Source.Format) == readers.FormatCSV {
		c.firstText = f
	}
	return id, true, nil
}

// schedule decides how input f, now of identity id, is read against its
// checkpoint state fs: new, from the start; the same, or changed after
// reading it stopped on an error, from where it stopped; otherwise
// changed, as source.on_change says.
func (c *inputChecks) schedule(f string, fs *checkpoint.FileState, id readers.Identity) {
	p := c.p
	onChange := p.cfg.Source.OnChange
	switch {
	case fs == nil:
		c.todo = append(c.todo, Task{File: f})
	case fs.Unreadable != "" && !fs.Identity.Equal(id):
		p.opts.Log.Info("input changed since reading it stopped on an error; resuming at the same row of the new version",
			"file", f, "row", fs.Frontier.Row(), "error", fs.Unreadable)
		c.todo = append(c.todo, Task{File: f, Resume: fs})
	case !fs.Identity.Equal(id) && onChange == config.OnChangeSkip:
		p.skipChanged(f, fs, id)
	case !fs.Identity.Equal(id) && onChange == config.OnChangeReimport:
		p.reimport(c.st, f)
		c.todo = append(c.todo, Task{File: f})
	case !fs.Identity.Equal(id):
		c.changed = append(c.changed, changedLine(f, fs, id))
	default:
		c.todo = append(c.todo, Task{File: f, Resume: fs})
	}
}

// sample holds the mapping against the first rows of the first text
// input, when the inputs' columns and types raised no problem; not when
// --max-rejects is set, which says how many rejects the run may take.
func (c *inputChecks) sample(ctx context.Context) error {
	if len(c.problems) > 0 || c.firstText == "" {
		return nil
	}
	ps, err := encode.SampleProblems(ctx, c.p.cfg, c.firstText, c.p.ReaderOptions(nil), c.p.opts.Log)
	if err != nil {
		return err
	}
	if !c.p.opts.RejectLimit {
		c.problems = ps
	}
	return nil
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
func (p *Plan) skipChanged(f string, fs *checkpoint.FileState, id readers.Identity) {
	p.opts.Log.Warn("input changed since it was imported; not importing it again (source.on_change: skip)", "file", f)
	p.Decided.SkippedChanged++
	p.opts.List(FileReport{File: f, State: "changed, skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected, Note: fmt.Sprintf(
		"was %s bytes (%s), now %s bytes (%s); left as it is (source.on_change: skip)",
		readers.Thousands(fs.Identity.Size), identVersion(fs.Identity), readers.Thousands(id.Size), identVersion(id))})
}

// reimport forgets a changed input's progress (source.on_change: reimport):
// it is read again from row 1. The earlier version's rejects stay in the
// rejects files.
func (p *Plan) reimport(st checkpoint.State, f string) *checkpoint.FileState {
	p.opts.Log.Warn("input changed since it was imported; importing the new version from row 1 (source.on_change: reimport)", "file", f)
	p.Decided.Reimported++
	if p.Reimported == nil {
		p.Reimported = map[string]bool{}
	}
	p.Reimported[f] = true
	delete(st.Files, f)
	return nil
}

// waiting reports whether f was modified within source.min_age (id, when
// known, is its identity): it is left for a later run, and listed.
func (p *Plan) waiting(ctx context.Context, f string, id readers.Identity) bool {
	if p.cfg.Source.MinAge <= 0 {
		return false
	}
	if id.Size == 0 && id.ModTime.IsZero() {
		var err error
		if id, err = readers.Stat(ctx, f, p.ReaderOptions(nil)); err != nil {
			return false // the open that follows reports it
		}
	}
	if id.ModTime.IsZero() { // S3: objects appear whole
		return false
	}
	age := p.opts.Now().Sub(id.ModTime)
	if age >= p.cfg.Source.MinAge {
		return false
	}
	p.Decided.Waiting++
	p.opts.List(FileReport{File: f, State: "waiting", Note: fmt.Sprintf(
		"modified %s ago, less than source.min_age (%s): left for a later run", age.Round(time.Second), p.cfg.Source.MinAge)})
	return true
}

// gone lists the partly imported inputs of the checkpoint that are no
// longer among the inputs (all), to stop the run; with source.on_change:
// skip they are reported and counted instead. A finished input that is
// gone is normal (imported exports get cleaned up): nothing is said.
func (p *Plan) gone(st checkpoint.State, all []string) []string {
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
		if p.cfg.Source.OnChange == config.OnChangeSkip {
			p.opts.Log.Warn("a partly imported input is gone; leaving its rest (source.on_change: skip)", "file", f, "rows_acked", fs.RowsAcked)
			p.Decided.SkippedChanged++
			p.opts.List(FileReport{File: f, State: "gone, skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected,
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

// ReaderOptions are the source's reader options from start (nil: the
// beginning), with the run's S3 client.
func (p *Plan) ReaderOptions(start *readers.Position) readers.Options {
	o := p.cfg.Source.ReaderOptions()
	o.Start, o.S3 = start, p.s3
	return o
}

// ScanOptions are ReaderOptions for reading rows: a columnar input
// (Parquet) reads only the mapped columns. The plan opens inputs with every
// column, so that a missing one is reported with the header found.
func (p *Plan) ScanOptions(start *readers.Position) readers.Options {
	o := p.ReaderOptions(start)
	o.Columns = p.cfg.ReadColumns()
	return o
}

// PartOptions are the scan options for this shard's part of file from
// start (nil: the beginning of the part), and where the part begins.
func (p *Plan) PartOptions(file string, start *readers.Position) (readers.Options, readers.Position) {
	from := readers.Position{File: file, Offset: -1}
	part, ok := p.parts[file]
	if !ok {
		return p.ScanOptions(start), from
	}
	from.Index = part.From
	if start == nil || start.Index < part.From {
		start = &from
	}
	o := p.ScanOptions(start)
	o.Stop = &readers.Position{File: file, Index: part.To, Offset: -1}
	return o, from
}

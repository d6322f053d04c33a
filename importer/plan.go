package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
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
	p.todo, err = r.preflight(ctx, p.files, p.state)
	return p, err
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
		return st, &ConfigError{Problems: []ConfigProblem{{File: r.cfg.File, Msg: fmt.Sprintf(
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
// mapped columns, and match its checkpoint. It returns the files to read.
func (r *run) preflight(ctx context.Context, files []string, st checkpoint.State) ([]fileTask, error) {
	var (
		problems []ConfigProblem
		hints    []string
		changed  []string
		todo     []fileTask
	)
	for _, f := range files {
		fs := st.Files[f]
		if fs != nil && fs.Finished {
			// A finished file is never read again: its identity is enough.
			id, err := readers.Stat(ctx, f, r.readerOptions(nil))
			if err != nil {
				return nil, err
			}
			if fs.Identity.Equal(id) {
				r.files = append(r.files, FileReport{File: f, State: "skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected, Note: "finished by an earlier run"})
			} else {
				r.log.Warn("input changed since it was imported; not importing it again", "file", f)
				r.files = append(r.files, FileReport{File: f, State: "changed", Note: fmt.Sprintf(
					"was %d bytes (%s), now %d bytes (%s); not imported again, use --restart to re-import",
					fs.Identity.Size, identVersion(fs.Identity), id.Size, identVersion(id))})
			}
			continue
		}
		rd, err := readers.Open(ctx, f, r.readerOptions(nil))
		if err != nil {
			return nil, err
		}
		id, cols := rd.Identity(), rd.Columns()
		rd.Close()
		r.bytesTotal += r.partBytes(f, id.Size)
		if _, err := newMapper(r.cfg, f, cols, time.Time{}); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				problems = append(problems, ce.Problems...)
				hints = append(hints, ce.Hints...)
				continue
			}
			return nil, err
		}
		switch {
		case fs == nil:
			todo = append(todo, fileTask{file: f})
		case fs.Unreadable != "" && !fs.Identity.Equal(id):
			r.log.Info("input changed since reading it stopped on an error; resuming at the same row of the new version",
				"file", f, "row", fs.Frontier.Row(), "error", fs.Unreadable)
			todo = append(todo, fileTask{file: f, resume: fs})
		case !fs.Identity.Equal(id):
			changed = append(changed, fmt.Sprintf("%s: %v while partly imported (%d rows acknowledged; was %d bytes, %s; now %d bytes, %s)",
				f, ErrChangedInput, fs.RowsAcked, fs.Identity.Size, identVersion(fs.Identity), id.Size, identVersion(id)))
		default:
			todo = append(todo, fileTask{file: f, resume: fs})
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems, Hints: hints}
	}
	if len(changed) > 0 {
		return nil, fmt.Errorf("%w; run with --restart to start the job over:\n  %s", ErrChangedInput, strings.Join(changed, "\n  "))
	}
	return todo, nil
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
		o.Columns = mappedColumns(&r.cfg.Mapping)
	}
	return o
}

// mappedColumns lists the columns the mapping reads, each once.
func mappedColumns(m *Mapping) []string {
	cols := []string{}
	add := func(fs ...Field) {
		for _, f := range fs {
			if f.Column != "" && !slices.Contains(cols, f.Column) {
				cols = append(cols, f.Column)
			}
		}
	}
	add(m.Identifiers...)
	add(m.Attributes...)
	for _, e := range m.Events {
		add(e.Timestamp)
		if e.NameColumn != nil {
			add(*e.NameColumn)
		}
		add(e.Params...)
	}
	return cols
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

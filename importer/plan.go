package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

// shard keeps the files assigned to this shard: each file goes to one shard
// by a hash of its name.
func (r *run) shard(files []string) []string {
	if r.opts.ShardCount <= 1 {
		return files
	}
	var out []string
	for _, f := range files {
		h := fnv.New32a()
		h.Write([]byte(f))
		if int(h.Sum32()%uint32(r.opts.ShardCount)) == r.opts.ShardIndex {
			out = append(out, f)
		}
	}
	return out
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
		r.bytesTotal += id.Size
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
	return readers.Options{Format: src.Format, Delimiter: src.Delimiter, Encoding: src.Encoding, MaxRecordBytes: src.MaxRecordBytes, Start: start, S3: r.s3}
}

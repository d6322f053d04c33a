package rejects

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/internal/safefile"
)

// Writer appends rejected rows to a JSON-lines file, one object a
// row: file, row, line, the reasons found, Insider's messages and the
// original cells by column; and, when asked, to a CSV a user can fix and
// import again (see CSV). The files hold user data, so they are
// opened through safefile (mode 0600, never through a symbolic link), and
// only when there is something to write.
//
// The files survive a crash: rows are appended as whole lines only (see
// appender), and state gives, for the checkpoint, each file's length at a
// moment when it holds exactly the rejects of the batches the ledger counts
// as finished (the ledger writes rejects and marks their batch finished
// under one lock). A resume truncates each file to that length (Resume), so
// the lines of batches a killed run redid appear once.
type Writer struct {
	path    string              // "" writes no JSON lines
	columns map[string][]string // by file
	csv     *CSV                // nil writes no CSV
	mu      sync.Mutex
	jsonl   *appender
	n       int64 // rejected rows written
	// lengths are the committed lengths of files this run has not opened:
	// from the checkpoint, and the JSON lines file's length at the start.
	lengths map[string]int64
	closed  bool // sealed: the last save may say the files end here
}

// New returns a Writer of JSON lines to path ("" for none) and, unless csv
// is nil, of the CSV csv writes. Nothing is opened until Resume or the
// first rejects.
func New(path string, csv *CSV) *Writer {
	return &Writer{path: path, csv: csv, columns: map[string][]string{}, lengths: map[string]int64{}}
}

// Resume prepares the files for a run of a job whose checkpoint recorded
// prev (nil: a fresh job, or a checkpoint of an older build). Unless the
// run that saved prev ended cleanly, each file is truncated to its recorded
// length, dropping the lines a killed run wrote after its last save, and a
// CSV this job wrote without a save recording it starts afresh. It returns
// warnings for files shorter than recorded (edited or removed by hand:
// rejects of earlier runs are missing from them).
func (w *Writer) Resume(prev *checkpoint.RejectsState) (warnings []string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	crashed := prev != nil && !prev.Closed
	paths := map[string]int64{} // recorded length, -1 for none
	if w.path != "" {
		if err := safefile.NotLink(w.path); err != nil {
			return nil, fmt.Errorf("rejects file: %w", err)
		}
		paths[w.path] = -1
	}
	if w.csv != nil {
		if err := safefile.NotLink(w.csv.path); err != nil {
			return nil, fmt.Errorf("rejects CSV: %w", err)
		}
		w.csv.lengths = w.lengths
		w.csv.truncate = crashed
	}
	if prev != nil {
		for p, n := range prev.Lengths {
			if w.owns(p) {
				paths[p] = n
			} else {
				w.lengths[p] = n // not written by this run: kept for a later one that is
			}
		}
	}
	for p, n := range paths {
		if crashed && n >= 0 {
			got, err := truncateTo(p, n)
			if err != nil {
				return warnings, err
			}
			if got < n {
				warnings = append(warnings, fmt.Sprintf("rejects file %s has %d bytes, the checkpoint recorded %d: rejects of earlier runs are missing from it", p, got, n))
			}
			w.lengths[p] = got
			continue
		}
		// A clean end, or a file no checkpoint recorded: this run starts
		// from its length now.
		st, err := os.Lstat(p)
		switch {
		case err == nil:
			w.lengths[p] = st.Size()
		case errors.Is(err, fs.ErrNotExist):
			if n >= 0 {
				w.lengths[p] = 0
			}
		default:
			return warnings, fmt.Errorf("rejects file: %w", err)
		}
	}
	return warnings, nil
}

// owns reports whether this run writes path: its JSON lines file or one of
// its CSV files.
func (w *Writer) owns(path string) bool {
	return path == w.path || (w.csv != nil && w.csv.isPath(path))
}

// truncateTo cuts the file at path to n bytes, syncs it, and returns its
// length: n, or less when the file was shorter (or missing; it stays so).
func truncateTo(path string, n int64) (int64, error) {
	f, err := safefile.OpenFile(path, os.O_WRONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rejects file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("rejects file: %w", err)
	}
	if st.Size() <= n {
		return st.Size(), nil
	}
	if err := f.Truncate(n); err != nil {
		return 0, fmt.Errorf("rejects file %s: truncate to the checkpoint's %d bytes: %w", path, n, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("rejects file %s: %w", path, err)
	}
	return n, nil
}

// State returns the committed lengths for a checkpoint. The caller (the
// ledger) holds the lock under which rejects are written and batches marked
// finished, so the lengths match the ranges it saves.
func (w *Writer) State() *checkpoint.RejectsState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := &checkpoint.RejectsState{Lengths: maps.Clone(w.lengths), Closed: w.closed}
	if w.jsonl != nil {
		st.Lengths[w.path] = w.jsonl.length()
	}
	if w.csv != nil {
		for _, o := range w.csv.outs {
			st.Lengths[o.app.path] = o.app.length()
		}
	}
	return st
}

// SetColumns names the columns of file's cells, for the files' headers
// and the JSON lines' cells by name.
func (w *Writer) SetColumns(file string, cols []string) {
	w.mu.Lock()
	w.columns[file] = cols
	w.mu.Unlock()
}

// Forget drops the columns of a finished file: it has no more rejects.
func (w *Writer) Forget(file string) {
	w.mu.Lock()
	delete(w.columns, file)
	w.mu.Unlock()
}

// Encoded is the rejects of one batch as the bytes each file gets: whole
// JSON lines, and whole CSV records for the CSV of the input's columns.
// Encoding touches no file, so the ledger does it before it takes the lock
// under which it appends them (Append) and marks the batch finished.
type Encoded struct {
	n    int
	json []byte
	cols []string
	csv  []byte
}

func (w *Writer) Encode(file string, recs []Record) *Encoded {
	w.mu.Lock()
	cols := w.columns[file]
	w.mu.Unlock()
	e := &Encoded{n: len(recs), cols: cols}
	if w.path != "" {
		e.json = appendJSONLines(nil, file, cols, recs)
	}
	if w.csv != nil {
		e.csv = w.csv.encode(cols, recs)
	}
	return e
}

// Write appends the rejects of one finished batch to every file.
func (w *Writer) Write(file string, recs []Record) error {
	return w.Append(w.Encode(file, recs))
}

// Append appends encoded rejects to every file, whole: when a write fails,
// what was appended of them is taken back, so a file never holds part of a
// batch's rejects (or part of a line).
func (w *Writer) Append(e *Encoded) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("rejects file: written after it was closed")
	}
	var jm *mark
	if w.path != "" {
		if w.jsonl == nil {
			a, err := openAppender(w.path, 0)
			if err != nil {
				return fmt.Errorf("rejects file: %w", err)
			}
			w.jsonl = a
			delete(w.lengths, w.path)
		}
		m := w.jsonl.mark()
		if err := w.jsonl.add(e.json); err != nil {
			m.undo()
			return fmt.Errorf("rejects file: %w", err)
		}
		jm = &m
	}
	if w.csv != nil {
		if err := w.csv.append(e.cols, e.csv); err != nil {
			if jm != nil {
				jm.undo()
			}
			return err
		}
	}
	w.n += int64(e.n)
	return nil
}

// Flush writes buffered lines to the files and syncs them (before a
// checkpoint is saved, so a saved length never points past bytes that were
// lost).
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.csv != nil {
		if err := w.csv.flush(); err != nil {
			return err
		}
	}
	if w.jsonl != nil {
		if err := w.jsonl.flush(); err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
	}
	return nil
}

// Seal flushes the files and refuses further writes: the next checkpoint
// saved says the files end at their lengths (RejectsState.Closed).
func (w *Writer) Seal() error {
	if err := w.Flush(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	apps := []*appender{w.jsonl}
	if w.csv != nil {
		for _, o := range w.csv.outs {
			apps = append(apps, o.app)
		}
	}
	for _, a := range apps {
		if a != nil && a.torn != nil {
			return a.torn // not sealed: a resume truncates the files
		}
	}
	w.closed = true
	return nil
}

// Close flushes and closes the files; their lengths stay for State.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.csv != nil {
		if cerr := w.csv.close(); err == nil {
			err = cerr
		}
	}
	if w.jsonl != nil {
		if cerr := w.jsonl.f.Close(); err == nil {
			err = cerr
		}
		w.lengths[w.path] = w.jsonl.length()
		w.jsonl = nil
	}
	return err
}

// Count returns how many rejected rows were written.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// CSVPaths returns the CSV files written, in the order they were started
// (none without a CSV).
func (w *Writer) CSVPaths() []string {
	if w.csv == nil {
		return nil
	}
	return slices.Clone(w.csv.paths)
}

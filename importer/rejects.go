package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/internal/safefile"
)

// rejectWriter appends rejected rows to a JSON-lines file, one object a
// row: file, row, line, the reasons found, Insider's messages and the
// original cells by column; and, when asked, to a CSV a user can fix and
// import again (see rejectCSV). The files hold user data, so they are
// opened through safefile (mode 0600, never through a symbolic link), and
// only when there is something to write.
//
// The files survive a crash: rows are appended as whole lines only (see
// appender), and state gives, for the checkpoint, each file's length at a
// moment when it holds exactly the rejects of the batches the ledger counts
// as finished (the ledger writes rejects and marks their batch finished
// under one lock). A resume truncates each file to that length (resume), so
// the lines of batches a killed run redid appear once.
type rejectWriter struct {
	path    string              // "" writes no JSON lines
	columns map[string][]string // by file
	csv     *rejectCSV          // nil writes no CSV
	mu      sync.Mutex
	jsonl   *appender
	n       int64 // rejected rows written
	// lengths are the committed lengths of files this run has not opened:
	// from the checkpoint, and the JSON lines file's length at the start.
	lengths map[string]int64
	closed  bool // sealed: the last save may say the files end here
}

type rejectRecord struct {
	row      *row
	problems []Problem
	api      []string
	user     int
}

func newRejectWriter(path string) *rejectWriter {
	return &rejectWriter{path: path, columns: map[string][]string{}, lengths: map[string]int64{}}
}

// resume prepares the files for a run of a job whose checkpoint recorded
// prev (nil: a fresh job, or a checkpoint of an older build). Unless the
// run that saved prev ended cleanly, each file is truncated to its recorded
// length, dropping the lines a killed run wrote after its last save, and a
// CSV this job wrote without a save recording it starts afresh. It returns
// warnings for files shorter than recorded (edited or removed by hand:
// rejects of earlier runs are missing from them).
func (w *rejectWriter) resume(prev *checkpoint.RejectsState) (warnings []string, err error) {
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
func (w *rejectWriter) owns(path string) bool {
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

// state returns the committed lengths for a checkpoint. The caller (the
// ledger) holds the lock under which rejects are written and batches marked
// finished, so the lengths match the ranges it saves.
func (w *rejectWriter) state() *checkpoint.RejectsState {
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

func (w *rejectWriter) setColumns(file string, cols []string) {
	w.mu.Lock()
	w.columns[file] = cols
	w.mu.Unlock()
}

// forget drops the columns of a finished file: it has no more rejects.
func (w *rejectWriter) forget(file string) {
	w.mu.Lock()
	delete(w.columns, file)
	w.mu.Unlock()
}

// encoded is the rejects of one batch as the bytes each file gets: whole
// JSON lines, and whole CSV records for the CSV of the input's columns.
// Encoding touches no file, so the ledger does it before it takes the lock
// under which it appends them (append) and marks the batch finished.
type encoded struct {
	n    int
	json []byte
	cols []string
	csv  []byte
}

func (w *rejectWriter) encode(file string, recs []rejectRecord) *encoded {
	w.mu.Lock()
	cols := w.columns[file]
	w.mu.Unlock()
	e := &encoded{n: len(recs), cols: cols}
	if w.path != "" {
		e.json = appendJSONLines(nil, file, cols, recs)
	}
	if w.csv != nil {
		e.csv = w.csv.encode(cols, recs)
	}
	return e
}

// write appends the rejects of one finished batch to every file.
func (w *rejectWriter) write(file string, recs []rejectRecord) error {
	return w.append(w.encode(file, recs))
}

// append appends encoded rejects to every file, whole: when a write fails,
// what was appended of them is taken back, so a file never holds part of a
// batch's rejects (or part of a line).
func (w *rejectWriter) append(e *encoded) error {
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

// appendJSONLines appends one JSON line a reject to b: file, row, line,
// reason, problems, Insider's messages, and the cells by column (cols).
func appendJSONLines(b []byte, file string, cols []string, recs []rejectRecord) []byte {
	for _, rr := range recs {
		r := rr.row
		b = append(b, `{"file":`...)
		b = appendString(b, file)
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, r.src.Pos.Row(), 10)
		if r.src.Pos.Line > 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, r.src.Pos.Line, 10)
		}
		b = append(b, `,"reason":`...)
		b = appendString(b, rr.reason())
		if len(rr.problems) > 0 {
			b = append(b, `,"problems":[`...)
			for i, p := range rr.problems {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				first := true
				for _, kv := range [][2]string{{"column", p.Column}, {"field", p.Field}, {"rule", p.Rule}, {"message", p.Msg}} {
					if kv[1] == "" {
						continue
					}
					b = appendKey(b, first, kv[0])
					b = appendString(b, kv[1])
					first = false
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		if len(rr.api) > 0 {
			b = append(b, `,"insider_messages":[`...)
			for i, m := range rr.api {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, m)
			}
			b = append(b, ']')
		}
		b = append(b, `,"cells":{`...)
		for i, v := range r.cells() {
			name := "column_" + strconv.Itoa(i+1)
			if i < len(cols) {
				name = cols[i]
			}
			b = appendKey(b, i == 0, name)
			b = appendString(b, v)
		}
		b = append(b, "}}\n"...)
	}
	return b
}

func (rr rejectRecord) reason() string {
	if len(rr.api) > 0 {
		return "rejected by Insider: " + rr.api[0]
	}
	if len(rr.problems) == 1 {
		return rr.problems[0].String()
	}
	s := fmt.Sprintf("%d problems: ", len(rr.problems))
	for i, p := range rr.problems {
		if i > 0 {
			s += "; "
		}
		s += p.String()
	}
	return s
}

// flush writes buffered lines to the files and syncs them (before a
// checkpoint is saved, so a saved length never points past bytes that were
// lost).
func (w *rejectWriter) flush() error {
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

// seal flushes the files and refuses further writes: the next checkpoint
// saved says the files end at their lengths (RejectsState.Closed).
func (w *rejectWriter) seal() error {
	if err := w.flush(); err != nil {
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

func (w *rejectWriter) close() error {
	err := w.flush()
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

func (w *rejectWriter) count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// RejectReasonColumn is the column a rejects CSV adds after the source's
// own columns: why the row was rejected. The mapping ignores it (like any
// column it does not name), so the fixed file imports with the same config.
const RejectReasonColumn = "reject_reason"

// rejectCSV writes rejected rows back in their source's shape: the input's
// own header, each row's cells exactly as read, and a reject_reason column,
// so that a user can fix the rows and import the file again with the same
// mapping. Inputs with different headers cannot share one CSV: the first
// header goes to the path given, each further distinct header to the path
// with -2, -3, ... before the extension (rejects.csv, rejects-2.csv).
//
// A fresh run (a dry run, or one that starts its job from scratch)
// truncates the files; a resumed run appends to the file whose header
// matches, so the rows rejected before the interruption stay (after a crash,
// cut to the length the checkpoint recorded; see rejectWriter.resume).
type rejectCSV struct {
	path  string
	comma rune
	fresh bool
	// After a crash, a file this job wrote that no checkpoint recorded
	// holds only rows that are redone: it starts afresh.
	truncate bool
	lengths  map[string]int64   // the rejectWriter's (set by its resume): lengths of files not open
	outs     map[string]*csvOut // by header (columns joined with NUL)
	used     map[string]bool    // paths taken by this run
	paths    []string           // paths written, in order
}

type csvOut struct {
	app *appender
}

func newRejectCSV(path string, comma rune, fresh bool) *rejectCSV {
	if comma == 0 {
		comma = ','
	}
	return &rejectCSV{path: path, comma: comma, fresh: fresh, outs: map[string]*csvOut{}, used: map[string]bool{}}
}

// csvHeader is what a rejects CSV of an input with cols starts with.
func csvHeader(cols []string) ([]string, int) {
	if i := slices.Index(cols, RejectReasonColumn); i >= 0 {
		return cols, i // a rejects CSV imported again: its reason column is rewritten
	}
	return append(slices.Clip(cols), RejectReasonColumn), len(cols)
}

// numbered returns path with -k before its extension, for k > 1.
func numbered(path string, k int) string {
	if k == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + strconv.Itoa(k) + ext
}

// isPath reports whether p is one of the paths numbered gives for c.path.
func (c *rejectCSV) isPath(p string) bool {
	if p == c.path {
		return true
	}
	ext := filepath.Ext(c.path)
	k, ok := strings.CutPrefix(p, strings.TrimSuffix(c.path, ext)+"-")
	if k, ok = strings.CutSuffix(k, ext); !ok {
		return false
	}
	n, err := strconv.Atoi(k)
	return err == nil && n > 1 && numbered(c.path, n) == p
}

func (c *rejectCSV) out(cols []string) (*csvOut, error) {
	key := strings.Join(cols, "\x00")
	if o := c.outs[key]; o != nil {
		return o, nil
	}
	header, _ := csvHeader(cols)
	for k := 1; ; k++ {
		p := numbered(c.path, k)
		if c.used[p] {
			continue
		}
		_, recorded := c.lengths[p]
		flag := os.O_APPEND
		switch {
		case c.fresh, c.truncate && !recorded:
			flag = os.O_TRUNC
		case !fileStartsWith(p, header, c.comma):
			continue
		}
		a, err := openAppender(p, flag)
		if err != nil {
			return nil, fmt.Errorf("rejects CSV: %w", err)
		}
		delete(c.lengths, p)
		o := &csvOut{app: a}
		if a.length() == 0 {
			if err := a.add(c.records(header)); err != nil {
				a.f.Close()
				return nil, fmt.Errorf("rejects CSV: %w", err)
			}
		}
		c.used[p] = true
		c.paths = append(c.paths, p)
		c.outs[key] = o
		return o, nil
	}
}

// records encodes CSV records.
func (c *rejectCSV) records(recs ...[]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = c.comma
	_ = w.WriteAll(recs) // into a buffer: no error but a bad comma, which the config refuses
	return buf.Bytes()
}

// fileStartsWith reports whether path is missing, empty, or a CSV whose
// first record is header: a file a resumed run may append to.
func fileStartsWith(path string, header []string, comma rune) bool {
	f, err := safefile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return true // a link: openAppender refuses it with a clear error
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		return true
	}
	r := csv.NewReader(f)
	r.Comma = comma
	r.FieldsPerRecord = -1
	first, err := r.Read()
	return err == nil && slices.Equal(first, header)
}

// encode returns the CSV records of recs, rejects of an input with cols:
// its cells as read, with reject_reason where csvHeader puts it.
func (c *rejectCSV) encode(cols []string, recs []rejectRecord) []byte {
	_, reason := csvHeader(cols)
	ncols := len(cols)
	out := make([][]string, len(recs))
	for i, rr := range recs {
		cells := rr.row.cells()
		n := max(len(cells), ncols)
		if reason >= ncols {
			n++ // reject_reason after the cells (after any extra ones of a malformed row)
		}
		rec := make([]string, n)
		copy(rec, cells)
		if reason >= ncols {
			rec[n-1] = rr.reason()
		} else {
			rec[reason] = rr.reason()
		}
		out[i] = rec
	}
	return c.records(out...)
}

// append appends encoded records to the CSV of cols, all or (on an error)
// none.
func (c *rejectCSV) append(cols []string, data []byte) error {
	o, err := c.out(cols)
	if err != nil {
		return err
	}
	m := o.app.mark()
	if err := o.app.add(data); err != nil {
		m.undo()
		return fmt.Errorf("rejects CSV: %w", err)
	}
	return nil
}

// write appends recs to the CSV of cols, all or none.
func (c *rejectCSV) write(file string, cols []string, recs []rejectRecord) error {
	return c.append(cols, c.encode(cols, recs))
}

func (c *rejectCSV) flush() error {
	for _, o := range c.outs {
		if err := o.app.flush(); err != nil {
			return fmt.Errorf("rejects CSV: %w", err)
		}
	}
	return nil
}

func (c *rejectCSV) close() error {
	err := c.flush()
	for _, o := range c.outs {
		if cerr := o.app.f.Close(); err == nil {
			err = cerr
		}
		if c.lengths != nil {
			c.lengths[o.app.path] = o.app.length()
		}
	}
	c.outs = map[string]*csvOut{}
	return err
}

// appender appends whole records to a file: they collect in a buffer that
// goes to the file in one write once it holds 64 KiB (or on flush), and a
// write that fails part way (a full disk) is cut back off, so the file only
// ever grows by whole records. length is the file's length with the buffer
// written: what a checkpoint records.
type appender struct {
	path    string
	f       *os.File
	buf     []byte
	written int64 // the file's length
	synced  bool  // nothing written since the last sync
	// torn is set when cutting a failed write back off failed too: the
	// file may hold part of a record past written. Nothing more is
	// appended, and the files are not sealed, so a resume truncates.
	torn error
}

const appendBuffer = 64 << 10

// openAppender opens path (through safefile) to append, and with flag
// os.O_TRUNC empties it first.
func openAppender(path string, flag int) (*appender, error) {
	f, err := safefile.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|flag)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &appender{path: path, f: f, written: st.Size(), synced: true}, nil
}

func (a *appender) length() int64 { return a.written + int64(len(a.buf)) }

func (a *appender) add(rec []byte) error {
	if a.torn != nil {
		return a.torn
	}
	a.buf = append(a.buf, rec...)
	if len(a.buf) >= appendBuffer {
		return a.writeOut()
	}
	return nil
}

func (a *appender) writeOut() error {
	if a.torn != nil {
		return a.torn
	}
	if len(a.buf) == 0 {
		return nil
	}
	n, err := a.f.Write(a.buf)
	if err != nil {
		if n > 0 {
			// Take the partial record back off, so the file stays whole
			// lines even without a resume; if that fails too, a resume
			// truncates to the checkpoint's length.
			if terr := a.f.Truncate(a.written); terr != nil {
				a.torn = fmt.Errorf("%s: %w (and cutting off the part written failed: %v)", a.path, err, terr)
				return a.torn
			}
		}
		return fmt.Errorf("%s: %w", a.path, err)
	}
	a.written += int64(n)
	a.buf = a.buf[:0]
	a.synced = false
	return nil
}

func (a *appender) flush() error {
	if err := a.writeOut(); err != nil {
		return err
	}
	if a.synced {
		return nil // nothing new: every checkpoint save calls this, no fsync needed
	}
	if err := a.f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("%s: %w", a.path, err)
	}
	a.synced = true
	return nil
}

// mark is a length of an appender to go back to.
type mark struct {
	a *appender
	n int64
}

func (a *appender) mark() mark { return mark{a, a.length()} }

// undo takes back what was appended since the mark: from the buffer, or,
// if it went to the file, by truncating the file. Either way length is the
// mark's again, so a checkpoint never counts the records taken back (if the
// truncation failed, a resume does it).
func (m mark) undo() {
	a := m.a
	if m.n >= a.written {
		a.buf = a.buf[:m.n-a.written]
		return
	}
	a.buf = a.buf[:0]
	if err := a.f.Truncate(m.n); err != nil && a.torn == nil {
		a.torn = fmt.Errorf("%s: cutting off the rejects of a batch that failed: %w", a.path, err)
	}
	a.written = m.n
}

// setupRejects creates the rejects writer: JSON lines (Options.RejectsPath)
// and/or CSV (Options.RejectsCSVPath). The CSV starts afresh unless the run
// resumes a checkpoint; a resume after a crash cuts the files to the
// lengths the checkpoint recorded (rejectWriter.resume).
func (r *run) setupRejects(st checkpoint.State) error {
	if r.opts.RejectsPath == "" && r.opts.RejectsCSVPath == "" {
		return nil
	}
	r.rejects = newRejectWriter(r.opts.RejectsPath)
	if r.opts.RejectsCSVPath != "" {
		r.rejects.csv = newRejectCSV(r.opts.RejectsCSVPath, r.cfg.Source.Delimiter, r.opts.DryRun || len(st.Files) == 0)
	}
	warnings, err := r.rejects.resume(st.Rejects)
	for _, w := range warnings {
		r.log.Warn(w)
	}
	return err
}

// reportRejects adds the rejects by reason and the CSV files written.
func (r *run) reportRejects(rep *Report) {
	if r.tally != nil {
		rep.RejectReasons = r.tally.reasons()
	}
	if r.rejects != nil && r.rejects.csv != nil {
		rep.RejectsCSV = slices.Clone(r.rejects.csv.paths)
	}
}

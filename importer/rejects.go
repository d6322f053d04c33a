package importer

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// rejectWriter appends rejected rows to a JSON-lines file, one object a
// row: file, row, line, the reasons found, Insider's messages and the
// original cells by column; and, when asked, to a CSV a user can fix and
// import again (see rejectCSV). The files hold user data, so they are
// created with mode 0600, and only when there is something to write.
type rejectWriter struct {
	path    string              // "" writes no JSON lines
	columns map[string][]string // by file
	csv     *rejectCSV          // nil writes no CSV
	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	n       int64 // rejected rows written
	synced  int64 // n at the last flush
}

type rejectRecord struct {
	row      *row
	problems []Problem
	api      []string
	user     int
}

func newRejectWriter(path string) *rejectWriter {
	return &rejectWriter{path: path, columns: map[string][]string{}}
}

func (w *rejectWriter) setColumns(file string, cols []string) {
	w.mu.Lock()
	w.columns[file] = cols
	w.mu.Unlock()
}

func (w *rejectWriter) write(file string, recs []rejectRecord) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.csv != nil {
		if err := w.csv.write(file, w.columns[file], recs); err != nil {
			return err
		}
	}
	if w.path == "" {
		w.n += int64(len(recs))
		return nil
	}
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
		w.f, w.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	cols := w.columns[file]
	var b []byte
	for _, rr := range recs {
		r := rr.row
		b = b[:0]
		b = append(b, `{"file":`...)
		b = appendString(b, file)
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, r.pos.Row(), 10)
		if r.pos.Line > 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, r.pos.Line, 10)
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
		for i, v := range r.src.Strings() {
			name := "column_" + strconv.Itoa(i+1)
			if i < len(cols) {
				name = cols[i]
			}
			b = appendKey(b, i == 0, name)
			b = appendString(b, v)
		}
		b = append(b, "}}\n"...)
		if _, err := w.w.Write(b); err != nil {
			return fmt.Errorf("rejects file: %w", err)
		}
		w.n++
	}
	return nil
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

// flush writes buffered lines to the file (before a checkpoint is saved,
// so a saved frontier never points past rejects that were lost).
func (w *rejectWriter) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == w.synced {
		return nil // nothing new: every checkpoint save calls this, no fsync needed
	}
	if w.csv != nil {
		if err := w.csv.flush(); err != nil {
			return err
		}
	}
	if w.w != nil {
		if err := w.w.Flush(); err != nil {
			return err
		}
		if err := w.f.Sync(); err != nil {
			return err
		}
	}
	w.synced = w.n
	return nil
}

func (w *rejectWriter) close() error {
	if err := w.flush(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if w.csv != nil {
		err = w.csv.close()
	}
	if w.f == nil {
		return err
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f, w.w = nil, nil
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
// matches, so the rows rejected before the interruption stay.
type rejectCSV struct {
	path  string
	comma rune
	fresh bool
	outs  map[string]*csvOut // by header (columns joined with NUL)
	used  map[string]bool    // paths taken by this run
	paths []string           // paths written, in order
}

type csvOut struct {
	f       *os.File
	w       *csv.Writer
	ncols   int // columns of the input
	reason  int // index of reject_reason in the written header
	scratch []string
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

func (c *rejectCSV) out(cols []string) (*csvOut, error) {
	key := strings.Join(cols, "\x00")
	if o := c.outs[key]; o != nil {
		return o, nil
	}
	header, reason := csvHeader(cols)
	for k := 1; ; k++ {
		p := numbered(c.path, k)
		if c.used[p] {
			continue
		}
		flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
		if c.fresh {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		} else if !fileStartsWith(p, header, c.comma) {
			continue
		}
		f, err := os.OpenFile(p, flags, 0o600)
		if err != nil {
			return nil, fmt.Errorf("rejects CSV: %w", err)
		}
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("rejects CSV: %w", err)
		}
		o := &csvOut{f: f, w: csv.NewWriter(f), ncols: len(cols), reason: reason}
		o.w.Comma = c.comma
		if st, err := f.Stat(); err == nil && st.Size() == 0 {
			if err := o.w.Write(header); err != nil {
				f.Close()
				return nil, fmt.Errorf("rejects CSV: %w", err)
			}
		}
		c.used[p] = true
		c.paths = append(c.paths, p)
		c.outs[key] = o
		return o, nil
	}
}

// fileStartsWith reports whether path is missing, empty, or a CSV whose
// first record is header: a file a resumed run may append to.
func fileStartsWith(path string, header []string, comma rune) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
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

func (c *rejectCSV) write(file string, cols []string, recs []rejectRecord) error {
	o, err := c.out(cols)
	if err != nil {
		return err
	}
	for _, rr := range recs {
		cells := rr.row.src.Strings()
		n := max(len(cells), o.ncols)
		if o.reason >= o.ncols {
			n++ // reject_reason after the cells (after any extra ones of a malformed row)
		}
		rec := slices.Grow(o.scratch[:0], n)[:n]
		for i := range rec {
			rec[i] = ""
		}
		copy(rec, cells)
		if o.reason >= o.ncols {
			rec[n-1] = rr.reason()
		} else {
			rec[o.reason] = rr.reason()
		}
		if err := o.w.Write(rec); err != nil {
			return fmt.Errorf("rejects CSV: %w", err)
		}
		o.scratch = rec
	}
	return nil
}

func (c *rejectCSV) flush() error {
	for _, o := range c.outs {
		o.w.Flush()
		if err := o.w.Error(); err != nil {
			return fmt.Errorf("rejects CSV: %w", err)
		}
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("rejects CSV: %w", err)
		}
	}
	return nil
}

func (c *rejectCSV) close() error {
	err := c.flush()
	for _, o := range c.outs {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
	}
	c.outs = map[string]*csvOut{}
	return err
}

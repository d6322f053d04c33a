package rejects

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/insider-import/insider-import/internal/safefile"
)

// ReasonColumn is the column a rejects CSV adds after the source's
// own columns: why the row was rejected. The mapping ignores it (like any
// column it does not name), so the fixed file imports with the same config.
const ReasonColumn = "reject_reason"

// CSV writes rejected rows back in their source's shape: the input's
// own header, each row's cells exactly as read, and a reject_reason column,
// so that a user can fix the rows and import the file again with the same
// mapping. Inputs with different headers cannot share one CSV: the first
// header goes to the path given, each further distinct header to the path
// with -2, -3, ... before the extension (rejects.csv, rejects-2.csv).
//
// A fresh run (a dry run, or one that starts its job from scratch)
// truncates the files; a resumed run appends to the file whose header
// matches, so the rows rejected before the interruption stay (after a crash,
// cut to the length the checkpoint recorded; see Writer.Resume).
type CSV struct {
	path  string
	comma rune
	fresh bool
	// After a crash, a file this job wrote that no checkpoint recorded
	// holds only rows that are redone: it starts afresh.
	truncate bool
	lengths  map[string]int64   // the Writer's (set by its resume): lengths of files not open
	outs     map[string]*csvOut // by header (columns joined with NUL)
	used     map[string]bool    // paths taken by this run
	paths    []string           // paths written, in order
}

type csvOut struct {
	app *appender
}

// NewCSV returns a CSV writer to path (numbered for further headers),
// separating cells by comma (',' if 0). fresh truncates the files rather
// than appending to the one whose header matches (a dry run, or a job that
// starts from scratch).
func NewCSV(path string, comma rune, fresh bool) *CSV {
	if comma == 0 {
		comma = ','
	}
	return &CSV{path: path, comma: comma, fresh: fresh, outs: map[string]*csvOut{}, used: map[string]bool{}}
}

// csvHeader is what a rejects CSV of an input with cols starts with.
func csvHeader(cols []string) ([]string, int) {
	if i := slices.Index(cols, ReasonColumn); i >= 0 {
		return cols, i // a rejects CSV imported again: its reason column is rewritten
	}
	return append(slices.Clip(cols), ReasonColumn), len(cols)
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
func (c *CSV) isPath(p string) bool {
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

func (c *CSV) out(cols []string) (*csvOut, error) {
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
func (c *CSV) records(recs ...[]string) []byte {
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
func (c *CSV) encode(cols []string, recs []Record) []byte {
	_, reason := csvHeader(cols)
	ncols := len(cols)
	out := make([][]string, len(recs))
	for i, rr := range recs {
		cells := rr.Cells
		n := max(len(cells), ncols)
		if reason >= ncols {
			n++ // reject_reason after the cells (after any extra ones of a malformed row)
		}
		rec := make([]string, n)
		copy(rec, cells)
		if reason >= ncols {
			rec[n-1] = rr.Reason
		} else {
			rec[reason] = rr.Reason
		}
		out[i] = rec
	}
	return c.records(out...)
}

// Append appends encoded records to the CSV of cols, all or (on an error)
// none.
func (c *CSV) append(cols []string, data []byte) error {
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
func (c *CSV) write(file string, cols []string, recs []Record) error {
	return c.append(cols, c.encode(cols, recs))
}

func (c *CSV) flush() error {
	for _, o := range c.outs {
		if err := o.app.flush(); err != nil {
			return fmt.Errorf("rejects CSV: %w", err)
		}
	}
	return nil
}

func (c *CSV) close() error {
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

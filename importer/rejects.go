package importer

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"
)

// rejectWriter appends rejected rows to a JSON-lines file, one object a
// row: file, row, line, the reasons found, Insider's messages and the
// original cells by column. The file holds user data, so it is created with
// mode 0600, and only when there is something to write.
type rejectWriter struct {
	path    string
	columns map[string][]string // by file
	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	n       int64
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
		for i, v := range r.cells {
			name := "column_" + strconv.Itoa(i+1)
			if i < len(cols) {
				name = cols[i]
			}
			b = appendKey(b, i == 0, name)
			b = appendString(b, v.String())
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
	if w.w == nil {
		return nil
	}
	if err := w.w.Flush(); err != nil {
		return err
	}
	return w.f.Sync()
}

func (w *rejectWriter) close() error {
	if err := w.flush(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f, w.w = nil, nil
	return err
}

func (w *rejectWriter) count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

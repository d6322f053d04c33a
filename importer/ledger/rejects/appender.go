package rejects

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/insider-import/insider-import/internal/safefile"
)

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

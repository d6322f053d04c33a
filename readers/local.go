package readers

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
)

// localSource is a file on local disk. Its bytes are read up to the size
// it had when it was opened, and at their end it checks that the file is
// still the one opened (see checkEnd): a file cut short, grown, rewritten
// or replaced while it was read is a *ChangedError, never a short or a
// mixed input read as if whole.
type localSource struct {
	name string
	f    *os.File
	id   Identity
	st   os.FileInfo // at open: the device and inode, for os.SameFile
}

var _ source = (*localSource)(nil)

// openLocal opens a regular file. Anything else (a directory, a FIFO, a
// device such as /dev/zero, a socket) is refused with an *InputError
// before a byte is read; a FIFO is opened non-blocking, so that open(2)
// does not wait for a writer.
func openLocal(name string) (*localSource, error) {
	if st, err := os.Stat(name); err == nil && !st.Mode().IsRegular() {
		return nil, notRegular(name, st.Mode())
	}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(name, st.Mode())
	}
	return &localSource{name: name, f: f, id: Identity{Size: st.Size(), ModTime: st.ModTime().UTC()}, st: st}, nil
}

func notRegular(name string, m os.FileMode) error {
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&os.ModeNamedPipe != 0:
		kind = "a FIFO (named pipe)"
	case m&os.ModeCharDevice != 0:
		kind = "a character device"
	case m&os.ModeDevice != 0:
		kind = "a device"
	case m&os.ModeSocket != 0:
		kind = "a socket"
	}
	return &InputError{Input: name, Msg: "is " + kind + ", not a regular file; inputs are regular files or S3 objects"}
}

func (s *localSource) Name() string       { return s.name }
func (s *localSource) Identity() Identity { return s.id }

// OpenAt returns the file's bytes from offset up to the size it had when
// it was opened. Where they end, the file is checked (checkEnd): instead of
// io.EOF the reader returns a *ChangedError if the file is no longer what
// was opened, so that no reader takes a file cut short or grown for a
// whole one. Closing the reader does not close the source.
func (s *localSource) OpenAt(_ context.Context, offset int64) (io.ReadCloser, error) {
	if offset > s.id.Size {
		return nil, fmt.Errorf("%s: resume offset %d beyond the end (%d bytes): %w", s.name, offset, s.id.Size, ErrChanged)
	}
	return io.NopCloser(&endChecked{src: s, r: io.NewSectionReader(s.f, offset, s.id.Size-offset), off: offset}), nil
}

// ReaderAt reads the file at random (Parquet). A read that fails or comes
// back short is checked against the file as opened: if it changed, the
// error says so.
func (s *localSource) ReaderAt(context.Context) io.ReaderAt { return checkedReaderAt{s} }

type checkedReaderAt struct{ s *localSource }

func (c checkedReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.s.f.ReadAt(b, off)
	if err != nil {
		if cerr := c.s.checkEnd(-1); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// endChecked reads a local file's bytes and checks the file where they end.
type endChecked struct {
	src *localSource
	r   io.Reader
	off int64 // offset in the file of the next byte
	err error // sticky: the end's verdict
}

func (e *endChecked) Read(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.r.Read(b)
	e.off += int64(n)
	if err == io.EOF {
		if cerr := e.src.checkEnd(e.off); cerr != nil {
			err = cerr
		}
		e.err = err
	}
	return n, err
}

// checkEnd checks, once the bytes of the file have been read (read of them
// in all, or -1 when not counted, as for random reads), that the file is
// the one opened: read up to the size it had, and still of that size and
// modification time, under the same name. It returns nil or a
// *ChangedError.
func (s *localSource) checkEnd(read int64) error {
	e := &ChangedError{File: s.name, Opened: s.id, Read: read, InPlace: true}
	now, err := s.f.Stat()
	if err != nil {
		return nil // nothing to compare with; the read error stands
	}
	e.Now = Identity{Size: now.Size(), ModTime: now.ModTime().UTC()}
	switch cur, err := os.Stat(s.name); {
	case err != nil:
		e.InPlace, e.Gone = false, true
	case !os.SameFile(s.st, cur):
		e.InPlace, e.Now = false, Identity{Size: cur.Size(), ModTime: cur.ModTime().UTC()}
	}
	if e.InPlace && (read < 0 || read == s.id.Size) && e.Now.Equal(s.id) {
		return nil
	}
	return e
}

func (s *localSource) Close() error { return s.f.Close() }

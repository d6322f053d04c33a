package readers

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
)

// localSource is a file on local disk.
type localSource struct {
	name string
	f    *os.File
	id   Identity
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
	return &localSource{name: name, f: f, id: Identity{Size: st.Size(), ModTime: st.ModTime().UTC()}}, nil
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

// OpenAt seeks the file to offset. The returned reader shares the file: only
// one reader from OpenAt is used at a time, and closing it does not close
// the source.
func (s *localSource) OpenAt(_ context.Context, offset int64) (io.ReadCloser, error) {
	if offset > s.id.Size {
		return nil, fmt.Errorf("%s: resume offset %d beyond the end (%d bytes): %w", s.name, offset, s.id.Size, ErrChanged)
	}
	if _, err := s.f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.NopCloser(s.f), nil
}

func (s *localSource) ReaderAt(context.Context) io.ReaderAt { return s.f }

func (s *localSource) Close() error { return s.f.Close() }

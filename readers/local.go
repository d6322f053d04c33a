package readers

import (
	"context"
	"fmt"
	"io"
	"os"
)

// localSource is a file on local disk.
type localSource struct {
	name string
	f    *os.File
	id   Identity
}

var _ source = (*localSource)(nil)

func openLocal(name string) (*localSource, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a directory", name)
	}
	return &localSource{name: name, f: f, id: Identity{Size: st.Size(), ModTime: st.ModTime().UTC()}}, nil
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

// Package safefile opens the files insider-import writes (the checkpoint,
// its lock and temporary files, rejects, the report) in one way: never
// through a symbolic link, and with mode 0600 whether the file is created or
// already exists. These files hold personal data, or decide what is sent
// again; a link planted at one of their names must not make the tool append
// to, truncate or chmod another file.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Mode is the permission of every file the tool writes.
const Mode fs.FileMode = 0o600

// ErrSymlink is wrapped by the errors of OpenFile and Open when the name is
// a symbolic link.
var ErrSymlink = errors.New("is a symbolic link; refusing to follow it")

// OpenFile opens name with flag (os.O_WRONLY or os.O_RDWR, plus O_CREATE,
// O_APPEND, O_TRUNC as wanted) without following a symbolic link in its last
// component (O_NOFOLLOW), creating it with mode 0600 and setting mode 0600
// on a regular file that already existed with another one. Files that are
// not regular (a device such as /dev/null) keep their mode.
func OpenFile(name string, flag int) (*os.File, error) {
	f, err := os.OpenFile(name, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, Mode)
	if err != nil {
		return nil, linkError(name, err)
	}
	if err := private(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// NotLink returns the error OpenFile would give if name is a symbolic link,
// and nil otherwise (also when name does not exist). Callers use it to
// refuse a path before they start work that ends by writing it; OpenFile
// still refuses a link planted in between.
func NotLink(name string) error {
	st, err := os.Lstat(name)
	if err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return &fs.PathError{Op: "open", Path: name, Err: ErrSymlink}
	}
	return nil
}

// Open opens name for reading without following a symbolic link.
func Open(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, linkError(name, err)
	}
	return f, nil
}

// ReadFile is os.ReadFile without following a symbolic link.
func ReadFile(name string) ([]byte, error) {
	f, err := Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// CreateTemp creates a new file in dir named by pattern as os.CreateTemp
// does. The name is new (O_EXCL: an existing file or link there is never
// opened) and the mode is 0600.
func CreateTemp(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := private(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// WriteFile replaces the contents of name with data, as os.WriteFile does,
// through OpenFile.
func WriteFile(name string, data []byte) error {
	f, err := OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// private sets mode 0600 on f if it is a regular file with another mode.
func private(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() == Mode {
		return nil
	}
	if err := f.Chmod(Mode); err != nil {
		return fmt.Errorf("set mode 0600 on %s: %w", f.Name(), err)
	}
	return nil
}

// linkError turns the ELOOP that O_NOFOLLOW gives for a symbolic link into
// an error that says so.
func linkError(name string, err error) error {
	if errors.Is(err, syscall.ELOOP) {
		return &fs.PathError{Op: "open", Path: name, Err: ErrSymlink}
	}
	return err
}

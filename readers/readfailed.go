package readers

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ReadFailedError stops a run: an input could not be read on. What was
// read before it stays: the file is left partial in the checkpoint.
type ReadFailedError struct {
	File string
	At   Position // the reader's position when it failed
	Err  error
}

func (e *ReadFailedError) Error() string {
	msg := e.Err.Error()
	if !strings.Contains(msg, e.File) {
		msg = fmt.Sprintf("%s at %s: %s", e.File, where(e.At), msg)
	}
	var ce *ChangedError
	switch {
	case errors.As(e.Err, &ce) && ce.InPlace:
		return "stopped reading " + msg + "; the file is not done and the rows before it are kept: once the file is complete again (the same rows in the same order, finished), run again to resume where it stopped; or run with --restart"
	case errors.Is(e.Err, ErrChanged):
		return "stopped reading " + msg + "; the rows before it are kept: the next run decides by source.on_change (stop, reimport, skip), or run with --restart to import the new version from the start"
	}
	return "stopped reading " + msg + "; the rows before it are kept: fix the file (same rows, same order) and run again to resume, or run with --restart"
}

func (e *ReadFailedError) Unwrap() error { return e.Err }

// where names a position for people: row and line with the byte offset
// for CSV, row group and row for Parquet.
func where(p Position) string {
	switch {
	case p.Line > 0 && p.Offset >= 0:
		return fmt.Sprintf("row %d (line %d, byte %d)", p.Row(), p.Line, p.Offset)
	case p.Line > 0:
		return fmt.Sprintf("row %d (line %d)", p.Row(), p.Line)
	case p.RowGroup > 0 || p.GroupRow > 0:
		return fmt.Sprintf("row %d (row group %d, row %d in it)", p.Row(), p.RowGroup, p.GroupRow+1)
	}
	return fmt.Sprintf("row %d", p.Row())
}

// ReadFailed wraps a fatal error of rd.Next (see Reader) in a
// *ReadFailedError at rd's position; a cancelled read stays as it is.
func ReadFailed(rd Reader, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	p := rd.Pos()
	return &ReadFailedError{File: p.File, At: p, Err: err}
}

// IsRowError reports whether an error of Next is about one record only (a
// *ParseError: the reader goes on after it).
func IsRowError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}

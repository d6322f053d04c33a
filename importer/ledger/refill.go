package ledger

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/insider-import/insider-import/readers"
)

// refiller reads again, by position, the cells of rows Insider rejected
// after they had given them up (Row.Released). Committer.settle hands it rows
// in input order, so one reader moves forward through the file for the
// whole run; it reopens (at the first row wanted) only when asked for a row
// behind it. On failure, or once ctx ends (a signal), the rejects keep
// file, row and Insider's messages, without the cells.
type refiller struct {
	file string
	open func(ctx context.Context, file string, at readers.Position) (readers.Reader, error)
	log  func(msg string, args ...any)
	rd   readers.Reader
	next int64 // index of the record rd returns next
}

func (f *refiller) fill(ctx context.Context, rows []*Reject) {
	slices.SortFunc(rows, func(a, b *Reject) int { return cmp.Compare(a.Pos.Index, b.Pos.Index) })
	var err error
	if f.rd == nil || rows[0].Pos.Index < f.next {
		f.close()
		if f.rd, err = f.open(ctx, f.file, rows[0].Pos); err != nil {
			f.rd = nil
		}
		f.next = rows[0].Pos.Index
	}
	for i := 0; i < len(rows) && err == nil; {
		var rec readers.Record
		rec, err = f.rd.Next(ctx)
		if err != nil && isRowError(err) {
			err = nil
		}
		if err != nil {
			break
		}
		f.next = rec.Pos.Index + 1
		for i < len(rows) && rows[i].Pos.Index <= rec.Pos.Index {
			if rows[i].Pos.Index == rec.Pos.Index {
				rows[i].Row.Refill(rec)
			}
			i++
		}
	}
	if err != nil {
		f.close()
		f.log("could not read the cells of rejected rows again; their rejects carry no cells", "file", f.file, "row", rows[0].Pos.Row(), "error", err.Error())
	}
}

func (f *refiller) close() {
	if f.rd != nil {
		f.rd.Close()
		f.rd = nil
	}
}

// isRowError reports whether err is about one record only (the reader
// goes on after it).
func isRowError(err error) bool {
	var pe *readers.ParseError
	return errors.As(err, &pe)
}

package readers

import (
	"context"
	"io"
	"slices"
)

// Splits returns the row indexes at which an input can be entered without
// decoding the rows before them, in order, from 0 to the row count: for
// Parquet, the first row of each row group and then the number of rows. It
// returns nil for inputs that have no such points known before reading
// (CSV). A job sharded over several processes uses them to share one large
// file by row group: each reads [Options.Start, Options.Stop) of it.
func Splits(r Reader) []int64 {
	if s, ok := r.(interface{ splits() []int64 }); ok {
		return s.splits()
	}
	return nil
}

func (p *parquetReader) splits() []int64 { return slices.Clone(p.starts) }

// stopReader ends an input at a row index (Options.Stop): Next returns
// io.EOF there, and Pos is that position, as at the end of a whole input.
type stopReader struct {
	Reader
	stop int64
}

func (r *stopReader) Next(ctx context.Context) (Record, error) {
	if r.Pos().Index >= r.stop {
		if c, ok := r.Reader.(interface{ checkEnd() error }); ok {
			if err := c.checkEnd(); err != nil {
				return Record{}, err
			}
		}
		return Record{}, io.EOF
	}
	return r.Reader.Next(ctx)
}

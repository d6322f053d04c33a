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

// Part is the range of rows [From, To) of a file that one shard of a job
// reads; Rows is the file's row count.
type Part struct {
	From, To, Rows int64
}

// SharePart returns shard i of n's part of a file with the given splits
// (see Splits: row indexes where reading can start cheaply, from 0 to the
// row count): its share of the row groups, contiguous, so every row is in
// exactly one shard's part. Writers cut row groups of equal size but the
// last, so equal numbers of groups are about equal numbers of rows. ok is
// false when the part is empty (fewer groups than shards).
func SharePart(splits []int64, i, n int) (p Part, ok bool) {
	groups := len(splits) - 1
	p = Part{From: splits[i*groups/n], To: splits[(i+1)*groups/n], Rows: splits[groups]}
	return p, p.From < p.To
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

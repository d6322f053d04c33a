package encode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// Before the first request, the mapping is held against what the inputs
// hold, so that a config mistake costs one message rather than every row:
// each Parquet file's schema (a naive timestamp without timezone, a type
// the column can never give), and the first rows of the first CSV file (a
// column whose every sampled cell fails its type or layout). Each is a
// config problem (exit 2) naming the field, the column, a sample value and
// the fix. The importer opens the inputs and decides what a problem stops;
// the checks are the mapping's.

// SampleRows is how many rows of the first CSV file are checked before the
// first request (and how many first rows of each file one rule failing on
// one column on every row stops the run: the ledger's streak).
const SampleRows = 1000

// MinSampleCells is how many non-empty cells of a column the sample must
// have, all refused, for the column to stop the run: fewer say too little
// (a rejects file fixed by hand, a column nearly always empty).
const MinSampleCells = 10

// SchemaProblems checks the fields of mp against the column types of its
// input, a typed one (Parquet), which opts opens: a column whose every cell the field's type or
// layout refuses, whatever the value (a TIMESTAMP not adjusted to UTC in a
// field without timezone, a BOOLEAN read as a datetime, a list read as
// text), is a config problem. Text columns are left to the sample.
func SchemaProblems(ctx context.Context, mp *Mapper, types []readers.ColumnType, opts readers.Options) []config.ConfigProblem {
	file := mp.file
	var out []config.ConfigProblem
	for _, c := range mp.CheckedFields() {
		if c.F.ColumnIndex() >= len(types) {
			continue
		}
		ct := types[c.F.ColumnIndex()]
		v, ok := typicalValue(ct)
		if !ok {
			continue
		}
		err := c.ConvertErr(&v)
		if err == nil {
			continue
		}
		sample := fmt.Sprintf("no value in its first %d rows to show; any is refused", SampleRows)
		if pos, real, ok := firstValue(ctx, file, c.F.Column, opts); ok {
			rerr := c.ConvertErr(&real)
			if rerr == nil {
				continue // typicalValue was not typical: the rows will tell
			}
			sample, err = fmt.Sprintf("e.g. row %d", pos.Row()), rerr
		}
		p := c.Problem("column %q of %s is a Parquet %s, which type %s cannot read: every row would be rejected (%s: %v)%s",
			c.F.Column, file, ct.Physical, c.F.Type, sample, err, typeFix(ct, c.F))
		p.File = mp.cfg.File
		out = append(out, p)
	}
	return out
}

// typicalValue is a cell of type ct for SchemaProblems: one that every
// type able to read such a column reads. Text has none (any text may
// fail or pass).
func typicalValue(ct readers.ColumnType) (readers.Value, bool) {
	at := time.Date(2024, 1, 15, 8, 30, 0, 0, time.UTC)
	switch ct.Kind {
	case readers.KindInt:
		return readers.Value{Kind: readers.KindInt, Int: 1}, true
	case readers.KindFloat:
		return readers.Value{Kind: readers.KindFloat, Float: 1}, true
	case readers.KindDecimal:
		return readers.Value{Kind: readers.KindDecimal, Str: "1"}, true
	case readers.KindBool:
		return readers.BoolValue(true), true
	case readers.KindDate:
		return readers.DateValue(at), true
	case readers.KindTime:
		if ct.Wall {
			return readers.WallTimeValue(at), true
		}
		return readers.TimeValue(at), true
	case readers.KindList:
		return readers.Value{Kind: readers.KindList, List: []readers.Value{{Kind: readers.KindInt, Int: 1}}}, true
	}
	return readers.Value{}, false
}

// typeFix says how to read a column of type ct that f's type cannot, when
// the error itself does not.
func typeFix(ct readers.ColumnType, f *Field) string {
	switch {
	case ct.Kind == readers.KindTime && ct.Wall && f.Timezone == nil:
		return "" // the error says to set timezone
	case ct.Kind == readers.KindList:
		return "; declare type: array, or map another column"
	case ct.Kind == readers.KindTime || ct.Kind == readers.KindDate:
		return "; declare type: datetime or date (or string), or map another column"
	case ct.Kind == readers.KindBool:
		return "; declare type: boolean (or string), or map another column"
	}
	return "; declare type: number or integer (or string), or map another column"
}

// firstValue returns the first non-null cell of column col in file's
// first SampleRows rows (opened with o), for messages.
func firstValue(ctx context.Context, file, col string, o readers.Options) (readers.Position, readers.Value, bool) {
	o.Columns = []string{col}
	rd, err := readers.Open(ctx, file, o)
	if err != nil {
		return readers.Position{}, readers.Value{}, false
	}
	defer rd.Close()
	for range SampleRows {
		rec, err := rd.Next(ctx)
		if err != nil {
			break
		}
		if rec.Len() > 0 {
			if v := rec.Value(0); !v.IsNull() {
				return rec.Pos, v, true
			}
		}
	}
	return readers.Position{}, readers.Value{}, false
}

// fieldSample is what the sample found of one field.
type fieldSample struct {
	cells, failed int64
	first         string // the first failing cell, where it was and why
	floats        int64  // cells of an identifier that look like a float
	float         string // the first of them, with where it was
}

// SampleProblems maps the first SampleRows rows of file, a text input
// (CSV) that opts opens, with cfg's mapping, and reports each field whose
// every non-empty sampled cell (at least MinSampleCells) its type or
// layout refuses. An identifier column without type: integer most of
// whose non-empty sampled cells look like floats (1000001.0, as pandas
// and polars write an integer column that held a null) is warned about
// once, on log.
func SampleProblems(ctx context.Context, cfg *config.Config, file string, opts readers.Options, log *slog.Logger) ([]config.ConfigProblem, error) {
	rd, err := readers.Open(ctx, file, opts)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	mp, err := NewMapper(cfg, file, rd.Columns(), time.Time{})
	if err != nil {
		return nil, err
	}
	fields := mp.CheckedFields()
	seen := make([]fieldSample, len(fields))
	rows := 0
	buf := make([]byte, 0, 256)
	for tried := 0; tried < SampleRows; tried++ {
		rec, err := rd.Next(ctx)
		if err == io.EOF {
			break
		}
		var pe *readers.ParseError
		if errors.As(err, &pe) {
			continue // a broken record is the data's problem
		}
		if err != nil {
			return nil, err
		}
		rows++
		tmp := readers.Value{Kind: readers.KindString}
		for i, c := range fields {
			v := mp.Cell(c.F, &rec, &tmp)
			if v == nil {
				continue
			}
			s := &seen[i]
			s.cells++
			if c.Identifier && c.F.Type != config.TypeInteger && looksFloatID(TextOf(v)) {
				s.floats++
				if s.float == "" {
					s.float = fmt.Sprintf("%q in %s", TextOf(v), rec.Pos)
				}
			}
			if err := c.ConvertInto(buf[:0], v); err != nil {
				s.failed++
				if s.first == "" {
					s.first = fmt.Sprintf("%s: %q: %s", rec.Pos, TextOf(v), CellError(err, v))
				}
			}
		}
	}
	var out []config.ConfigProblem
	for i, c := range fields {
		if s := seen[i]; s.floats > 0 && s.floats*2 > s.cells {
			log.Warn(fmt.Sprintf("%s: column %q holds ids written as floats (e.g. %s); they are sent as written, so the same id written as an integer "+
				"(by another tool, or in Parquet) would be another user: declare type: integer on the identifier to send the whole number", c.Where, c.F.Column, s.float),
				"field", c.Where, "column", c.F.Column)
		}
		if s := seen[i]; s.cells >= MinSampleCells && s.failed == s.cells {
			p := c.Problem("column %q: every one of its %d non-empty cells in the first %d rows of %s is refused, so every row would be rejected; fix the field (e.g. %s)",
				c.F.Column, s.cells, rows, file, s.first)
			p.File = cfg.File
			out = append(out, p)
		}
	}
	return out, nil
}

// looksFloatID reports whether s is a whole number written as a float:
// digits, a point and zeros (1000001.0), or with an exponent (1.000001E6,
// 1e+06).
func looksFloatID(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	i = skipDigits(s, i)
	if i == start || i == len(s) {
		return false
	}
	if s[i] == '.' {
		i++
		fs := i
		i = skipDigits(s, i)
		if i == len(s) {
			return i > fs && strings.Trim(s[fs:], "0") == ""
		}
	}
	if s[i] != 'e' && s[i] != 'E' {
		return false
	}
	i++
	if i < len(s) && s[i] == '+' {
		i++
	}
	es := i
	i = skipDigits(s, i)
	return i == len(s) && i > es
}

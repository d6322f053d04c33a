package readers

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ColumnTypes says what DuckDB's columns hold before any row is read: a
// TIMESTAMP is a wall-clock time, a TIMESTAMPTZ an instant; CSV declares
// nothing.
func TestColumnTypes(t *testing.T) {
	types := func(file string, cols ...string) map[string]ColumnType {
		r, err := Open(context.Background(), file, Options{Columns: cols})
		require.NoError(t, err)
		defer r.Close()
		ts := ColumnTypes(r)
		require.Len(t, ts, len(r.Columns()))
		out := map[string]ColumnType{}
		for i, c := range r.Columns() {
			out[c] = ts[i]
		}
		return out
	}
	got := types("../testdata/interop/duckdb_default.parquet", "id", "tier", "opt_in", "ltv", "day", "ts", "tags", "address.city", "price")
	assert.Equal(t, map[string]ColumnType{
		"id":           {Kind: KindInt, Physical: "INTEGER"},
		"tier":         {Kind: KindString, Physical: "BYTE_ARRAY (text)"},
		"opt_in":       {Kind: KindBool, Physical: "BOOLEAN"},
		"ltv":          {Kind: KindFloat, Physical: "FLOAT/DOUBLE"},
		"day":          {Kind: KindDate, Physical: "DATE"},
		"ts":           {Kind: KindTime, Wall: true, Physical: "TIMESTAMP not adjusted to UTC (a wall-clock time without a zone)"},
		"tags":         {Kind: KindList, Physical: "a list of BYTE_ARRAY (text)"},
		"address.city": {Kind: KindString, Physical: "BYTE_ARRAY (text)"},
		"price":        {Kind: KindFloat, Physical: "FLOAT/DOUBLE"},
	}, got)
	for c, ct := range types("../testdata/interop/duckdb_timestamptz.parquet") {
		if ct.Kind == KindTime {
			assert.False(t, ct.Wall, "%s: TIMESTAMPTZ is an instant", c)
		}
	}
	r, err := Open(context.Background(), "../testdata/interop/duckdb_csv_default.csv", Options{})
	require.NoError(t, err)
	defer r.Close()
	assert.Nil(t, ColumnTypes(r), "CSV declares no types")
}

// The types ColumnTypes declares are the kinds of the values read, in
// every column of every Parquet file of the corpus (an unsigned 64-bit
// integer beyond int64 is exact text, KindDecimal, in an INTEGER column).
func TestColumnTypesMatchValues(t *testing.T) {
	files, err := filepath.Glob("../testdata/interop/*.parquet")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		r, err := Open(context.Background(), file, Options{})
		if err != nil {
			continue // the corpus's unreadable files have their own tests
		}
		types := ColumnTypes(r)
		require.Len(t, types, len(r.Columns()), file)
		checked := 0
		for {
			rec, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				break
			}
			for i, v := range rec.Values {
				if v.IsNull() {
					continue
				}
				ct := types[i]
				if ct.Kind == KindInt && v.Kind == KindDecimal {
					continue
				}
				require.Equal(t, ct.Kind, v.Kind, "%s column %s", file, r.Columns()[i])
				require.Equal(t, ct.Wall, v.Wall, "%s column %s", file, r.Columns()[i])
				checked++
			}
		}
		r.Close()
		assert.Positive(t, checked, file)
	}
}

package readers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The interop corpus (testdata/interop, made by scripts/interop.sh) holds
// Parquet files written by DuckDB, polars, arrow-rs, arrow-go, xitongsys and
// parquet-go, each beside the rows its writer's own reader read back
// (NAME.jsonl), or the error we must give (NAME.error). Every cell read here
// must equal the writer's, after normalising how JSON spells it: times are
// compared as instants, decimals as exact rationals, 64-bit integers as
// digits, structs by their dotted leaf columns, maps by their key and value
// lists.
func TestInteropCorpus(t *testing.T) {
	files, err := filepath.Glob("../testdata/interop/*.parquet")
	require.NoError(t, err)
	require.NotEmpty(t, files, "the corpus is committed; scripts/interop.sh regenerates it")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".parquet")
		t.Run(name, func(t *testing.T) {
			base := strings.TrimSuffix(file, ".parquet")
			if want, err := os.ReadFile(base + ".error"); err == nil {
				interopWantError(t, file, strings.TrimSpace(string(want)))
				return
			}
			want := interopExpected(t, base+".jsonl")
			r, err := Open(context.Background(), file, Options{})
			require.NoError(t, err)
			defer r.Close()
			recs := pqReadAll(t, r)
			require.Len(t, recs, len(want), "rows")
			cols := r.Columns()
			for i, rec := range recs {
				got := map[string]Value{}
				for k, c := range cols {
					got[c] = rec.Values[k]
				}
				used := map[string]bool{}
				for key, exp := range want[i] {
					if err := interopMatch(key, exp, got, used); err != nil {
						t.Fatalf("row %d column %s: %v\nwant %v\nrow  %v", i, key, err, want[i], got)
					}
				}
				if i == 0 {
					for _, c := range cols {
						require.True(t, used[c], "column %s is not in the writer's rows", c)
					}
				}
			}
		})
	}
}

// interopWantError checks that the file fails at once with a fatal error
// (not a per-row one) naming the file and saying want.
func interopWantError(t *testing.T, file, want string) {
	r, err := Open(context.Background(), file, Options{})
	if err == nil {
		defer r.Close()
		_, err = r.Next(context.Background())
		_, again := r.Next(context.Background())
		require.Equal(t, err, again, "errors are sticky")
	}
	require.Error(t, err)
	require.ErrorContains(t, err, want)
	require.ErrorContains(t, err, filepath.Base(file))
	var pe *ParseError
	require.False(t, errors.As(err, &pe), "a fatal error, not a per-row one: %v", err)
}

func interopExpected(t *testing.T, path string) []map[string]any {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var row map[string]any
		require.NoError(t, d.Decode(&row))
		rows = append(rows, row)
	}
	require.NoError(t, sc.Err())
	return rows
}

// interopMatch compares the writer's value of top-level column key with
// the columns read for it, marking them used.
func interopMatch(key string, exp any, got map[string]Value, used map[string]bool) error {
	if v, ok := got[key]; ok {
		used[key] = true
		return interopValue(exp, v)
	}
	var subs []string
	for c := range got {
		if strings.HasPrefix(c, key+".") {
			subs = append(subs, c)
		}
	}
	slices.Sort(subs)
	if len(subs) == 0 {
		return errors.New("no such column read")
	}
	for _, s := range subs {
		used[s] = true
	}
	// A map: its key and value leaves, as lists.
	if len(subs) == 2 && strings.HasSuffix(subs[0], ".key") && strings.HasSuffix(subs[1], ".value") {
		return interopMap(exp, got[subs[0]], got[subs[1]])
	}
	switch e := exp.(type) {
	case nil:
		for _, s := range subs {
			if v := got[s]; !v.IsNull() {
				return fmt.Errorf("%s is %s for a null struct", s, pqDescribe(v))
			}
		}
		return nil
	case map[string]any: // a struct: its fields are the dotted columns
		for field, fv := range e {
			if err := interopMatch(key+"."+field, fv, got, used); err != nil {
				return fmt.Errorf("%s: %w", field, err)
			}
		}
		return nil
	case []any: // a list of structs: one list per leaf
		for _, s := range subs {
			leaf := s[strings.LastIndex(s, ".")+1:]
			var list []any
			for _, el := range e {
				if m, ok := el.(map[string]any); ok {
					list = append(list, m[leaf])
				} else {
					list = append(list, nil)
				}
			}
			if err := interopValue(list, got[s]); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	return fmt.Errorf("want %v, read columns %v", exp, subs)
}

func interopMap(exp any, keys, vals Value) error {
	if exp == nil {
		if keys.IsNull() && vals.IsNull() {
			return nil
		}
		return fmt.Errorf("want a null map, read %s %s", pqDescribe(keys), pqDescribe(vals))
	}
	var pairs [][2]any
	switch e := exp.(type) {
	case map[string]any:
		for k, v := range e {
			pairs = append(pairs, [2]any{k, v})
		}
	case []any: // [{"key": k, "value": v}, ...]
		for _, el := range e {
			m, _ := el.(map[string]any)
			pairs = append(pairs, [2]any{m["key"], m["value"]})
		}
	default:
		return fmt.Errorf("want %v, read a map", exp)
	}
	if keys.Kind != KindList || vals.Kind != KindList || len(keys.List) != len(pairs) || len(vals.List) != len(pairs) {
		return fmt.Errorf("want %d entries, read %s %s", len(pairs), pqDescribe(keys), pqDescribe(vals))
	}
	for _, p := range pairs {
		i := slices.IndexFunc(keys.List, func(k Value) bool { return interopValue(p[0], k) == nil })
		if i < 0 {
			return fmt.Errorf("key %v not read", p[0])
		}
		if err := interopValue(p[1], vals.List[i]); err != nil {
			return fmt.Errorf("key %v: %w", p[0], err)
		}
	}
	return nil
}

// interopValue compares one JSON value with one Value.
func interopValue(exp any, v Value) error {
	bad := func() error { return fmt.Errorf("want %#v, read %s", exp, pqDescribe(v)) }
	if exp == nil || exp == "" {
		if v.IsNull() {
			return nil
		}
		return bad()
	}
	switch v.Kind {
	case KindNull:
		return bad()
	case KindString:
		switch e := exp.(type) {
		case string:
			if e == v.Str || strings.EqualFold(e, v.Str) && len(e) == 36 { // UUIDs in either case
				return nil
			}
			if a, b, ok := interopClock(e, v.Str); ok && a == b {
				return nil
			}
			return bad()
		case map[string]any, []any: // a JSON column the writer's reader parsed
			d := json.NewDecoder(strings.NewReader(v.Str))
			d.UseNumber()
			var parsed any
			if err := d.Decode(&parsed); err != nil || !reflect.DeepEqual(parsed, exp) {
				return bad()
			}
			return nil
		}
		return bad()
	case KindInt:
		if interopDigits(exp) == strconv.FormatInt(v.Int, 10) {
			return nil
		}
		return bad()
	case KindDecimal:
		a, ok1 := new(big.Rat).SetString(interopDigits(exp))
		b, ok2 := new(big.Rat).SetString(v.Str)
		if ok1 && ok2 && a.Cmp(b) == 0 {
			return nil
		}
		return bad()
	case KindFloat:
		f, err := strconv.ParseFloat(interopDigits(exp), 64)
		if err == nil && (f == v.Float || math.Abs(f-v.Float) <= 1e-7*math.Max(math.Abs(f), math.Abs(v.Float))) {
			return nil
		}
		return bad()
	case KindBool:
		if b, ok := exp.(bool); ok && b == v.Bool() {
			return nil
		}
		return bad()
	case KindTime:
		s, _ := exp.(string)
		if at, ok := interopTime(s); ok && at.Equal(v.Time()) {
			return nil
		}
		return bad()
	case KindDate:
		if s, _ := exp.(string); strings.HasPrefix(s, v.String()) {
			return nil
		}
		return bad()
	case KindList:
		e, ok := exp.([]any)
		if !ok {
			return bad()
		}
		e = interopFlatten(e, v)
		if len(e) != len(v.List) {
			return bad()
		}
		for i := range e {
			if m, ok := e[i].(map[string]any); ok && len(m) == 1 {
				// A legacy list's element group of one field (a repeated
				// group named "array" or NAME_tuple) is that field.
				for _, x := range m {
					e[i] = x
				}
			}
			if err := interopValue(e[i], v.List[i]); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	}
	return bad()
}

// interopFlatten turns a list of lists into the flat list of its non-null
// elements, as the reader yields a column repeated more than once.
func interopFlatten(e []any, v Value) []any {
	nested := false
	for _, x := range e {
		if _, ok := x.([]any); ok {
			nested = true
		}
	}
	if !nested {
		return e
	}
	var out []any
	var walk func([]any)
	walk = func(l []any) {
		for _, x := range l {
			switch y := x.(type) {
			case []any:
				walk(y)
			case nil:
			default:
				out = append(out, y)
			}
		}
	}
	walk(e)
	return out
}

func interopDigits(exp any) string {
	switch e := exp.(type) {
	case json.Number:
		return e.String()
	case string:
		return e
	}
	return fmt.Sprint(exp)
}

// interopTime parses the ways the writers' readers print an instant; one
// without an offset is a wall-clock time, read as UTC.
func interopTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(s, " UTC")
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07",
		"2006-01-02T15:04:05.999999999Z07",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999",
	} {
		if at, err := time.Parse(layout, s); err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}

// interopClock compares times of day written with different precision.
func interopClock(a, b string) (time.Time, time.Time, bool) {
	x, err1 := time.Parse("15:04:05.999999999", a)
	y, err2 := time.Parse("15:04:05.999999999", b)
	return x, y, err1 == nil && err2 == nil
}

// TestInteropCSV reads DuckDB's CSV exports (testdata/interop/duckdb_csv_*,
// written by scripts/interop.sh: quoted delimiters, "" quotes, \n and \r\n
// inside fields, padded and non-ASCII text, FORCE_QUOTE, tab and ';'
// delimiters) and compares every cell with what DuckDB's own read_csv reads
// back. Two differences are ours by design: an empty field is "" whether
// DuckDB wrote NULL or "" (null_values decide later), and a \r\n inside a
// quoted field reads as \n, as encoding/csv reads it. The one-line fast
// path must agree with the general one on every record.
func TestInteropCSV(t *testing.T) {
	delims := map[string]rune{"duckdb_csv_default": ',', "duckdb_csv_semicolon_quoted": ';', "duckdb_csv_tab": '\t'}
	files, err := filepath.Glob("../testdata/interop/*.csv")
	require.NoError(t, err)
	require.Len(t, files, len(delims), "the corpus is committed; scripts/interop.sh regenerates it")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".csv")
		t.Run(name, func(t *testing.T) {
			comma, ok := delims[name]
			require.True(t, ok, "no delimiter known for %s", name)
			r, err := Open(context.Background(), file, Options{Delimiter: comma})
			require.NoError(t, err)
			defer r.Close()
			rows, _, perrs := readAll(t, r)
			require.Empty(t, perrs)
			data, err := os.ReadFile(file + ".jsonl")
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			require.Len(t, rows, len(lines), "rows")
			cols := r.Columns()
			for i, line := range lines {
				var want map[string]*string
				require.NoError(t, json.Unmarshal([]byte(line), &want))
				require.Len(t, rows[i], len(cols), "row %d", i)
				for k, c := range cols {
					w, ok := want[c]
					require.True(t, ok, "column %s is not in DuckDB's rows", c)
					exp := ""
					if w != nil {
						exp = strings.ReplaceAll(*w, "\r\n", "\n")
					}
					require.Equal(t, exp, rows[i][k], "row %d column %s", i, c)
				}
			}
			all, err := os.ReadFile(file)
			require.NoError(t, err)
			compareSplitLine(t, splitCase{data: all, comma: comma})
		})
	}
}

package readers

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// hiveNull is the partition value Hive and Spark write for a null.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// partition is one key=value directory segment above an input.
type partition struct {
	segment    string // as written
	key, value string // decoded; value "" for null
}

// partitionsOf returns the Hive-style partitions of an input: the
// key=value directory segments right above the file, outermost first
// (table/country=TR/day=2025-01-02/part-0.parquet gives country and day),
// keys and values URL-decoded as Hive writes them, __HIVE_DEFAULT_PARTITION__
// null.
func partitionsOf(uri string) []partition {
	var dir string
	if IsS3(uri) {
		_, key, err := parseS3(uri)
		if err != nil {
			return nil
		}
		dir = path.Dir(key)
	} else {
		dir = filepath.ToSlash(filepath.Dir(uri))
	}
	els := strings.Split(dir, "/")
	var out []partition
	for i := len(els) - 1; i >= 0; i-- {
		k, v, ok := strings.Cut(els[i], "=")
		if !ok || k == "" {
			break
		}
		p := partition{segment: els[i], key: hiveUnescape(k), value: hiveUnescape(v)}
		if v == hiveNull {
			p.value = ""
		}
		out = append(out, p)
	}
	slices.Reverse(out)
	return out
}

// hiveUnescape decodes the %XX escapes Hive, Spark and DuckDB write in
// partition paths; text that is not a valid escape stays as written.
func hiveUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// partitionReader adds an input's partitions to each of its records as
// text columns after the file's own. Positions are the file's.
type partitionReader struct {
	Reader
	columns []string
	text    []string // values as text cells ("" for null)
	values  []Value  // values as typed cells
}

// withPartitions wraps r with the partitions of its input. A partition
// key that is also a column of the file is an *InputError naming both:
// which of the two is meant is not clear.
func withPartitions(r Reader, name string, parts []partition) (Reader, error) {
	cols := r.Columns()
	p := &partitionReader{Reader: r, columns: slices.Clip(slices.Clone(cols))}
	for _, part := range parts {
		if slices.Contains(p.columns, part.key) {
			return nil, &InputError{Input: name, Msg: fmt.Sprintf("the directory %q makes a partition column %q, and the file has a column %q too; which one is meant is not clear: rename one of them", part.segment, part.key, part.key)}
		}
		p.columns = append(p.columns, part.key)
		p.text = append(p.text, part.value)
		p.values = append(p.values, StringValue(part.value))
	}
	return p, nil
}

func (p *partitionReader) Columns() []string { return p.columns }

func (p *partitionReader) Next(ctx context.Context) (Record, error) {
	rec, err := p.Reader.Next(ctx)
	if err != nil {
		return rec, err
	}
	if rec.Values != nil {
		rec.Values = append(rec.Values[:len(rec.Values):len(rec.Values)], p.values...)
	} else {
		rec.Text = append(rec.Text[:len(rec.Text):len(rec.Text)], p.text...)
	}
	return rec, nil
}

func (p *partitionReader) splits() []int64 { return Splits(p.Reader) }

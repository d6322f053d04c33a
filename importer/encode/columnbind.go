package encode

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// Field is a config.Field bound to the columns of one input: what the
// mapper needs of it on every row, worked out once when it is bound.
type Field struct {
	config.Field
	col  int       // index of Column in the input's header, -1 for none
	key  string    // Name encoded as a JSON object key with its colon
	role fieldRole // what mapping checks or counts by Name
}

// Mapping is the config's mapping bound to one input's columns.
type Mapping struct {
	Identifiers []Field
	Attributes  []Field
	Events      []EventSpec
}

// EventSpec is a config.EventSpec bound to one input's columns. An event
// of a fixed name carries what can be worked out once: its encoded head,
// the params Insider requires and the oldest and newest timestamps the TTL
// filter keeps.
type EventSpec struct {
	Name       string // fixed name, or
	NameColumn *Field // the column holding it
	Timestamp  Field
	Params     []Field

	head           string // {"event_name":"<Name>","timestamp": for a fixed name
	required       []string
	oldest, newest time.Time
}

// newField returns f bound to no column, with its encoded key and role.
func newField(f config.Field) Field {
	var buf [64]byte // the key is encoded here: one allocation, the string
	bf := Field{Field: f, col: -1, key: string(appendKey(buf[:0], true, f.Name))}
	bf.role = roleOf(&bf)
	return bf
}

// KeyedFields returns fs bound to no column: the attributes a user object
// is encoded with (encodeUser).
func KeyedFields(fs []config.Field) []Field {
	out := make([]Field, len(fs))
	for i := range fs {
		out[i] = newField(fs[i])
	}
	return out
}

// columnBinder binds fields to the columns of one input's header and
// collects, as config problems, the columns that are not in it or are in
// it more than once.
type columnBinder struct {
	cfg      *config.Config
	file     string
	idx      map[string]int // column name → its first index
	dups     map[string]int // column name → how many more times it appears
	problems []config.ConfigProblem
	missing  bool // some mapped column is not in the header
}

func newColumnBinder(cfg *config.Config, file string, columns []string) *columnBinder {
	b := &columnBinder{cfg: cfg, file: file, idx: make(map[string]int, len(columns)), dups: map[string]int{}}
	for i, c := range columns {
		c = b.key(c)
		if _, dup := b.idx[c]; dup {
			b.dups[c]++
			continue
		}
		b.idx[c] = i
	}
	return b
}

// key is how a column name is looked up: as written, or in lower case
// with source.columns_case: insensitive.
func (b *columnBinder) key(c string) string {
	if b.cfg.Source.ColumnsInsensitive {
		return strings.ToLower(c)
	}
	return c
}

// bind returns a copy of fs with each field's column index set (-1 for a
// field without a column, or whose column is missing).
func (b *columnBinder) bind(fs []config.Field) []Field {
	out := KeyedFields(fs)
	for i := range out {
		f := &out[i]
		if f.Column == "" {
			continue
		}
		c, ok := b.idx[b.key(f.Column)]
		if !ok {
			b.missing = true
			b.problems = append(b.problems, config.ConfigProblem{File: b.cfg.File, Line: f.At.Line, Column: f.At.Column,
				Msg: fmt.Sprintf("column %q (for %s) is not in the header of %s", f.Column, f.Name, b.file)})
		}
		if n := b.dups[b.key(f.Column)]; n > 0 {
			b.problems = append(b.problems, config.ConfigProblem{File: b.cfg.File, Line: f.At.Line, Column: f.At.Column,
				Msg: fmt.Sprintf("column %q (for %s) appears %d times in the header of %s; which one is meant is not clear", f.Column, f.Name, n+1, b.file)})
		}
		if ok {
			f.col = c
		}
	}
	return out
}

// headerHints describe the header of file when mapped columns are missing
// from it: the columns found and, when the header is one column that
// holds another delimiter, which delimiter to set.
func headerHints(cfg *config.Config, file string, columns []string, missing bool) []string {
	if !missing {
		return nil
	}
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = strconv.Quote(c)
	}
	const most = 40
	list := strings.Join(quoted[:min(len(quoted), most)], ", ")
	if len(quoted) > most {
		list += fmt.Sprintf(", ... (%d more)", len(quoted)-most)
	}
	hints := []string{fmt.Sprintf("the header of %s has %d column(s): %s", file, len(columns), list)}
	if len(columns) == 1 && readers.FormatOf(file, cfg.Source.Format) == readers.FormatCSV {
		for _, d := range []string{";", "\t", "|", ","} {
			if d != string(cfg.Source.Delimiter) && strings.Contains(columns[0], d) {
				name := d
				if d == "\t" {
					name = `"\t"`
				} else {
					name = strconv.Quote(d)
				}
				hints = append(hints, fmt.Sprintf("the header is one column holding %s: the file looks %s-separated; set source.csv.delimiter: %s", name, name, name))
				break
			}
		}
	}
	hints = append(hints, normalizationHints(cfg, columns)...)
	if !cfg.Source.ColumnsInsensitive {
		for _, f := range cfg.Mapping.Columns() {
			if !slices.Contains(columns, f) && slices.ContainsFunc(columns, func(c string) bool { return strings.EqualFold(c, f) }) {
				hints = append(hints, fmt.Sprintf("column %q is in the header in another case; set source.columns_case: insensitive", f))
				break
			}
		}
	}
	return hints
}

// normalizationHints name each mapped column that is missing from the
// header only because the header writes the same letters with other code
// points (Unicode NFC vs NFD: "é" as one code point or as "e" and a
// combining accent, as macOS file names and some exports have them), with
// the name to write in the config, escaped, so it can be pasted.
func normalizationHints(cfg *config.Config, columns []string) []string {
	key := func(s string) string {
		s = norm.NFC.String(s)
		if cfg.Source.ColumnsInsensitive {
			s = strings.ToLower(s)
		}
		return s
	}
	var hints []string
	for _, f := range cfg.Mapping.Columns() {
		if slices.ContainsFunc(columns, func(c string) bool {
			return c == f || cfg.Source.ColumnsInsensitive && strings.ToLower(c) == strings.ToLower(f)
		}) {
			continue // bound
		}
		for _, c := range columns {
			if c != f && key(c) == key(f) {
				hints = append(hints, fmt.Sprintf("column %q differs from the header's %q only in Unicode normalization (the config writes it in %s, the header in %s: the same letters as other code points); write it as the header does: %s",
					f, c, normForm(f), normForm(c), strconv.QuoteToASCII(c)))
				break
			}
		}
	}
	return hints
}

// normForm names the Unicode normalization form s is in.
func normForm(s string) string {
	switch {
	case norm.NFC.IsNormalString(s):
		return "NFC"
	case norm.NFD.IsNormalString(s):
		return "NFD"
	}
	return "neither NFC nor NFD"
}

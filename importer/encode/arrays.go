package encode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// How an array cell of text is written (format: on an array field, see
// config.ArrayFormats). "separator" splits at the field's separator; the
// others read the list syntax of the tools that export arrays as text.
const (
	arraySeparator = config.ArraySeparator // a|b|c (the default)
	arrayJSON      = config.ArrayJSON      // ["a","b"]
	arrayPostgres  = config.ArrayPostgres  // {a,b,"c d",NULL}
	arrayBrackets  = config.ArrayBrackets  // [a, b, 'c, d'] (DuckDB)
)

var arrayFormats = config.ArrayFormats

// errNoItems is what appendArray returns for an array without items (a
// cell of separators and spaces, an empty list): like an empty cell it
// means "absent", and an empty array would wipe the stored one under
// array_attributes: overwrite.
var errNoItems = errors.New("the array has no items")

// parseArrayText reads an array cell written in format (not "separator")
// into its items; null items are null Values, empty strings too.
func parseArrayText(format, s string) ([]readers.Value, error) {
	switch format {
	case arrayJSON:
		return parseJSONArray(s)
	case arrayPostgres:
		return parseDelimited(s, '{', '}', `{a,b,"c d"}`, "a PostgreSQL array")
	case arrayBrackets:
		return parseDelimited(s, '[', ']', `[a, b, 'c d']`, "a bracketed list")
	}
	return nil, fmt.Errorf("unknown array format %q", format)
}

func parseJSONArray(s string) ([]readers.Value, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var items []any
	if err := d.Decode(&items); err != nil {
		return nil, fmt.Errorf("not a JSON array: %q (written [\"a\",\"b\"])", s)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("not a JSON array: %q (text after the closing ])", s)
	}
	out := make([]readers.Value, len(items))
	for i, it := range items {
		switch x := it.(type) {
		case nil:
		case string:
			out[i] = readers.StringValue(x)
		case json.Number:
			out[i] = readers.Value{Kind: readers.KindString, Str: x.String()}
		case bool:
			out[i] = readers.BoolValue(x)
		case []any:
			return nil, fmt.Errorf("item %d: a list inside a list", i+1)
		default:
			return nil, fmt.Errorf("item %d: an object is not an array item", i+1)
		}
	}
	return out, nil
}

// parseDelimited reads a list written open, items separated by commas,
// close: PostgreSQL's array text ({a,b}) and DuckDB's list text ([a, b]).
// Spaces around items are dropped; an item may be quoted with " (or ' in
// brackets), inside which a backslash escapes the next character and a
// doubled quote is one quote. An unquoted NULL is a null item.
func parseDelimited(s string, open, close byte, example, what string) ([]readers.Value, error) {
	bad := func(why string) error {
		return fmt.Errorf("not %s: %q (%s; written %s)", what, s, why, example)
	}
	if len(s) < 2 || s[0] != open || s[len(s)-1] != close {
		return nil, bad(fmt.Sprintf("it must start with %c and end with %c", open, close))
	}
	body := s[1 : len(s)-1]
	if strings.TrimSpace(body) == "" {
		return nil, nil
	}
	var items []readers.Value
	var b strings.Builder
	for i := 0; ; {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i < len(body) && (body[i] == open || body[i] == '{' || body[i] == '[') {
			return nil, fmt.Errorf("item %d: a list inside a list", len(items)+1)
		}
		var item readers.Value
		if i < len(body) && (body[i] == '"' || (body[i] == '\'' && open == '[')) {
			q := body[i]
			b.Reset()
			i++
			closed := false
			for i < len(body) && !closed {
				c := body[i]
				switch {
				case c == '\\' && i+1 < len(body):
					b.WriteByte(body[i+1])
					i += 2
				case c == q && i+1 < len(body) && body[i+1] == q:
					b.WriteByte(q)
					i += 2
				case c == q:
					closed = true
					i++
				default:
					b.WriteByte(c)
					i++
				}
			}
			if !closed {
				return nil, bad("a quote is not closed")
			}
			item = readers.StringValue(b.String())
			for i < len(body) && body[i] == ' ' {
				i++
			}
		} else {
			j := i
			for j < len(body) && body[j] != ',' {
				if c := body[j]; c == open || c == close || (open == '{' && (c == '"' || c == '\\')) {
					return nil, bad(fmt.Sprintf("item %d has a %c inside; quote it", len(items)+1, c))
				}
				j++
			}
			text := strings.TrimSpace(body[i:j])
			if text == "" {
				return nil, bad(fmt.Sprintf("item %d is empty", len(items)+1))
			}
			if !strings.EqualFold(text, "NULL") {
				item = readers.StringValue(text)
			}
			i = j
		}
		items = append(items, item)
		if i == len(body) {
			return items, nil
		}
		if body[i] != ',' {
			return nil, bad(fmt.Sprintf("a comma is missing after item %d", len(items)))
		}
		i++
	}
}

// appendArrayText appends v, a list, as an array cell written in f's
// format, for a rejects CSV that is imported again with the same config:
// items joined with the separator, or in the declared list syntax.
func appendArrayText(dst []byte, f *Field, v readers.Value) []byte {
	format := f.Format
	if format == "" {
		format = arraySeparator
	}
	switch format {
	case arrayJSON:
		dst = append(dst, '[')
	case arrayPostgres:
		dst = append(dst, '{')
	case arrayBrackets:
		dst = append(dst, '[')
	}
	for i, it := range v.List {
		if i > 0 {
			switch format {
			case arraySeparator:
				dst = append(dst, f.Separator...)
			case arrayBrackets:
				dst = append(dst, ", "...)
			default:
				dst = append(dst, ',')
			}
		}
		switch {
		case format == arrayJSON && it.IsNull():
			dst = append(dst, "null"...)
		case format == arrayJSON:
			dst = appendString(dst, text(it))
		case it.IsNull() && format != arraySeparator:
			dst = append(dst, "NULL"...)
		case format == arraySeparator:
			dst = append(dst, text(it)...)
		default:
			dst = appendQuoted(dst, text(it))
		}
	}
	switch format {
	case arrayJSON, arrayBrackets:
		dst = append(dst, ']')
	case arrayPostgres:
		dst = append(dst, '}')
	}
	return dst
}

// appendQuoted appends s as a double-quoted item of a PostgreSQL or
// bracketed list, " and \ escaped with a backslash.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

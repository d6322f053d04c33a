package importer

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// cell returns the value of f in rec: its constant, or its column's cell
// with configured null tokens turned into null.
func (m *mapper) cell(f *Field, rec *readers.Record) readers.Value {
	if f.Value != nil {
		return readers.StringValue(*f.Value)
	}
	if f.col < 0 || f.col >= len(rec.Values) {
		return readers.Value{}
	}
	v := rec.Values[f.col]
	if v.Kind == readers.KindString {
		s := strings.TrimSpace(v.Str)
		if s == "" || m.nulls[s] {
			return readers.Value{}
		}
		v.Str = s
	}
	return v
}

// text returns v as a string for string fields and identifiers. Numbers
// keep their exact digits; nothing goes through float64 that did not come
// as a float.
func text(v readers.Value) string {
	if v.Kind == readers.KindTime {
		return v.Time.UTC().Format(time.RFC3339Nano)
	}
	return v.String()
}

// appendValue appends the JSON for v converted to f's type.
func appendValue(dst []byte, f *Field, v readers.Value) ([]byte, error) {
	switch f.Type {
	case TypeString:
		if v.Kind == readers.KindList {
			return dst, fmt.Errorf("a list cannot be a %s; declare type: array", f.Type)
		}
		return appendString(dst, text(v)), nil
	case TypeNumber:
		return appendNumber(dst, f, v)
	case TypeInteger:
		i, err := toInteger(v)
		if err != nil {
			return dst, err
		}
		return appendInt(dst, i), nil
	case TypeBoolean:
		b, err := toBool(v)
		if err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, b), nil
	case TypeDate, TypeDateTime:
		t, err := toTime(f, v)
		if err != nil {
			return dst, err
		}
		return appendTime(dst, t), nil
	case TypeArray:
		return appendArray(dst, f, v)
	}
	return dst, fmt.Errorf("unknown type %q", f.Type)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

func appendNumber(dst []byte, f *Field, v readers.Value) ([]byte, error) {
	switch v.Kind {
	case readers.KindInt:
		return appendInt(dst, v.Int), nil
	case readers.KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return dst, fmt.Errorf("%v is not a number Insider accepts", v.Float)
		}
		return appendFloat(dst, v.Float), nil
	case readers.KindBool:
		return dst, errors.New("a boolean is not a number")
	case readers.KindString, readers.KindDecimal:
		s, err := normalizeNumber(v.Str, f.Decimal)
		if err != nil {
			return dst, err
		}
		return append(dst, s...), nil
	}
	return dst, fmt.Errorf("a %s is not a number", v.Kind)
}

// normalizeNumber turns number text into a JSON number literal, keeping
// its digits where they already form one.
func normalizeNumber(s, decimal string) (string, error) {
	orig := s
	if decimal == "," {
		if strings.Contains(s, ".") {
			return "", fmt.Errorf("not a number: %q (decimal comma configured, and it has a '.')", orig)
		}
		s = strings.Replace(s, ",", ".", 1)
	}
	if isJSONNumber(s) {
		return s, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(s, "_xXpP") {
		if decimal == "." && strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
			return "", fmt.Errorf("not a number: %q (a decimal comma? set decimal: \",\" on the field)", orig)
		}
		return "", fmt.Errorf("not a number: %q", orig)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

func toInteger(v readers.Value) (int64, error) {
	switch v.Kind {
	case readers.KindInt:
		return v.Int, nil
	case readers.KindFloat:
		if v.Float != math.Trunc(v.Float) || math.Abs(v.Float) > 1<<53 {
			return 0, fmt.Errorf("not a whole number: %v", v.Float)
		}
		return int64(v.Float), nil
	case readers.KindString, readers.KindDecimal:
		s := strings.TrimPrefix(v.Str, "+")
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		// "3.0" is three; "3.5" is refused.
		if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
			if i, err := strconv.ParseInt(whole, 10, 64); err == nil {
				return i, nil
			}
		}
		return 0, fmt.Errorf("not a whole number: %q", v.Str)
	}
	return 0, fmt.Errorf("a %s is not a whole number", v.Kind)
}

func toBool(v readers.Value) (bool, error) {
	switch v.Kind {
	case readers.KindBool:
		return v.Bool, nil
	case readers.KindInt:
		if v.Int == 0 || v.Int == 1 {
			return v.Int == 1, nil
		}
	case readers.KindString:
		switch strings.ToLower(v.Str) {
		case "true", "1", "yes", "y", "t":
			return true, nil
		case "false", "0", "no", "n", "f":
			return false, nil
		}
		return false, fmt.Errorf("not a boolean: %q (use true/false, 1/0, yes/no or y/n)", v.Str)
	}
	return false, fmt.Errorf("not a boolean: %s", v.String())
}

// zoneless are the layouts tried for "rfc3339" values that carry no zone;
// they are read in the field's timezone.
var zoneless = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"}

func toTime(f *Field, v readers.Value) (time.Time, error) {
	var t time.Time
	switch v.Kind {
	case readers.KindTime, readers.KindDate:
		t = v.Time
	case readers.KindString:
		var err error
		t, err = parseTime(f, v.Str)
		if err != nil {
			return t, err
		}
	default:
		return t, fmt.Errorf("a %s is not a %s", v.Kind, f.Type)
	}
	if f.Type == TypeDate {
		local := t.In(f.Timezone)
		if v.Kind == readers.KindDate {
			local = t.UTC()
		}
		y, mo, d := local.Date()
		t = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	}
	return t, nil
}

func parseTime(f *Field, s string) (time.Time, error) {
	layout := f.Layout
	switch strings.ToLower(layout) {
	case "":
		if f.Type == TypeDate {
			layout = time.DateOnly
			break
		}
		fallthrough
	case "rfc3339":
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		for _, l := range zoneless {
			if t, err := time.ParseInLocation(l, s, f.Timezone); err == nil {
				return t, nil
			}
		}
		if f.Type == TypeDate {
			if t, err := time.ParseInLocation(time.DateOnly, s, f.Timezone); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("not an RFC 3339 %s: %q (e.g. 2025-06-01T14:32:10Z)", f.Type, s)
	}
	t, err := time.ParseInLocation(layout, s, f.Timezone)
	if err != nil {
		return t, fmt.Errorf("%q does not match layout %q", s, layout)
	}
	return t, nil
}

func appendArray(dst []byte, f *Field, v readers.Value) ([]byte, error) {
	var items []readers.Value
	switch v.Kind {
	case readers.KindList:
		items = v.List
	case readers.KindString:
		for _, p := range strings.Split(v.Str, f.Separator) {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, readers.Value{Kind: readers.KindString, Str: p})
			}
		}
	default:
		items = []readers.Value{v}
	}
	numbers := f.wants == upsert.TypeNumberArray
	dst = append(dst, '[')
	n := 0
	for _, it := range items {
		if it.IsNull() {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if numbers {
			var err error
			if dst, err = appendNumber(dst, f, it); err != nil {
				return dst, fmt.Errorf("item %d: %w", n, err)
			}
			continue
		}
		dst = appendString(dst, text(it))
	}
	return append(dst, ']'), nil
}

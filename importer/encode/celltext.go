package encode

import (
	"strconv"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// cellTexts writes the typed cells of an input (Parquet lists, timestamps,
// dates) back as text in the form the field reading them parses, so that a
// rejects CSV imports again with the same config and sends what a direct
// import would: a list joined with the field's separator or written in its
// format, a timestamp in the field's layout. Text cells (CSV) are written
// as read.
type cellTexts struct {
	fields []*Field // by column; nil where the value's own text does
}

// newCellTexts picks, for each column, the first array, date or datetime
// field that reads it.
func newCellTexts(ncols int, groups ...[]Field) *cellTexts {
	ct := &cellTexts{fields: make([]*Field, ncols)}
	for _, fs := range groups {
		for i := range fs {
			f := &fs[i]
			if f.col < 0 || f.col >= ncols || ct.fields[f.col] != nil {
				continue
			}
			if f.Type == config.TypeArray || f.Type == config.TypeDate || f.Type == config.TypeDateTime {
				ct.fields[f.col] = f
			}
		}
	}
	return ct
}

// cells returns the row's cells as text, for the rejects files.
func (r *Row) cells() []string {
	if r.Src.Values == nil || r.texts == nil {
		return r.Src.Strings()
	}
	out := make([]string, len(r.Src.Values))
	for i, v := range r.Src.Values {
		if i < len(r.texts.fields) && r.texts.fields[i] != nil {
			out[i] = cellText(r.texts.fields[i], v)
		} else {
			out[i] = v.String()
		}
	}
	return out
}

// cellText writes v as text that f reads back as v.
func cellText(f *Field, v readers.Value) string {
	switch {
	case v.Kind == readers.KindList && f.Type == config.TypeArray:
		return string(appendArrayText(nil, f, v))
	case (v.Kind == readers.KindTime || v.Kind == readers.KindDate) && (f.Type == config.TypeDate || f.Type == config.TypeDateTime):
		return timeText(f, v)
	}
	return v.String()
}

// timeText writes a timestamp or date in f's layout: a count since the
// epoch, Go's layout in the field's timezone (UTC for a date, or when none
// is set), or RFC 3339.
func timeText(f *Field, v readers.Value) string {
	t := v.Time()
	layout := f.Layout
	if n := config.NamedLayout(layout); n != "" {
		layout = n
	}
	if digits, ok := epochDigits(layout); ok {
		return epochText(t, digits)
	}
	if layout == "" || layout == layoutRFC3339 {
		if v.Wall {
			return t.Format(readers.WallLayout) // no offset: read back as wall-clock time
		}
		return v.String()
	}
	if v.Kind == readers.KindTime && !v.Wall && f.Timezone != nil {
		t = t.In(f.Timezone)
	}
	return t.Format(layout)
}

// epochText writes t as a count of 10^-digits seconds since the epoch,
// with a fraction only where t has one. It is written digit by digit from
// the seconds and nanoseconds, so no count overflows: unix_ns text of a
// date in year 9999 is 2.5e20.
func epochText(t time.Time, digits int) string {
	sec, ns := t.Unix(), int64(t.Nanosecond())
	sign := ""
	if sec < 0 {
		sign = "-"
		if sec, ns = -sec, -ns; ns < 0 {
			sec, ns = sec-1, ns+1e9
		}
	}
	frac := strconv.FormatInt(ns, 10)
	frac = strings.Repeat("0", 9-len(frac)) + frac // nine digits
	whole := strings.TrimLeft(strconv.FormatInt(sec, 10)+frac[:digits], "0")
	if whole == "" {
		whole = "0"
	}
	s := sign + whole
	if rest := strings.TrimRight(frac[digits:], "0"); rest != "" {
		s += "." + rest
	}
	return s
}

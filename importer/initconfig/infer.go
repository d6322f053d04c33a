package initconfig

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

var (
	reInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,14})$`)
	reNumber  = regexp.MustCompile(`^-?((0|[1-9][0-9]*)(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	reCommaNo = regexp.MustCompile(`^-?(0|[1-9][0-9]*),[0-9]+$`)
	boolWords = []string{"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}
)

func isNumberText(s string) bool { return reNumber.MatchString(strings.TrimSpace(s)) }

// isDecimalText: a number with "." or "," for decimals.
func isDecimalText(s string) bool {
	return isNumberText(s) || reCommaNo.MatchString(strings.TrimSpace(s))
}

// numberSpec is the number type of vals, with a decimal comma when they
// use one.
func numberSpec(vals []readers.Value) fieldSpec {
	for _, s := range inferSpecs(vals) {
		if s.typ == config.TypeNumber || s.typ == config.TypeInteger {
			s.typ = config.TypeNumber
			return s
		}
	}
	return fieldSpec{typ: config.TypeNumber}
}

// Layouts tried for dates and times that are not ISO 8601.
var initLayouts = []string{
	"1/2/2006 15:04:05", "1/2/2006 15:04", "1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM",
	"2/1/2006 15:04:05", "2/1/2006 15:04", "02.01.2006 15:04:05", "02.01.2006 15:04",
	"2006/01/02 15:04:05", "2006/01/02 15:04", "Jan 2, 2006 15:04:05", "02 Jan 2006 15:04:05",
	time.RFC1123Z, time.RFC1123, time.RubyDate,
}
var initDateLayouts = []string{"1/2/2006", "2/1/2006", "02.01.2006", "2006/01/02", "20060102", "Jan 2, 2006", "02 Jan 2006"}

// inferSpecs lists the types the sample values support, the most specific
// first; string last (the mapping check demotes a column down the list).
func inferSpecs(vals []readers.Value) []fieldSpec {
	kinds := map[readers.Kind]bool{}
	wall := false
	for _, v := range vals {
		kinds[v.Kind] = true
		wall = wall || v.Wall
	}
	if len(kinds) == 1 && !kinds[readers.KindString] {
		return typedSpecs(kinds, wall)
	}
	out := scalarTextSpecs(vals)
	out = append(out, timeTextSpecs(vals)...)
	out = append(out, arrayTextSpecs(vals)...)
	return append(out, fieldSpec{typ: config.TypeString})
}

// allOf: every sample value's text is ok.
func allOf(vals []readers.Value, ok func(string) bool) bool { return share(vals, ok) == 1 }

// typedSpecs are the specs of values the reader typed (Parquet), all of
// one kind; string last, except for lists.
func typedSpecs(kinds map[readers.Kind]bool, wall bool) []fieldSpec {
	var out []fieldSpec
	add := func(s fieldSpec) { out = append(out, s) }
	switch {
	case kinds[readers.KindInt]:
		add(fieldSpec{typ: config.TypeInteger})
	case kinds[readers.KindFloat], kinds[readers.KindDecimal]:
		add(fieldSpec{typ: config.TypeNumber})
	case kinds[readers.KindBool]:
		add(fieldSpec{typ: config.TypeBoolean})
	case kinds[readers.KindTime]:
		s := fieldSpec{typ: config.TypeDateTime}
		if wall {
			s.timezone = "UTC"
		}
		add(s)
	case kinds[readers.KindDate]:
		add(fieldSpec{typ: config.TypeDate})
	case kinds[readers.KindList]:
		add(fieldSpec{typ: config.TypeArray})
		return out
	}
	return append(out, fieldSpec{typ: config.TypeString})
}

// scalarTextSpecs: boolean (words, not only 0 and 1), integer and number
// (with a decimal point, or a decimal comma) texts.
func scalarTextSpecs(vals []readers.Value) []fieldSpec {
	var out []fieldSpec
	add := func(s fieldSpec) { out = append(out, s) }
	lower := func(f func(string) bool) func(string) bool {
		return func(s string) bool { return f(strings.ToLower(strings.TrimSpace(s))) }
	}
	if allOf(vals, lower(func(s string) bool { return slices.Contains(boolWords, s) })) &&
		!allOf(vals, func(s string) bool { s = strings.TrimSpace(s); return s == "0" || s == "1" }) {
		add(fieldSpec{typ: config.TypeBoolean})
	}
	if allOf(vals, func(s string) bool { return reInteger.MatchString(strings.TrimSpace(s)) }) {
		add(fieldSpec{typ: config.TypeInteger})
	}
	if allOf(vals, isNumberText) {
		add(fieldSpec{typ: config.TypeNumber})
	} else if allOf(vals, func(s string) bool {
		return reCommaNo.MatchString(strings.TrimSpace(s)) || reInteger.MatchString(strings.TrimSpace(s))
	}) {
		add(fieldSpec{typ: config.TypeNumber, decimal: ","})
	}
	return out
}

// timeTextSpecs: ISO dates, RFC 3339 times (UTC when a value has no
// zone), else the first of initLayouts and of initDateLayouts that read
// every value.
func timeTextSpecs(vals []readers.Value) []fieldSpec {
	var out []fieldSpec
	add := func(s fieldSpec) { out = append(out, s) }
	if allOf(vals, func(s string) bool { _, err := time.Parse(time.DateOnly, s); return err == nil }) {
		add(fieldSpec{typ: config.TypeDate})
		return out
	}
	if allOf(vals, func(s string) bool { _, _, ok := encode.ParseRFC3339(s, false); return ok }) {
		s := fieldSpec{typ: config.TypeDateTime, layout: config.LayoutRFC3339}
		if !allOf(vals, func(s string) bool { _, w, _ := encode.ParseRFC3339(s, false); return !w }) {
			s.timezone = "UTC"
		}
		add(s)
		return out
	}
	for _, l := range initLayouts {
		if allOf(vals, func(s string) bool { _, err := time.Parse(l, s); return err == nil }) {
			s := fieldSpec{typ: config.TypeDateTime, layout: l}
			if !strings.ContainsAny(l, "Z-") && !strings.Contains(l, "MST") {
				s.timezone = "UTC"
			}
			add(s)
			break
		}
	}
	for _, l := range initDateLayouts {
		if allOf(vals, func(s string) bool { _, err := time.Parse(l, s); return err == nil }) {
			add(fieldSpec{typ: config.TypeDate, layout: l})
			break
		}
	}
	return out
}

// arrayTextSpecs: JSON or bracketed lists, PostgreSQL arrays, or values
// split at "|" (when a third of them hold one).
func arrayTextSpecs(vals []readers.Value) []fieldSpec {
	switch {
	case allOf(vals, func(s string) bool { return strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") }):
		return []fieldSpec{{typ: config.TypeArray, format: config.ArrayJSON}, {typ: config.TypeArray, format: config.ArrayBrackets}}
	case allOf(vals, func(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }):
		return []fieldSpec{{typ: config.TypeArray, format: config.ArrayPostgres}}
	case share(vals, func(s string) bool { return strings.Contains(s, "|") }) >= 0.3:
		return []fieldSpec{{typ: config.TypeArray, sep: "|"}}
	}
	return nil
}

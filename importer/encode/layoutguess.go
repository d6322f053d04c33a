package encode

import (
	"fmt"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/config"
)

// guessLayouts are the Go layouts a rejected date or datetime is tried
// with, to say which one would read it: the forms exports and spreadsheets
// write that rfc3339 does not read. Day-first and month-first forms are
// both tried; when both read a value, both are named.
var guessLayouts = []string{
	"2006-01-02 15:04", "2006-01-02T15:04",
	"2006/01/02 15:04:05", "2006/01/02 15:04", "2006/01/02",
	"2/1/2006 15:04:05", "1/2/2006 15:04:05", "2/1/2006 15:04", "1/2/2006 15:04", "2/1/2006", "1/2/2006",
	"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM",
	"2.1.2006 15:04:05", "2.1.2006 15:04", "2.1.2006",
	"2-1-2006 15:04:05", "2-1-2006",
	"20060102", "20060102150405",
	"2006-01-02 15:04:05 -0700 MST", time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700",
}

// layoutHint names the layouts that read s when the field's layout (cur,
// "" for the default) does not: ` (layout: "rfc3339" would read it)`, or "" when
// none of rfc3339, the epoch layouts by digit count and guessLayouts does.
// It runs on rejected cells only.
func layoutHint(s, cur string, typ config.FieldType) string {
	var found []string
	naive := false
	if cur != layoutRFC3339 && (cur != "" || typ == config.TypeDate) { // "" is rfc3339 but for a date
		if _, wall, ok := ParseRFC3339(s, typ == config.TypeDate); ok {
			found, naive = append(found, layoutRFC3339), wall
		}
	}
	if name := epochByDigits(s); name != "" && name != cur {
		found = append(found, name)
	}
	for _, l := range guessLayouts {
		if len(found) == 2 {
			break
		}
		if l == cur {
			continue
		}
		if _, wall, err := parseLayout(l, s); err == nil {
			if wall && typ != config.TypeDate {
				naive = true
			}
			found = append(found, l)
		}
	}
	if len(found) == 0 {
		return ""
	}
	quoted := make([]string, len(found))
	for i, l := range found {
		quoted[i] = fmt.Sprintf("%q", l)
	}
	hint := " (layout: " + strings.Join(quoted, " or ") + " would read it"
	if len(found) == 2 && strings.Contains(found[0], "/") && strings.Contains(found[1], "/") {
		hint += "; day first or month first: check which the file means"
	}
	if naive {
		hint += "; it has no zone: set timezone too"
	}
	hint += ")"
	return hint
}

// epochByDigits returns the epoch layout whose counts of the present day
// have as many digits as s, a run of ASCII digits: 10 digits are seconds,
// 13 milliseconds, 16 microseconds, 19 nanoseconds. Otherwise "".
func epochByDigits(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	switch len(s) {
	case 10:
		return layoutUnix
	case 13:
		return layoutUnixMs
	case 16:
		return layoutUnixUs
	case 19:
		return layoutUnixNs
	}
	return ""
}

package encode

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// How a date or datetime cell is read. A layout is "rfc3339" (the
// default), one of the epoch layouts, or a Go layout. Text without a zone
// is a wall-clock time: it is read in the field's timezone, and refused when
// the field has none (there is no silent UTC) or when the wall clock does
// not exist or happens twice at a daylight-saving change, unless dst:
// earlier|later says which instant is meant.
const (
	layoutRFC3339 = config.LayoutRFC3339
	layoutUnix    = config.LayoutUnix   // seconds since 1970-01-01 UTC
	layoutUnixMs  = config.LayoutUnixMs // milliseconds
	layoutUnixUs  = config.LayoutUnixUs // microseconds
	layoutUnixNs  = config.LayoutUnixNs // nanoseconds

	dstEarlier = config.DSTEarlier
	dstLater   = config.DSTLater
)

// epochDigits returns how many decimal digits of a second the epoch layout
// counts in (0 for unix, 3 for unix_ms, ...), and false for other layouts.
func epochDigits(layout string) (int, bool) {
	switch layout {
	case layoutUnix:
		return 0, true
	case layoutUnixMs:
		return 3, true
	case layoutUnixUs:
		return 6, true
	case layoutUnixNs:
		return 9, true
	}
	return 0, false
}

// toTime reads a date or datetime. A datetime is an instant. A date is
// midnight UTC of its day: the day as written for text without a zone, the
// day in the field's timezone (UTC when none is set) for an instant.
func toTime(f *Field, v readers.Value) (time.Time, error) { return timeOf(f, &v) }

// timeOf is toTime for a cell (see Mapper.Cell).
func timeOf(f *Field, v *readers.Value) (time.Time, error) {
	t, wall, err := readTime(f, v)
	if err != nil {
		return t, err
	}
	switch {
	case f.Type == config.TypeDate:
		if !wall && v.Kind != readers.KindDate && f.Timezone != nil {
			t = t.In(f.Timezone)
		}
		y, mo, d := t.Date()
		t = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case wall:
		if t, err = inZone(f, t); err != nil {
			return t, err
		}
	}
	if u := t.Unix(); u < unixYear1 || u >= unixYear10000 {
		return t, fmt.Errorf("year %d is outside 1-9999", t.UTC().Year())
	}
	return t, nil
}

// The first seconds of years 1 and 10000 (UTC), in Unix time.
const unixYear1, unixYear10000 = -62135596800, 253402300800

// readTime reads v as an instant, or, when wall is true, as a wall-clock
// time without a zone (its fields held in a UTC time.Time).
func readTime(f *Field, v *readers.Value) (t time.Time, wall bool, err error) {
	layout := f.Layout
	if layout != "" && layout != layoutRFC3339 {
		if n := config.NamedLayout(layout); n != "" {
			layout = n
		}
	}
	digits, epoch := epochDigits(layout)
	switch v.Kind {
	case readers.KindTime, readers.KindDate:
		return v.Time(), v.Wall, nil // Wall: a Parquet timestamp not adjusted to UTC
	case readers.KindInt:
		if epoch {
			neg, mag := v.Int < 0, uint64(v.Int)
			if neg {
				mag = uint64(-(v.Int + 1)) + 1
			}
			return epochTime(neg, mag, 0, digits), false, nil
		}
	case readers.KindFloat:
		if epoch && !math.IsNaN(v.Float) && !math.IsInf(v.Float, 0) {
			return parseEpoch(f, strconv.FormatFloat(v.Float, 'f', -1, 64), digits)
		}
	case readers.KindString, readers.KindDecimal:
		switch {
		case epoch:
			return parseEpoch(f, v.Str, digits)
		case layout == "" && f.Type == config.TypeDate:
			t, err := time.Parse(time.DateOnly, v.Str)
			if err != nil {
				return t, false, fmt.Errorf("%q does not match layout %q%s", v.Str, time.DateOnly, layoutHint(v.Str, layout, f.Type))
			}
			return t, true, nil
		case layout == "" || layout == layoutRFC3339:
			t, wall, ok := ParseRFC3339(v.Str, f.Type == config.TypeDate)
			if !ok {
				return t, false, fmt.Errorf("not an RFC 3339 %s: %q (e.g. 2025-06-01T14:32:10Z)%s", f.Type, v.Str, layoutHint(v.Str, layout, f.Type))
			}
			return t, wall, nil
		}
		t, wall, err := parseLayout(layout, v.Str)
		if err != nil {
			err = fmt.Errorf("%w%s", err, layoutHint(v.Str, layout, f.Type))
		}
		return t, wall, err
	}
	if v.Kind == readers.KindInt || v.Kind == readers.KindFloat {
		hint := ""
		if n := epochByDigits(strconv.FormatFloat(math.Abs(math.Trunc(v.Float)+float64(v.Int)), 'f', 0, 64)); n != "" {
			hint = fmt.Sprintf("; %v has the digits of layout: %s", v.String(), n)
		}
		return t, false, fmt.Errorf("a %s is not a %s (for a number of seconds, milliseconds, microseconds or nanoseconds since 1970 set layout: unix, unix_ms, unix_us or unix_ns%s)", v.Kind, f.Type, hint)
	}
	return t, false, fmt.Errorf("a %s is not a %s", v.Kind, f.Type)
}

// naiveZone is the location Go layouts are parsed in, to tell text that
// carries a zone from text that does not: no text names it, and no real
// offset is one second.
var naiveZone = time.FixedZone("insider-import-wall-clock", 1)

// parseLayout reads s with a Go layout.
func parseLayout(layout, s string) (time.Time, bool, error) {
	t, err := time.ParseInLocation(layout, s, naiveZone)
	if err != nil {
		return t, false, fmt.Errorf("%q does not match layout %q", s, layout)
	}
	if t.Location() != naiveZone {
		return t, false, nil
	}
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), time.UTC), true, nil
}

// inZone turns a wall-clock time into the instant it is in the field's
// timezone. A wall clock the zone skips (a gap) or passes twice (an
// overlap) is refused unless dst: says which instant is meant: the earlier
// or the later of the two it could be.
func inZone(f *Field, wall time.Time) (time.Time, error) {
	loc := f.Timezone
	if loc == nil {
		return wall, fmt.Errorf("%s has no time zone, and the field sets none: set timezone on the field (e.g. timezone: UTC or Europe/Istanbul)", wallText(wall))
	}
	if loc == time.UTC {
		return wall, nil
	}
	// The offsets in force a day either side bound the ones that can apply
	// (zones change offset at most once within two days).
	var offs [3]int
	n := 0
	for _, probe := range [...]time.Duration{-26 * time.Hour, 0, 26 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		if !slices.Contains(offs[:n], off) {
			offs[n] = off
			n++
		}
	}
	// Each offset gives one instant; those that show as wall in loc are
	// what wall can mean: one, or none (a gap: then either offset's
	// instant is what dst: picks from), or two (an overlap).
	var allA, validA [3]time.Time
	all, valid := allA[:0], validA[:0]
	for _, off := range offs[:n] {
		t := wall.Add(-time.Duration(off) * time.Second)
		all = append(all, t)
		if isValidIn(t, wall, loc) {
			valid = append(valid, t)
		}
	}
	if len(valid) == 1 {
		return valid[0], nil
	}
	gap := len(valid) == 0
	if gap {
		valid = all
	}
	lo, hi := slices.MinFunc(valid, time.Time.Compare), slices.MaxFunc(valid, time.Time.Compare)
	switch f.DST {
	case dstEarlier:
		return lo, nil
	case dstLater:
		return hi, nil
	}
	if gap {
		return wall, fmt.Errorf("%s does not exist in %s (the clocks skipped it at a daylight-saving change): fix the value, or set dst: earlier or dst: later on the field", wallText(wall), loc)
	}
	return wall, fmt.Errorf("%s happens twice in %s (the clocks went back at a daylight-saving change): set dst: earlier or dst: later on the field to say which", wallText(wall), loc)
}

// isValidIn reports whether instant t shows as wall in loc.
func isValidIn(t, wall time.Time, loc *time.Location) bool {
	_, off := t.In(loc).Zone()
	return t.Add(time.Duration(off) * time.Second).Equal(wall)
}

func wallText(wall time.Time) string {
	return wall.Format("2006-01-02 15:04:05.999999999")
}

// ParseRFC3339 reads RFC 3339 and the ISO 8601 forms exports write:
// YYYY-MM-DD, then T or a space, hh:mm:ss with an optional fraction (up
// to nanoseconds, "." or ","), then optional spaces and a zone: Z, UTC,
// ±hh, ±hhmm or ±hh:mm (PostgreSQL and DuckDB write "+00" and "+0300",
// BigQuery " UTC"). Without
// a zone it returns the wall clock and wall true. A date alone is read
// when dateOnly.
func ParseRFC3339(s string, dateOnly bool) (t time.Time, wall, ok bool) {
	year, mon, day, ok := parseISODate(s)
	if !ok {
		return t, false, false
	}
	if len(s) == 10 {
		return civilTime(year, mon, day, 0, 0), true, dateOnly
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return t, false, false
	}
	hour, min, sec, rest, ok := parseClock(s[11:])
	if !ok {
		return t, false, false
	}
	ns, rest, ok := parseFraction(rest)
	if !ok {
		return t, false, false
	}
	zone := strings.TrimLeft(rest, " ")
	if zone == "" {
		if rest != "" {
			return t, false, false
		}
		return civilTime(year, mon, day, hour*3600+min*60+sec, ns), true, true
	}
	off, ok := parseZoneOffset(zone)
	if !ok {
		return t, false, false
	}
	return civilTime(year, mon, day, hour*3600+min*60+sec-off, ns), false, true
}

// civilTime is time.Date(year, mon, day, 0, 0, sec, ns, time.UTC) for a
// date that exists in years 0 to 9999, sec a second of that day give or
// take a day and ns below a second: the fields parseRFC3339 reads, which
// need none of time.Date's normalising.
func civilTime(year int, mon time.Month, day, sec, ns int) time.Time {
	// Days since 1970-01-01 in the proleptic Gregorian calendar, counted
	// from March (so that a leap day ends a year), from 400 years before
	// year 0 (so that every division is of a positive number).
	y := year + 400
	m := int(mon) - 3
	if m < 0 {
		y--
		m += 12
	}
	days := y*365 + y/4 - y/100 + y/400 + (153*m+2)/5 + day - 1 - 719468 - 146097
	return time.Unix(int64(days)*86400+int64(sec), int64(ns)).UTC()
}

// parseISODate reads the YYYY-MM-DD that s starts with: a date that
// exists.
func parseISODate(s string) (year int, mon time.Month, day int, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	year, ok1 := atoiN(s[0:4])
	m, ok2 := atoiN(s[5:7])
	day, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || day < 1 || day > daysIn(time.Month(m), year) {
		return 0, 0, 0, false
	}
	return year, time.Month(m), day, true
}

// parseClock reads the hh:mm:ss that s starts with and returns the rest.
func parseClock(s string) (hour, min, sec int, rest string, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, s, false
	}
	hour, ok1 := atoiN(s[0:2])
	min, ok2 := atoiN(s[3:5])
	sec, ok3 := atoiN(s[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || min > 59 || sec > 59 {
		return 0, 0, 0, s, false
	}
	return hour, min, sec, s[8:], true
}

// parseFraction reads the fraction of a second s may start with ("." or
// "," and 1 to 9 digits) as nanoseconds, and returns the rest.
func parseFraction(s string) (ns int, rest string, ok bool) {
	if len(s) == 0 || (s[0] != '.' && s[0] != ',') {
		return 0, s, true
	}
	i := 1
	i = skipDigits(s, i)
	if i == 1 || i > 10 {
		return 0, s, false
	}
	ns, _ = atoiN(s[1:i])
	for k := i; k < 10; k++ {
		ns *= 10
	}
	return ns, s[i:], true
}

// parseZoneOffset reads a zone, Z, UTC (BigQuery's CSV timestamps) or
// ±hh, ±hhmm or ±hh:mm and nothing after it, as its offset east of UTC in
// seconds.
func parseZoneOffset(zone string) (off int, ok bool) {
	switch zone[0] {
	case 'Z', 'z':
		return 0, len(zone) == 1
	case 'U':
		return 0, zone == "UTC"
	case '+', '-':
	default:
		return 0, false
	}
	z := zone[1:]
	var oh, om int
	ok1, ok2 := false, false
	switch {
	case len(z) == 2:
		oh, ok1 = atoiN(z)
		ok2 = true
	case len(z) == 4:
		oh, ok1 = atoiN(z[:2])
		om, ok2 = atoiN(z[2:])
	case len(z) == 5 && z[2] == ':':
		oh, ok1 = atoiN(z[:2])
		om, ok2 = atoiN(z[3:])
	default:
		return 0, false
	}
	if !ok1 || !ok2 || oh > 23 || om > 59 {
		return 0, false
	}
	off = oh*3600 + om*60
	if zone[0] == '-' {
		off = -off
	}
	return off, true
}

// atoiN reads a run of ASCII digits.
func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// daysIn is the number of days of month m (1 to 12) of year.
func daysIn(m time.Month, year int) int {
	if m == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return int(monthDays[m])
}

var monthDays = [...]uint8{time.January: 31, time.February: 28, time.March: 31, time.April: 30, time.May: 31, time.June: 30,
	time.July: 31, time.August: 31, time.September: 30, time.October: 31, time.November: 30, time.December: 31}

var errEpochRange = errors.New("out of range")

// parseEpoch reads a count of seconds (digits 0), milliseconds (3),
// microseconds (6) or nanoseconds (9) since 1970-01-01 UTC: an optional
// sign, digits, and an optional fraction that stays within nanoseconds.
func parseEpoch(f *Field, s string, digits int) (time.Time, bool, error) {
	t, err := parseEpochText(s, digits)
	if err != nil {
		unit := [...]string{0: "seconds", 3: "milliseconds", 6: "microseconds", 9: "nanoseconds"}[digits]
		if errors.Is(err, errEpochRange) {
			return t, false, fmt.Errorf("not a %s timestamp: %q (out of range)", f.Layout, s)
		}
		return t, false, fmt.Errorf("not a %s timestamp: %q (a number of %s since 1970-01-01 UTC)%s", f.Layout, s, unit, layoutHint(s, config.NamedLayout(f.Layout), f.Type))
	}
	return t, false, nil
}

func parseEpochText(s string, digits int) (time.Time, error) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && frac == "") {
		return time.Time{}, errors.New("syntax")
	}
	for i := 0; i < len(whole); i++ {
		if whole[i] < '0' || whole[i] > '9' {
			return time.Time{}, errors.New("syntax")
		}
	}
	mag, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return time.Time{}, errEpochRange
	}
	// The fraction of one unit, in nanoseconds: at most 9-digits digits
	// count, and any beyond must be zeros.
	var fracNs int64
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return time.Time{}, errors.New("syntax")
		}
		if i >= 9-digits {
			if c != '0' {
				return time.Time{}, errors.New("finer than a nanosecond")
			}
			continue
		}
		fracNs = fracNs*10 + int64(c-'0')
	}
	for i := len(frac); i < 9-digits; i++ {
		fracNs *= 10
	}
	return epochTime(neg, mag, fracNs, digits), nil
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// epochTime is the instant ±(mag units + fracNs) after the epoch, where a
// unit is 10^-digits seconds.
func epochTime(neg bool, mag uint64, fracNs int64, digits int) time.Time {
	unit := pow10[digits]
	sec := min(mag/unit, 1<<40) // far past year 9999, which toTime refuses
	ns := int64(mag%unit)*int64(pow10[9-digits]) + fracNs
	if !neg {
		return time.Unix(int64(sec), ns).UTC()
	}
	if ns > 0 {
		return time.Unix(-int64(sec)-1, 1e9-ns).UTC()
	}
	return time.Unix(-int64(sec), 0).UTC()
}

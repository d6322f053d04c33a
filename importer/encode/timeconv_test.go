package encode

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

type timeCase struct {
	name   string
	typ    config.FieldType // datetime when empty
	layout string
	tz     *time.Location
	dst    string
	v      readers.Value
	want   string
	errHas string
}

func runTimeCases(t *testing.T, tests []timeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			if typ == "" {
				typ = config.TypeDateTime
			}
			f := &Field{Field: config.Field{Type: typ, Layout: tt.layout, Timezone: tt.tz, DST: tt.dst}}
			got, err := appendValue(nil, f, tt.v)
			if tt.errHas != "" {
				require.Error(t, err, "got %s", got)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, `"`+tt.want+`"`, string(got))
		})
	}
}

func num(i int64) readers.Value { return readers.Value{Kind: readers.KindInt, Int: i} }

// Epoch counts in text (CSV) and as integers (Parquet INT64 without a
// timestamp annotation) read exactly, to the nanosecond.
func TestEpochLayouts(t *testing.T) {
	auckland := mustZone(t, "Pacific/Auckland")
	runTimeCases(t, []timeCase{
		{name: "unix text", layout: "unix", v: str("1709294400"), want: "2024-03-01T12:00:00Z"},
		{name: "unix_ms text", layout: "unix_ms", v: str("1709294400123"), want: "2024-03-01T12:00:00.123Z"},
		{name: "unix_us text", layout: "unix_us", v: str("1709294400123456"), want: "2024-03-01T12:00:00.123456Z"},
		{name: "unix_ns text", layout: "unix_ns", v: str("1709294400123456789"), want: "2024-03-01T12:00:00.123456789Z"},
		{name: "unix int", layout: "unix", v: num(1709294400), want: "2024-03-01T12:00:00Z"},
		{name: "unix_ms int", layout: "unix_ms", v: num(1709294400123), want: "2024-03-01T12:00:00.123Z"},
		{name: "unix_us int", layout: "unix_us", v: num(1709294400123456), want: "2024-03-01T12:00:00.123456Z"},
		{name: "unix_ns int", layout: "unix_ns", v: num(1709294400123456789), want: "2024-03-01T12:00:00.123456789Z"},
		{name: "layout name in any case", layout: "UNIX_MS", v: str("1709294400123"), want: "2024-03-01T12:00:00.123Z"},
		{name: "plus sign", layout: "unix", v: str("+1709294400"), want: "2024-03-01T12:00:00Z"},
		{name: "before 1970", layout: "unix", v: str("-1"), want: "1969-12-31T23:59:59Z"},
		{name: "before 1970 in ms", layout: "unix_ms", v: num(-1500), want: "1969-12-31T23:59:58.5Z"},
		{name: "before 1970 with fraction", layout: "unix", v: str("-1.25"), want: "1969-12-31T23:59:58.75Z"},
		{name: "seconds with fraction", layout: "unix", v: str("1709294400.5"), want: "2024-03-01T12:00:00.5Z"},
		{name: "ms with fraction", layout: "unix_ms", v: str("1709294400123.456"), want: "2024-03-01T12:00:00.123456Z"},
		{name: "trailing zeros past ns", layout: "unix_ns", v: str("1.000"), want: "1970-01-01T00:00:00.000000001Z"},
		{name: "float seconds", layout: "unix", v: readers.Value{Kind: readers.KindFloat, Float: 1709294400.25}, want: "2024-03-01T12:00:00.25Z"},
		{name: "decimal seconds", layout: "unix", v: readers.Value{Kind: readers.KindDecimal, Str: "1709294400.125"}, want: "2024-03-01T12:00:00.125Z"},
		{name: "date from epoch, UTC", typ: config.TypeDate, layout: "unix", v: str("1709294400"), want: "2024-03-01T00:00:00Z"},
		{name: "date from epoch, day in timezone", typ: config.TypeDate, layout: "unix", tz: auckland, v: str("1709294400"), want: "2024-03-02T00:00:00Z"},
		{name: "parquet timestamp keeps its instant", layout: "unix_ms", v: readers.TimeValue(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), want: "2024-03-01T12:00:00Z"},

		{name: "not a number", layout: "unix", v: str("yesterday"), errHas: `not a unix timestamp: "yesterday" (a number of seconds since 1970-01-01 UTC)`},
		{name: "exponent", layout: "unix_ms", v: str("1.7e12"), errHas: "not a unix_ms timestamp"},
		{name: "finer than ns", layout: "unix_ns", v: str("1.5"), errHas: "not a unix_ns timestamp"},
		{name: "empty fraction", layout: "unix", v: str("17."), errHas: "not a unix timestamp"},
		{name: "digits beyond uint64", layout: "unix", v: str("99999999999999999999"), errHas: "(out of range)"},
		{name: "after 9999", layout: "unix", v: str("253402300800"), errHas: "year 10000 is outside 1-9999"},
		{name: "largest int", layout: "unix", v: num(1<<63 - 1), errHas: "is outside 1-9999"},
		{name: "smallest int", layout: "unix", v: num(-1 << 63), errHas: "is outside 1-9999"},
		{name: "int without epoch layout", v: num(1709294400), errHas: "a int is not a datetime (for a number of seconds, milliseconds, microseconds or nanoseconds since 1970 set layout: unix, unix_ms, unix_us or unix_ns; 1709294400 has the digits of layout: unix)"},
	})
}

// rfc3339 reads the offsets PostgreSQL and DuckDB write for timestamptz
// (+00, +0300), and a space before the offset.
func TestRFC3339Offsets(t *testing.T) {
	runTimeCases(t, []timeCase{
		{name: "hours only", v: str("2024-03-01 12:00:00+00"), want: "2024-03-01T12:00:00Z"},
		{name: "hhmm", layout: "rfc3339", v: str("2024-03-01 12:00:00.123+0300"), want: "2024-03-01T09:00:00.123Z"},
		{name: "negative hhmm", v: str("2024-03-01T12:00:00-0530"), want: "2024-03-01T17:30:00Z"},
		{name: "hours negative", v: str("2024-03-01 12:00:00.5-03"), want: "2024-03-01T15:00:00.5Z"},
		{name: "space before offset", v: str("2024-03-01T12:00:00 +03:00"), want: "2024-03-01T09:00:00Z"},
		{name: "space before short offset", v: str("2024-03-01 12:00:00 +0300"), want: "2024-03-01T09:00:00Z"},
		{name: "space before Z", v: str("2024-03-01 12:00:00 Z"), want: "2024-03-01T12:00:00Z"},
		{name: "lower-case t and z", v: str("2024-03-01t12:00:00z"), want: "2024-03-01T12:00:00Z"},
		{name: "microseconds, PostgreSQL", v: str("2024-03-01 12:00:00.123456+00"), want: "2024-03-01T12:00:00.123456Z"},
		{name: "nanoseconds", v: str("2024-03-01T12:00:00.123456789+01:00"), want: "2024-03-01T11:00:00.123456789Z"},
		{name: "decimal comma", v: str("2024-03-01T12:00:00,5Z"), want: "2024-03-01T12:00:00.5Z"},
		{name: "offset crosses the date", v: str("2024-03-01 01:00:00+0300"), want: "2024-02-29T22:00:00Z"},
		{name: "offset beats timezone", tz: mustZone(t, "Asia/Tokyo"), v: str("2024-03-01 12:00:00+00"), want: "2024-03-01T12:00:00Z"},

		{name: "one-digit offset", v: str("2024-03-01 12:00:00+3"), errHas: "not an RFC 3339 datetime"},
		{name: "three-digit offset", v: str("2024-03-01 12:00:00+030"), errHas: "not an RFC 3339 datetime"},
		{name: "offset hour 24", v: str("2024-03-01 12:00:00+24"), errHas: "not an RFC 3339 datetime"},
		{name: "offset minutes 60", v: str("2024-03-01 12:00:00+01:60"), errHas: "not an RFC 3339 datetime"},
		{name: "no seconds", v: str("2024-03-01 12:00+00"), errHas: "not an RFC 3339 datetime"},
		{name: "ten fraction digits", v: str("2024-03-01T12:00:00.1234567891Z"), errHas: "not an RFC 3339 datetime"},
		{name: "February 30", v: str("2024-02-30T12:00:00Z"), errHas: "not an RFC 3339 datetime"},
		{name: "hour 24", v: str("2024-03-01T24:00:00Z"), errHas: "not an RFC 3339 datetime"},
		{name: "leap second", v: str("2016-12-31T23:59:60Z"), errHas: "not an RFC 3339 datetime"},
		{name: "text after zone", v: str("2024-03-01T12:00:00Z UTC"), errHas: "not an RFC 3339 datetime"},
		{name: "date only for a datetime", v: str("2024-03-01"), errHas: "not an RFC 3339 datetime"},
		{name: "date only for a date", typ: config.TypeDate, layout: "rfc3339", v: str("2024-03-01"), want: "2024-03-01T00:00:00Z"},
		{name: "date from +0300 instant", typ: config.TypeDate, layout: "rfc3339", tz: mustZone(t, "Europe/Istanbul"), v: str("2024-03-01 23:30:00+0000"), want: "2024-03-02T00:00:00Z"},
	})
}

// Text without a zone is a wall clock: it needs the field's timezone, and
// is refused with a reason that says so, never read as UTC.
func TestNaiveTimestampNeedsTimezone(t *testing.T) {
	const reason = "has no time zone, and the field sets none: set timezone on the field (e.g. timezone: UTC or Europe/Istanbul)"
	runTimeCases(t, []timeCase{
		{name: "rfc3339 without zone", v: str("2024-03-01 12:00:00"), errHas: "2024-03-01 12:00:00 " + reason},
		{name: "rfc3339 T without zone", layout: "rfc3339", v: str("2024-03-01T12:00:00.5"), errHas: "2024-03-01 12:00:00.5 " + reason},
		{name: "Go layout without zone", layout: "02/01/2006 15:04", v: str("01/03/2024 12:00"), errHas: "2024-03-01 12:00:00 " + reason},
		{name: "Go layout with zone needs none", layout: "02/01/2006 15:04 -0700", v: str("01/03/2024 12:00 +0000"), want: "2024-03-01T12:00:00Z"},
		{name: "Go layout with Z needs none", layout: "2006-01-02T15:04:05Z07:00", v: str("2024-03-01T12:00:00Z"), want: "2024-03-01T12:00:00Z"},
		{name: "timezone UTC said", layout: "rfc3339", tz: time.UTC, v: str("2024-03-01 12:00:00"), want: "2024-03-01T12:00:00Z"},
		{name: "timezone said", layout: "02/01/2006 15:04", tz: mustZone(t, "Europe/Istanbul"), v: str("01/03/2024 12:00"), want: "2024-03-01T09:00:00Z"},
		{name: "a date is its day as written", typ: config.TypeDate, layout: "02.01.2006", v: str("01.03.2024"), want: "2024-03-01T00:00:00Z"},
		{name: "date from a naive datetime", typ: config.TypeDate, layout: "2006-01-02 15:04", v: str("2024-03-01 23:30"), want: "2024-03-01T00:00:00Z"},
		{name: "parquet instant needs none", v: readers.TimeValue(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), want: "2024-03-01T12:00:00Z"},
	})
}

// A local time that the zone skips or passes twice at a DST change is
// refused with the reason, or resolved as dst: says; never shifted.
func TestDSTGapsAndOverlaps(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	ist := mustZone(t, "Europe/Istanbul")
	gap, twice := "does not exist in", "happens twice in"
	runTimeCases(t, []timeCase{
		// New York, 2024-03-10: 02:00 EST became 03:00 EDT.
		{name: "NY gap", tz: ny, v: str("2024-03-10 02:30:00"), errHas: "2024-03-10 02:30:00 " + gap + " America/New_York (the clocks skipped it at a daylight-saving change): fix the value, or set dst: earlier or dst: later on the field"},
		{name: "NY gap, Go layout", layout: "01/02/2006 15:04", tz: ny, v: str("03/10/2024 02:00"), errHas: gap},
		{name: "NY gap earlier", tz: ny, dst: "earlier", v: str("2024-03-10 02:30:00"), want: "2024-03-10T06:30:00Z"},
		{name: "NY gap later", tz: ny, dst: "later", v: str("2024-03-10 02:30:00"), want: "2024-03-10T07:30:00Z"},
		{name: "NY before the gap", tz: ny, v: str("2024-03-10 01:59:59"), want: "2024-03-10T06:59:59Z"},
		{name: "NY after the gap", tz: ny, v: str("2024-03-10 03:00:00"), want: "2024-03-10T07:00:00Z"},
		{name: "NY gap with offset is an instant", tz: ny, v: str("2024-03-10 02:30:00-05"), want: "2024-03-10T07:30:00Z"},
		// New York, 2024-11-03: 02:00 EDT became 01:00 EST.
		{name: "NY overlap", tz: ny, v: str("2024-11-03 01:30:00"), errHas: "2024-11-03 01:30:00 " + twice + " America/New_York (the clocks went back at a daylight-saving change): set dst: earlier or dst: later on the field to say which"},
		{name: "NY overlap earlier (EDT)", tz: ny, dst: "earlier", v: str("2024-11-03 01:30:00"), want: "2024-11-03T05:30:00Z"},
		{name: "NY overlap later (EST)", tz: ny, dst: "later", v: str("2024-11-03 01:30:00"), want: "2024-11-03T06:30:00Z"},
		{name: "NY after the overlap", tz: ny, v: str("2024-11-03 02:00:00"), want: "2024-11-03T07:00:00Z"},
		{name: "NY before the overlap", tz: ny, v: str("2024-11-03 00:59:59"), want: "2024-11-03T04:59:59Z"},
		{name: "dst has no effect outside changes", tz: ny, dst: "later", v: str("2024-07-01 12:00:00"), want: "2024-07-01T16:00:00Z"},
		// Istanbul, 2014-03-31 (moved a day for exams): 03:00 EET became 04:00 EEST.
		{name: "Istanbul gap", tz: ist, v: str("2014-03-31 03:30:00"), errHas: "2014-03-31 03:30:00 " + gap + " Europe/Istanbul"},
		{name: "Istanbul gap earlier", tz: ist, dst: "earlier", v: str("2014-03-31 03:30:00"), want: "2014-03-31T00:30:00Z"},
		{name: "Istanbul gap later", tz: ist, dst: "later", v: str("2014-03-31 03:30:00"), want: "2014-03-31T01:30:00Z"},
		{name: "Istanbul the day before is plain", tz: ist, v: str("2014-03-30 03:30:00"), want: "2014-03-30T01:30:00Z"},
		// Istanbul, 2015-11-08 (moved for the election): 04:00 EEST became 03:00 EET.
		{name: "Istanbul overlap", tz: ist, v: str("2015-11-08 03:30:00"), errHas: "2015-11-08 03:30:00 " + twice + " Europe/Istanbul"},
		{name: "Istanbul overlap earlier", tz: ist, dst: "earlier", v: str("2015-11-08 03:30:00"), want: "2015-11-08T00:30:00Z"},
		{name: "Istanbul overlap later", tz: ist, dst: "later", v: str("2015-11-08 03:30:00"), want: "2015-11-08T01:30:00Z"},
		{name: "Istanbul since 2016 has no changes", tz: ist, v: str("2024-03-31 03:30:00"), want: "2024-03-31T00:30:00Z"},
		// A date's day is as written, gap or not.
		{name: "date in a gap", typ: config.TypeDate, layout: "2006-01-02 15:04", tz: ny, v: str("2024-03-10 02:30"), want: "2024-03-10T00:00:00Z"},
	})
}

// Around every offset change of a few zones over 15 years, checked against
// the zone database itself: wall clocks outside the change read back as the
// instant that shows them; those in a gap or an overlap are refused.
func TestDSTAroundEveryChange(t *testing.T) {
	changes := 0
	for _, name := range []string{"America/New_York", "Europe/Istanbul", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Tehran"} {
		loc := mustZone(t, name)
		f := &Field{Field: config.Field{Type: config.TypeDateTime, Timezone: loc}}
		wall := func(inst time.Time, off int) string {
			return inst.In(time.FixedZone("", off)).Format("2006-01-02 15:04:05")
		}
		check := func(text string, want time.Time, errHas string) {
			t.Helper()
			got, err := toTime(f, str(text))
			if errHas != "" {
				require.Error(t, err, "%s %s gave %s", name, text, got)
				assert.Contains(t, err.Error(), errHas, "%s %s", name, text)
				return
			}
			require.NoError(t, err, "%s %s", name, text)
			assert.True(t, got.Equal(want), "%s %s: got %s, want %s", name, text, got, want)
		}
		start := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
		_, prev := start.In(loc).Zone()
		for at := start; at.Year() < 2025; at = at.Add(15 * time.Minute) {
			_, off := at.In(loc).Zone()
			if off == prev {
				continue
			}
			changes++
			d := time.Duration(off-prev) * time.Second
			if d > 0 { // clocks forward: the walls from at (old offset) for d do not exist
				check(wall(at.Add(-time.Second), prev), at.Add(-time.Second), "")
				check(wall(at, off), at, "")
				check(wall(at, prev), time.Time{}, "does not exist in "+name)
				check(wall(at.Add(d/2), prev), time.Time{}, "does not exist in "+name)
			} else { // clocks back: the walls of the last -d before at repeat
				check(wall(at.Add(d-time.Second), prev), at.Add(d-time.Second), "")
				check(wall(at.Add(-d), off), at.Add(-d), "")
				check(wall(at.Add(d), prev), time.Time{}, "happens twice in "+name)
				check(wall(at.Add(-time.Second), prev), time.Time{}, "happens twice in "+name)
				check(wall(at, off), time.Time{}, "happens twice in "+name)
			}
			prev = off
		}
	}
	assert.Greater(t, changes, 100)
}

// FuzzTimeText: whatever RFC 3339 text Go's parser accepts, rfc3339 reads
// as the same instant; epoch text reads back from the text it is written
// as; nothing panics.
func FuzzTimeText(f *testing.F) {
	for _, s := range []string{"2024-03-01T12:00:00Z", "2024-03-01 12:00:00+00", "2024-03-01 12:00:00.123+0300", "2024-03-01T12:00:00 +03:00",
		"2024-02-29T23:59:59.999999999-23:59", "0001-01-01T00:00:00Z", "1709294400123", "-1.5", "+0", "1.0000000001", "2024-03-10 02:30:00"} {
		f.Add(s)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if want, err := time.Parse(time.RFC3339Nano, s); err == nil && len(s) <= 35 {
			got, wall, ok := ParseRFC3339(s, false)
			if !ok || wall || !got.Equal(want) {
				t.Fatalf("%q: Go reads %s, rfc3339 gives %s (wall %v, ok %v)", s, want, got, wall, ok)
			}
		}
		for _, layout := range []string{layoutUnix, layoutUnixMs, layoutUnixUs, layoutUnixNs} {
			fd := &Field{Field: config.Field{Type: config.TypeDateTime, Layout: layout}}
			got, err := toTime(fd, str(s))
			if err != nil {
				continue
			}
			digits, _ := epochDigits(layout)
			back, err := toTime(fd, str(epochText(got, digits)))
			if err != nil || !back.Equal(got) {
				t.Fatalf("%s %q: read %s, written %q, read back %s (%v)", layout, s, got, epochText(got, digits), back, err)
			}
		}
		// A wall clock read in a zone shows that wall clock there, with or
		// without dst: (which only picks among instants that show it, or,
		// in a gap, the instants either side).
		if w, wall, ok := ParseRFC3339(s, false); ok && wall {
			got, err := toTime(&Field{Field: config.Field{Type: config.TypeDateTime, Timezone: ny}}, str(s))
			if err == nil {
				l := got.In(ny)
				shown := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
				if !shown.Equal(w) {
					t.Fatalf("%q read in New York as %s, which shows another wall clock", s, l)
				}
			} else if !strings.Contains(err.Error(), "daylight-saving") && !strings.Contains(err.Error(), "outside 1-9999") {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}

// FuzzArrayText: array cells in every format never panic, give JSON or an
// error with nothing appended, and a list written back in a format reads
// as the same items.
func FuzzArrayText(f *testing.F) {
	for _, s := range []string{`["a","b"]`, `{a,"b,c",NULL}`, `[x, 'y, z']`, `{"a\"b"}`, `[]`, `{}`, `["\u0000"]`, `{{a}}`, `['it''s']`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s = strings.TrimSpace(s); s == "" {
			return // cells are trimmed, and an empty one is null
		}
		for _, format := range arrayFormats {
			fd := &Field{Field: config.Field{Type: config.TypeArray, Separator: "|", Format: format, Decimal: "."}}
			v := str(s)
			out, err := appendArray([]byte("x"), fd, &v)
			if err != nil {
				if string(out) != "x" {
					t.Fatalf("%s %q: error %v but wrote %q", format, s, err, out)
				}
				continue
			}
			if !json.Valid(out[1:]) {
				t.Fatalf("%s %q gave %q, not JSON", format, s, out)
			}
			if format == arraySeparator {
				continue
			}
			items, err := parseArrayText(format, s)
			if err != nil {
				t.Fatalf("%s %q: appended but does not parse: %v", format, s, err)
			}
			if !utf8.ValidString(s) {
				continue // JSON replaces invalid bytes
			}
			list := readers.Value{Kind: readers.KindList, List: items}
			for _, to := range arrayFormats[1:] {
				ft := &Field{Field: config.Field{Type: config.TypeArray, Separator: "|", Format: to, Decimal: "."}}
				text := string(appendArrayText(nil, ft, list))
				tv := str(text)
				again, err := appendArray(nil, ft, &tv)
				if err != nil || string(again) != string(out[1:]) {
					t.Fatalf("%s %q as %s is %q, which reads as %s (%v), not %s", format, s, to, text, again, err, out[1:])
				}
			}
		}
	})
}

// appendTime writes what time.RFC3339Nano writes, in UTC.
func FuzzAppendTime(f *testing.F) {
	for _, s := range []int64{0, 1, -1, 1709294400123456789, -62135596800, 253402300799, 253402300800} {
		f.Add(s, int64(0))
		f.Add(s, int64(120000000))
	}
	f.Fuzz(func(t *testing.T, sec, ns int64) {
		tm := time.Unix(sec%(400*365*86400*25), ns%1e9)
		want := `"` + tm.UTC().Format(time.RFC3339Nano) + `"`
		if got := string(appendTime(nil, tm)); got != want {
			t.Fatalf("%d %d: got %s, want %s", sec, ns, got, want)
		}
	})
}

package encode

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insider-import/insider-import/importer/config"
)

// parseRFC3339Ref is parseRFC3339 as it was before civilTime: time.Date
// makes the instant. The tests hold civilTime to its results.
func parseRFC3339Ref(s string, dateOnly bool) (t time.Time, wall, ok bool) {
	year, mon, day, ok := parseISODateRef(s)
	if !ok {
		return t, false, false
	}
	if len(s) == 10 {
		return time.Date(year, mon, day, 0, 0, 0, 0, time.UTC), true, dateOnly
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
		return time.Date(year, mon, day, hour, min, sec, ns, time.UTC), true, true
	}
	off, ok := parseZoneOffset(zone)
	if !ok {
		return t, false, false
	}
	t = time.Date(year, mon, day, hour, min, sec, ns, time.UTC).Add(-time.Duration(off) * time.Second)
	return t, false, true
}

func parseISODateRef(s string) (year int, mon time.Month, day int, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	year, ok1 := atoiN(s[0:4])
	m, ok2 := atoiN(s[5:7])
	day, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || day < 1 || day > time.Date(year, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, 0, 0, false
	}
	return year, time.Month(m), day, true
}

// sameRFC3339 fails t unless parseRFC3339 and parseRFC3339Ref read s
// alike: the same instant in the same form (==, not only Equal).
func sameRFC3339(t *testing.T, s string) {
	t.Helper()
	for _, dateOnly := range []bool{false, true} {
		got, wall, ok := ParseRFC3339(s, dateOnly)
		want, wwall, wok := parseRFC3339Ref(s, dateOnly)
		if got != want || wall != wwall || ok != wok {
			t.Fatalf("%q (date only %v): %v %v %v, want %v %v %v", s, dateOnly, got, wall, ok, want, wwall, wok)
		}
	}
}

// Every day of every month of years 0 to 9999, the day after each
// month's last, and day 00: the calendar arithmetic matches time.Date's,
// and a day exists exactly when time.Date keeps it (Feb 29 of 2000 and
// 2024, not of 1900, 2023 or 2100).
func TestRFC3339EveryDate(t *testing.T) {
	for y := 0; y <= 9999; y++ {
		for m := 1; m <= 12; m++ {
			last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			for _, d := range []int{0, 1, 15, last - 1, last, last + 1} {
				date := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
				sameRFC3339(t, date)
				sameRFC3339(t, date+"T23:59:59Z")
				if y%97 == 0 || d == last {
					sameRFC3339(t, date+"T00:00:00+23:59")
					sameRFC3339(t, date+" 23:59:59.999999999-23:59")
				}
			}
		}
	}
	for _, s := range []string{"2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2100-02-29", "0000-02-29", "9999-12-31T23:59:59.999999999Z",
		"0000-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2024-03-01T24:00:00Z", "2024-03-01T23:60:00Z",
		"2024-03-01T23:59:60Z", "2024-13-01", "2024-00-10", "2024-03-01T12:00:00.5+05:30", "2024-03-01T12:00:00,123456+0530"} {
		sameRFC3339(t, s)
	}
}

// FuzzRFC3339Same: parseRFC3339 reads any text as time.Date did.
func FuzzRFC3339Same(f *testing.F) {
	for _, s := range []string{"2024-02-29T23:59:59.999999999-23:59", "0000-03-01 00:00:00+01", "9999-12-31T23:59:59Z", "2023-02-29", "2024-06-01t12:00:00,5 z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameRFC3339(t, s) })
}

// toTime refuses instants outside years 1 to 9999 at their first and last
// nanosecond, whatever the offset that moves them there.
func TestTimeYearBounds(t *testing.T) {
	f := &Field{Field: config.Field{Type: config.TypeDateTime}}
	for s, ok := range map[string]bool{
		"0001-01-01T00:00:00Z": true, "0000-12-31T23:59:59.999999999Z": false, "0001-01-01T00:59:59+01:00": false,
		"0001-01-01T01:00:00+01:00": true, "9999-12-31T23:59:59.999999999Z": true, "9999-12-31T23:00:00-01:00": false,
		"9999-12-31T22:59:59.999999999-01:00": true,
	} {
		_, err := toTime(f, str(s))
		if ok != (err == nil) {
			t.Errorf("%s: %v", s, err)
		}
		if err != nil && !strings.Contains(err.Error(), "is outside 1-9999") {
			t.Errorf("%s: %v", s, err)
		}
	}
}

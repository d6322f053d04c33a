package encode

import (
	"testing"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// The default layout reads BigQuery's CSV timestamps (" UTC") and a Z or
// offset after a space.
func TestRFC3339BigQueryUTC(t *testing.T) {
	runTimeCases(t, []timeCase{
		{name: "BigQuery", v: str("2023-01-15 08:30:00.123 UTC"), want: "2023-01-15T08:30:00.123Z"},
		{name: "BigQuery whole seconds", v: str("2023-01-15 08:30:00 UTC"), want: "2023-01-15T08:30:00Z"},
		{name: "BigQuery microseconds", layout: "rfc3339", v: str("2023-01-15 08:30:00.123456 UTC"), want: "2023-01-15T08:30:00.123456Z"},
		{name: "UTC without a space", v: str("2023-01-15T08:30:00UTC"), want: "2023-01-15T08:30:00Z"},
		{name: "Z after a space", v: str("2023-01-15 08:30:00 Z"), want: "2023-01-15T08:30:00Z"},
		{name: "+00:00 after a space", v: str("2023-01-15 08:30:00.5 +00:00"), want: "2023-01-15T08:30:00.5Z"},
		{name: "date of a BigQuery timestamp", typ: config.TypeDate, layout: "rfc3339", v: str("2023-01-15 23:30:00 UTC"), want: "2023-01-15T00:00:00Z"},
		{name: "UTC needs no timezone, and beats one", tz: mustZone(t, "Asia/Tokyo"), v: str("2023-01-15 08:30:00 UTC"), want: "2023-01-15T08:30:00Z"},

		{name: "lower-case utc", v: str("2023-01-15 08:30:00 utc"), errHas: "not an RFC 3339 datetime"},
		{name: "other zone names", v: str("2023-01-15 08:30:00 CET"), errHas: "not an RFC 3339 datetime"},
		{name: "UTC twice", v: str("2023-01-15 08:30:00 UTC UTC"), errHas: "not an RFC 3339 datetime"},
		{name: "UTC and offset", v: str("2023-01-15 08:30:00 UTC+01"), errHas: "not an RFC 3339 datetime"},
	})
	for _, s := range []string{"2023-01-15 08:30:00.123 UTC", "2023-01-15T08:30:00UTC", "2023-01-15 08:30:00 UT", "2023-01-15 08:30:00 UTCX"} {
		sameRFC3339(t, s)
	}
}

// A rejected date or datetime names the layout that reads it when one of
// a short list does.
func TestLayoutHint(t *testing.T) {
	runTimeCases(t, []timeCase{
		{name: "day first", v: str("15/01/2023 08:30"), errHas: `not an RFC 3339 datetime: "15/01/2023 08:30" (e.g. 2025-06-01T14:32:10Z) (layout: "2/1/2006 15:04" would read it; it has no zone: set timezone too)`},
		{name: "ambiguous", v: str("05/01/2023 08:30:00"), errHas: ` (layout: "2/1/2006 15:04:05" or "1/2/2006 15:04:05" would read it; day first or month first: check which the file means; it has no zone: set timezone too)`},
		{name: "German date for a date", typ: config.TypeDate, v: str("15.01.2023"), errHas: `"15.01.2023" does not match layout "2006-01-02" (layout: "2.1.2006" would read it)`},
		{name: "rfc3339 under a Go layout", layout: "02/01/2006 15:04", v: str("2023-01-15T08:30:00Z"), errHas: `does not match layout "02/01/2006 15:04" (layout: "rfc3339" would read it)`},
		{name: "epoch ms", v: str("1673771400123"), errHas: `(layout: "unix_ms" would read it)`},
		{name: "epoch seconds under unix_ms", layout: "unix_ms", v: str("1673771400.5x"), errHas: `not a unix_ms timestamp`},
		{name: "rfc3339 under unix", layout: "unix", v: str("2023-01-15 08:30:00+00"), errHas: ` (layout: "rfc3339" would read it)`},
		{name: "Parquet integer of milliseconds", v: num(1673771400123), errHas: `set layout: unix, unix_ms, unix_us or unix_ns; 1673771400123 has the digits of layout: unix_ms)`},
		{name: "Parquet float of seconds", v: readers.Value{Kind: readers.KindFloat, Float: 1673771400.5}, errHas: `; 1673771400.5 has the digits of layout: unix)`},
		{name: "small integer", v: num(12), errHas: `unix_us or unix_ns)`},
		{name: "no guess", v: str("yesterday"), errHas: `not an RFC 3339 datetime: "yesterday" (e.g. 2025-06-01T14:32:10Z)`},
	})
	f := &Field{Field: config.Field{Type: config.TypeDateTime}}
	if _, err := toTime(f, str("yesterday")); err == nil || err.Error() != `not an RFC 3339 datetime: "yesterday" (e.g. 2025-06-01T14:32:10Z)` {
		t.Errorf("no layout reads it, so none is named: %v", err)
	}
}

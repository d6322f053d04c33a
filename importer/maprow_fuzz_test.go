package importer

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/insider-import/insider-import/importer/batch"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// fuzzMapping maps every kind of field: all identifiers, every default
// attribute type, custom attributes of each type with the options that
// change parsing, a fixed purchase event and events named by a column.
const fuzzMapping = `
source: {paths: [x.csv], null_values: [NULL, '\N']}
insider: {array_attributes: overwrite}
events: {ttl: {default: 3650d, purchase: 3650d}, future_tolerance: 5m}
mapping:
  identifiers:
    email: email
    phone_number: phone
    uuid: id
    custom: {card: card}
  attributes:
    name: name
    birthday: {column: dob, layout: "02.01.2006", timezone: Europe/Berlin}
    age: age
    country: country
    email_optin: optin
    list_id: {column: lists, separator: ","}
    custom:
      ltv: {column: ltv, type: number, decimal: ","}
      orders: {column: orders, type: integer}
      seen: {column: seen, type: datetime, timezone: America/New_York}
      tags: {column: tags, type: array, separator: "|"}
      staff: {column: staff, type: boolean}
      epoch: {column: epoch, type: datetime, layout: unix_ms}
      local: {column: local, type: datetime, timezone: Europe/Istanbul, dst: later}
      jtags: {column: jtags, type: array, format: json}
      pgtags: {column: pgtags, type: array, format: postgres}
      dtags: {column: dtags, type: array, format: brackets}
  events:
    - name: purchase
      timestamp: {column: ts, layout: rfc3339}
      params:
        event_group_id: order
        currency: cur
        unit_sale_price: {column: price, type: number}
        quantity: qty
        taxonomy: {column: cat, separator: ">"}
        custom: {store: store}
    - name_column: event
      timestamp: {column: at, type: date}
`

var fuzzHeader = []string{"email", "phone", "id", "card", "name", "dob", "age", "country", "optin", "lists",
	"ltv", "orders", "seen", "tags", "staff", "ts", "order", "cur", "price", "qty", "cat", "store", "event", "at",
	"epoch", "local", "jtags", "pgtags", "dtags"}

// fuzzRecords turns fuzz input into up to three records: lines are rows,
// "," separates cells (so a cell holds anything but "," and newlines).
func fuzzRecords(data string) []readers.Record {
	var recs []readers.Record
	for i, line := range strings.SplitN(data, "\n", 4) {
		if i == 3 {
			break
		}
		cells := strings.Split(line, ",")
		rec := readers.Record{Pos: readers.Position{File: "x.csv", Index: int64(i), Line: int64(i + 2)}, Values: make([]readers.Value, 0, len(cells))}
		for _, c := range cells {
			rec.Values = append(rec.Values, readers.StringValue(c))
		}
		recs = append(recs, rec)
	}
	return recs
}

// FuzzMapRow maps arbitrary rows: mapping never panics, a row without
// problems gives valid JSON, and the request built from the valid rows
// (merged per user, batched) is one Insider's rules accept.
func FuzzMapRow(f *testing.F) {
	for _, seed := range []string{
		"jane@example.com,+447700900123,10000000000000000001,LOY-1,Jane,12.04.1990,35,gb,yes,\"12, 7\",\"1830,50\",3.0,2025-06-01T10:00:00,a|b,n,2025-06-01T14:32:10Z,O-1,gbp,9.90,2,A>B,S1,homepage_view,2025-06-20",
		"jane@example.com,,,,,,,,,,,,,,,2025-06-01T14:32:10Z,O-1,EUR,1,1,,,,\njane@example.com,,,,,,,,,,,,,,,2025-06-01T14:32:10Z,O-1,EUR,2,1,,,,",
		",,,,Nobody",
		"bad,07700900456,,,,30.02.1990,-1,GBR,maybe,1;x,1.234,5,2.5,yesterday,,,maybe,now,,EURO,x,1.5,,,Page View,2025",
		"NULL,\\N,0042,,\"quoted\",,,,,,,,,,,,,,,,,,store_visit,2025-01-02",
		"a@b.c,,\xff\xfe,,\u2028tab\there,,1e3,,,,1e400,9223372036854775808,,||,,0001-01-01T00:00:00Z,,,,,,,x,2025-06-01",
		"e@x.io,,,,,,,,,,,,,,,2024-03-01 12:00:00+0300,O-1,EUR,1,1,,,,,1709294400123,2015-11-08 03:30:00,[\"a\"],{\"b\"},['c']",
		"e@x.io,,7,,,,,,,,,,2024-03-10 02:30:00,,,2024-03-01 12:00:00+00,O-1,EUR,1,1,,,,,-1.5,2014-03-31 03:30:00,[1],{NULL},[NULL]\n8,,,,,,,,,,,,,,,,,,,,,,,,99999999999999999999,2024-01-01 00:00:00,[[]],{{a}},[]",
	} {
		f.Add(seed)
	}
	for _, p := range []string{"../testdata/golden/purchases/input.csv", "../testdata/demo/purchases.csv"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	cfg, err := ParseConfig("fuzz.yaml", []byte(fuzzMapping))
	if err != nil {
		f.Fatal(err)
	}
	ref := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	mp, err := encode.NewMapper(cfg, "x.csv", fuzzHeader, ref)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var batches []*batch.Batch
		bs := batch.NewStage(batch.SettingsOf(cfg), nil, func(b *batch.Batch) error {
			batches = append(batches, b)
			return nil
		})
		attrs := encode.KeyedFields(cfg.Mapping.Attributes)
		for _, rec := range fuzzRecords(data) {
			r := mp.MapRecord(rec)
			if len(r.Problems) > 0 {
				for _, p := range r.Problems {
					if p.Rule == "" || p.Msg == "" {
						t.Fatalf("problem without rule or message: %+v", p)
					}
				}
				if len(r.Evs) > 0 {
					t.Fatalf("a rejected row keeps events: %q", r.Evs)
				}
			} else {
				if !json.Valid(r.Key) {
					t.Fatalf("identifiers are not JSON: %s", r.Key)
				}
				for i, a := range r.Attrs {
					if a != nil && !json.Valid(a) {
						t.Fatalf("attribute %s is not JSON: %s", cfg.Mapping.Attributes[i].Name, a)
					}
				}
				for _, e := range r.Evs {
					if !json.Valid(e) {
						t.Fatalf("event is not JSON: %s", e)
					}
				}
				if r.Attrs != nil || len(r.Evs) > 0 {
					if u := encode.AppendUser(nil, attrs, []*encode.Row{r}, cfg.Insider.NotAppend); !json.Valid(u) {
						t.Fatalf("user object is not JSON: %s", u)
					}
				}
			}
			if err := bs.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		// The end of the file and of the input close the open user object
		// and batch (at the zero position, as a cut there would).
		if err := bs.EndFile(readers.Position{}); err != nil {
			t.Fatal(err)
		}
		if err := bs.Close(); err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			if b.NUsers() == 0 {
				continue
			}
			if !json.Valid(b.Body()) {
				t.Fatalf("request body is not JSON: %s", b.Body())
			}
			code, resp := fakeVerdict(t, b.Body())
			if code != http.StatusOK || resp.Data.Fail.Count > 0 {
				t.Fatalf("the stand-in API refuses a body the importer would send (%d): %v\n%s", code, resp.Data.Fail.Errors, b.Body())
			}
		}
	})
}

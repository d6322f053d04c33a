//go:build unix

package encode

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/insider-import/insider-import/readers"
)

// The mapping of ../shared/bench/pair.sh, on the columns its generator
// writes.
const benchPairMapping = `source: {paths: [x.csv]}
events:
  ttl: {default: 3650d}
  future_tolerance: 5m
mapping:
  identifiers: {email: customer_email, phone_number: phone, uuid: customer_id}
  attributes: {name: first_name, surname: last_name, city: city}
  events:
    - name: purchase
      timestamp: {column: purchased_at, layout: rfc3339}
      params:
        event_group_id: order_id
        product_id: product_id
        name: product_name
        taxonomy: {column: category, type: array, separator: ">"}
        unit_price: {column: price, type: number}
        unit_sale_price: {column: price, type: number}
        quantity: {column: quantity, type: integer}
        currency: currency
`

var benchPairHeader = []string{"customer_email", "phone", "customer_id", "first_name", "last_name", "city", "order_id",
	"product_id", "product_name", "category", "price", "quantity", "currency", "purchased_at"}

// benchPairRows returns n text records of the bench file's shape: the
// first n rows of $INSIDER_IMPORT_BENCH_CSV (default the file pair.sh
// generates) when it exists, else rows made up alike (non-ASCII names,
// quotes, 15% without a phone).
func benchPairRows(b *testing.B, n int) []readers.Record {
	path := os.Getenv("INSIDER_IMPORT_BENCH_CSV")
	if path == "" {
		path = "/tmp/insider-import-bench/purchases.csv"
	}
	recs := make([]readers.Record, 0, n)
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		r := csv.NewReader(f)
		head, err := r.Read()
		if err != nil || fmt.Sprint(head) != fmt.Sprint(benchPairHeader) {
			b.Fatalf("%s: header %v, %v", path, head, err)
		}
		for len(recs) < n {
			cells, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, readers.Record{Text: cells})
		}
		return recs
	}
	firsts := []string{"James", "Mary", "José", "Zoë", "Søren", "Łukasz", "Linda", "Hiroshi"}
	lasts := []string{"Smith", "Schröder", "O'Brien", "Núñez", "Van der Berg", "Patel", "Lee"}
	cities := []string{"New York", "München", "São Paulo", "Boston", "Kraków", "Tokyo"}
	cats := []string{"Grocery", "Home & Kitchen", "Office", "Sports & Outdoors", "Books"}
	names := []string{"Ultra Desk Lamp", `Mini Green Tea 12"`, "Organic Coffee Beans, 500g", "Eco Yoga Mat (Blue)"}
	curs := []string{"USD", "USD", "USD", "EUR", "GBP", "CAD"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		c := i * 7919 % 2003
		phone := fmt.Sprintf("+1%03d555%04d", 200+c%800, c*37%10000)
		if c%7 == 0 {
			phone = ""
		}
		recs = append(recs, readers.Record{Text: []string{
			fmt.Sprintf("user.name%d@example.com", c), phone, fmt.Sprintf("C%08d", 10_000_000+c),
			firsts[c%len(firsts)], lasts[c%len(lasts)], cities[c%len(cities)], fmt.Sprintf("ORD-%010d", 3_000_000_000+i/2),
			fmt.Sprintf("SKU-%06d", 100000+i*31%5000), names[i%len(names)], cats[i%len(cats)],
			fmt.Sprintf("%d.%02d", 1+i*13%999, i%100), fmt.Sprint(1 + i%4), curs[i%len(curs)],
			start.Add(time.Duration(i) * 63 * time.Second).Format(time.RFC3339),
		}})
	}
	return recs
}

// BenchmarkMapText maps text (CSV) records of the bench file's shape, the
// mapping of pair.sh: one op is one row.
func BenchmarkMapText(b *testing.B) {
	cfg, err := parseConfig("b.yaml", []byte(benchPairMapping))
	if err != nil {
		b.Fatal(err)
	}
	mp, err := NewMapper(cfg, "x.csv", benchPairHeader, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	recs := benchPairRows(b, 10_000)
	for _, rec := range recs {
		if r := mp.MapRecord(rec); len(r.Problems) > 0 || len(r.Evs) != 1 {
			b.Fatalf("%v: %v, %d events (%d read, %d expired, %d future)", rec.Text, r.Problems, len(r.Evs), r.EventsRead, r.Expired, r.Future)
		}
	}
	const perArena = 1000
	b.ReportAllocs()
	i := 0
	var a *RowArena
	cpu0 := processCPU()
	for b.Loop() {
		if i%perArena == 0 {
			a = mp.NewRowArena(perArena, nil)
		}
		mp.MapRecordIn(a, recs[i%len(recs)])
		i++
	}
	// CPU time of the process (the garbage collector's included) per
	// row: unlike ns/op it does not count the time other processes had
	// the core, so it compares better on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(i), "cpu-ns/row")
}

// processCPU is the user and system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

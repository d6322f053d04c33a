package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
)

// benchRows is the size of the benchmark file (about 14 columns like the
// offline-purchases file of PERFORMANCE.md).
const benchRows = 200_000

var (
	benchOnce sync.Once
	benchFile string
)

func benchCSV(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "insider-import-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchFile = filepath.Join(dir, "purchases.csv")
		f, err := os.Create(benchFile)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		rows := make([]benchRow, benchRows)
		for i := range rows {
			u := i / 3
			rows[i] = benchRow{
				CustomerID: fmt.Sprint(10000000000000000 + u), Email: fmt.Sprintf("user%d@example.com", u),
				Phone: fmt.Sprintf("+4477009%05d", u%100000), FirstName: "Name", Tier: "gold",
				LTV: fmt.Sprintf("%d.%02d", i%5000, i%100), OrderID: fmt.Sprintf("ORD-%d", i), SKU: fmt.Sprintf("SKU-%d", i%977),
				ProductName: "Some product, with a comma", Category: "Footwear>Running", Currency: "EUR",
				Price: fmt.Sprintf("%d.99", i%300), Qty: 1 + i%4, PurchasedAt: now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339),
			}
		}
		err = writeBenchRows(f, rows)
		if err := errors.Join(err, f.Close()); err != nil {
			b.Fatal(err)
		}
	})
	return benchFile
}

// benchRow is one row of the benchmark file.
type benchRow struct {
	CustomerID  string `csv:"customer_id"`
	Email       string `csv:"email"`
	Phone       string `csv:"phone"`
	FirstName   string `csv:"first_name"`
	Tier        string `csv:"tier"`
	LTV         string `csv:"ltv"`
	OrderID     string `csv:"order_id"`
	SKU         string `csv:"sku"`
	ProductName string `csv:"product_name"`
	Category    string `csv:"category"`
	Currency    string `csv:"currency"`
	Price       string `csv:"price"`
	Qty         int    `csv:"qty"`
	PurchasedAt string `csv:"purchased_at"`
}

// writeBenchRows writes rows as CSV: a header of the fields' csv tags,
// then each field's value (fmt's text) in the struct's order.
func writeBenchRows(f io.Writer, rows []benchRow) error {
	w := csv.NewWriter(f)
	t := reflect.TypeFor[benchRow]()
	rec := make([]string, t.NumField())
	for i := range rec {
		rec[i] = t.Field(i).Tag.Get("csv")
	}
	_ = w.Write(rec)
	for _, r := range rows {
		v := reflect.ValueOf(r)
		for i := range rec {
			rec[i] = fmt.Sprint(v.Field(i).Interface())
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return w.Error()
}

func benchConfig(b *testing.B, endpoint, file string) *Config {
	mapping, err := os.ReadFile("../testdata/bench/mapping.yaml")
	if err != nil {
		b.Fatal(err)
	}
	y := fmt.Sprintf(`
source: {paths: [%q]}
insider: {endpoint: %q, partner: bench, array_attributes: overwrite}
delivery: {batch_users: 1000, workers: 8, requests_per_second: 100000}
%s`, file, endpoint, mapping)
	cfg, err := ParseConfig("bench.yaml", []byte(y))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkBareCSVRead is the floor: encoding/csv with ReuseRecord reading
// the same file, fields only.
func BenchmarkBareCSVRead(b *testing.B) {
	file := benchCSV(b)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(f)
		r.ReuseRecord = true
		n := 0
		for {
			_, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPipelineNullServer is the whole pipeline (read, map, validate,
// encode, batch, 8 workers, HTTP on loopback, checkpoint bookkeeping) into
// a server that answers success without reading JSON: the importer's own
// ceiling.
func BenchmarkPipelineNullServer(b *testing.B) {
	ts := httptest.NewServer(nullServer())
	defer ts.Close()
	benchPipeline(b, ts.URL+upsert.Path)
}

// BenchmarkPipelineCheckpointed is the null-server pipeline with a local
// checkpoint and small batches (100 users, 2,000 requests a run): what the
// write-ahead rule (a batch is sent only once a saved checkpoint lists it)
// costs when requests are many.
func BenchmarkPipelineCheckpointed(b *testing.B) {
	ts := httptest.NewServer(nullServer())
	defer ts.Close()
	benchPipeline(b, ts.URL+upsert.Path, func(cfg *Config, opts *Options) {
		cfg.Delivery.BatchUsers = 100
		store, err := checkpoint.NewFileStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		opts.Store = store
		opts.Restart = true
	})
}

// BenchmarkPipelineFake is the same into the stand-in API, which parses and
// validates every request (and so shares the two cores with the importer).
func BenchmarkPipelineFake(b *testing.B) {
	ts := httptest.NewServer(fakeapi.New(fakeapi.Options{}))
	defer ts.Close()
	benchPipeline(b, ts.URL+upsert.Path)
}

// nullServer answers every request with Insider's success shape for the
// users it holds, counted without parsing the JSON (as the shared bench
// sink does): the importer checks that the count adds up.
// Its buffers are reused, so that it adds little to the allocations the
// benchmark reports (the server runs in the benchmark's process).
func nullServer() http.Handler {
	var pool sync.Pool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := pool.Get().(*bytes.Buffer)
		if b == nil {
			b = new(bytes.Buffer)
		}
		b.Reset()
		b.ReadFrom(r.Body)
		fmt.Fprintf(w, `{"data":{"successful":{"count":%d},"fail":{}}}`, bytes.Count(b.Bytes(), []byte(`{"identifiers":`)))
		pool.Put(b)
	})
}

func benchPipeline(b *testing.B, endpoint string, tweak ...func(*Config, *Options)) {
	file := benchCSV(b)
	cfg := benchConfig(b, endpoint, file)
	opts := Options{APIKey: "bench"}
	for _, f := range tweak {
		f(cfg, &opts)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Run(context.Background(), cfg, opts)
		if err != nil {
			b.Fatal(err)
		}
		if rep.EventsSent != benchRows {
			b.Fatalf("sent %d events, want %d: %+v", rep.EventsSent, benchRows, rep.Counts)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	rows := float64(benchRows) * float64(b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/rows, "allocs/row")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/rows, "B/row")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile != "" {
		os.RemoveAll(filepath.Dir(benchFile))
	}
	os.Exit(code)
}

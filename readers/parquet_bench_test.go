package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/xitongsys/parquet-go-source/local"
	"github.com/xitongsys/parquet-go/reader"
)

// benchPurchase is an offline-purchases export as pandas or Spark write it:
// 14 columns, optional phone, decimal prices, a microsecond timestamp.
type benchPurchase struct {
	CustomerID  string    `parquet:"customer_id,dict"`
	Email       string    `parquet:"email"`
	Phone       *string   `parquet:"phone,optional"`
	FirstName   string    `parquet:"first_name,dict"`
	Tier        string    `parquet:"tier,dict"`
	LTV         float64   `parquet:"ltv"`
	OrderID     string    `parquet:"order_id"`
	SKU         string    `parquet:"sku,dict"`
	ProductName string    `parquet:"product_name,dict"`
	Currency    string    `parquet:"currency,dict"`
	Price       int64     `parquet:"price,decimal(2:10)"`
	SalePrice   float64   `parquet:"sale_price"`
	Qty         int32     `parquet:"qty"`
	PurchasedAt time.Time `parquet:"purchased_at,timestamp(microsecond)"`
}

const benchRows = 200_000

// benchParquet writes the benchmark file: benchRows rows in row groups of
// 50,000, snappy, as pyarrow does by default.
func benchParquet(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "purchases.parquet")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := pq.NewGenericWriter[benchPurchase](f, pq.Compression(&pq.Snappy), pq.MaxRowsPerRowGroup(50_000))
	batch := make([]benchPurchase, 0, 1000)
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range benchRows {
		u := i / 3
		var phone *string
		if u%4 != 0 {
			phone = pqPtr(fmt.Sprintf("+4477009%05d", u%100000))
		}
		batch = append(batch, benchPurchase{
			CustomerID:  fmt.Sprintf("1000000000%010d", u),
			Email:       fmt.Sprintf("user%d@example.com", u),
			Phone:       phone,
			FirstName:   []string{"Jane", "Sam", "Ana", "Li", "Omar"}[u%5],
			Tier:        []string{"gold", "silver", "bronze"}[u%3],
			LTV:         float64(u%5000) + 0.5,
			OrderID:     fmt.Sprintf("POS-%08d", i/2),
			SKU:         fmt.Sprintf("SKU-%04d", i%700),
			ProductName: fmt.Sprintf("Product %d", i%700),
			Currency:    []string{"GBP", "EUR", "USD", "TRY"}[i%4],
			Price:       int64(1000 + i%90000),
			SalePrice:   float64(900+i%80000) / 100,
			Qty:         int32(1 + i%5),
			PurchasedAt: base.Add(time.Duration(i) * time.Second),
		})
		if len(batch) == cap(batch) {
			if _, err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// heapPeak samples the live heap while a benchmark reads; it is a lower
// bound of the peak (sampled every few thousand rows).
type heapPeak struct{ max uint64 }

func (h *heapPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.max = max(h.max, ms.HeapAlloc)
}

// BenchmarkParquetRead reads the whole file through Open, as the importer
// does: rows/s, allocations per row, and the sampled heap peak.
func BenchmarkParquetRead(b *testing.B) {
	path := benchParquet(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var peak heapPeak
	b.ReportAllocs()
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(ctx, path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rec, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(rec.Values) != 14 {
				b.Fatal("bad record")
			}
			n++
			if n%20_000 == 0 {
				peak.sample()
			}
		}
		r.Close()
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.max)/(1<<20), "MiB-heap-peak")
}

// BenchmarkParquetXitongsysReader is the library's own row reader (one
// goroutine, rows into reflection-built structs) over the same file, for a
// ratio measured in the same run.
func BenchmarkParquetXitongsysReader(b *testing.B) {
	path := benchParquet(b)
	var peak heapPeak
	b.ReportAllocs()
	for b.Loop() {
		f, err := local.NewLocalFileReader(path)
		if err != nil {
			b.Fatal(err)
		}
		pr, err := reader.NewParquetReader(f, nil, 1)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for n < benchRows {
			rows, err := pr.ReadByNumber(5000)
			if err != nil {
				b.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			n += len(rows)
			if n%20_000 == 0 {
				peak.sample()
			}
		}
		pr.ReadStop()
		f.Close()
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.max)/(1<<20), "MiB-heap-peak")
}

// BenchmarkParquetBareLibrary is parquet-go's own GenericReader (the library
// the Parquet reader is built on) reading the same file into structs, 1000
// rows at a time: the floor the reader is compared with.
func BenchmarkParquetBareLibrary(b *testing.B) {
	path := benchParquet(b)
	var peak heapPeak
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		pf, err := pq.OpenFile(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		r := pq.NewGenericReader[benchPurchase](pf)
		buf := make([]benchPurchase, 1000)
		n := 0
		for {
			k, err := r.Read(buf)
			n += k
			if n%20_000 == 0 {
				peak.sample()
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
		f.Close()
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.max)/(1<<20), "MiB-heap-peak")
}

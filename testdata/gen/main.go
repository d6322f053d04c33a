// Command gen writes the benchmark inputs of scripts/bench.sh: offline
// purchases (14 columns, three consecutive rows per user, events dated in
// the last days) as CSV, gzip'd CSV or Parquet, and can upload a file to an
// S3-compatible server. It also does the bare encoding/csv read that the
// pipeline's figures are compared with.
//
//	go run ./testdata/gen -rows 100000 -out /tmp/p.csv.gz
//	go run ./testdata/gen -read /tmp/p.csv
//	go run ./testdata/gen -upload /tmp/p.csv -endpoint http://127.0.0.1:PORT -bucket b -key p.csv
package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"
)

type purchase struct {
	CustomerID  string  `parquet:"customer_id"`
	Email       string  `parquet:"email"`
	Phone       string  `parquet:"phone"`
	FirstName   string  `parquet:"first_name"`
	Tier        string  `parquet:"tier"`
	LTV         float64 `parquet:"ltv"`
	OrderID     string  `parquet:"order_id"`
	SKU         string  `parquet:"sku"`
	ProductName string  `parquet:"product_name"`
	Category    string  `parquet:"category"`
	Currency    string  `parquet:"currency"`
	Price       float64 `parquet:"price"`
	Qty         int64   `parquet:"qty"`
	PurchasedAt string  `parquet:"purchased_at"`
}

var header = []string{"customer_id", "email", "phone", "first_name", "tier", "ltv", "order_id", "sku", "product_name", "category", "currency", "price", "qty", "purchased_at"}

func row(i int, now time.Time) purchase {
	u := i / 3
	return purchase{
		CustomerID: strconv.Itoa(10000000000000000 + u), Email: fmt.Sprintf("user%d@example.com", u),
		Phone: fmt.Sprintf("+4477009%05d", u%100000), FirstName: "Name", Tier: "gold",
		LTV: float64(i%500000) / 100, OrderID: "ORD-" + strconv.Itoa(i), SKU: "SKU-" + strconv.Itoa(i%977),
		ProductName: "Some product, with a comma", Category: "Footwear>Running", Currency: "EUR",
		Price: float64(i%300) + 0.99, Qty: int64(1 + i%4), PurchasedAt: now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339),
	}
}

func (p purchase) strings() []string {
	return []string{p.CustomerID, p.Email, p.Phone, p.FirstName, p.Tier, strconv.FormatFloat(p.LTV, 'f', -1, 64), p.OrderID, p.SKU,
		p.ProductName, p.Category, p.Currency, strconv.FormatFloat(p.Price, 'f', -1, 64), strconv.FormatInt(p.Qty, 10), p.PurchasedAt}
}

func main() {
	rows := flag.Int("rows", 100000, "rows to write")
	out := flag.String("out", "", "file to write: .csv, .csv.gz or .parquet")
	read := flag.String("read", "", "read this CSV with encoding/csv (ReuseRecord), or this .parquet with parquet-go's GenericReader, and print rows/s")
	upload := flag.String("upload", "", "file to upload")
	endpoint := flag.String("endpoint", "", "S3 endpoint for -upload")
	bucket := flag.String("bucket", "", "bucket for -upload (created if missing)")
	key := flag.String("key", "", "key for -upload")
	flag.Parse()
	var err error
	switch {
	case *out != "":
		err = write(*out, *rows)
	case *read != "":
		err = bareRead(*read)
	case *upload != "":
		err = put(*upload, *endpoint, *bucket, *key)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func write(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if strings.HasSuffix(path, ".parquet") {
		w := parquet.NewGenericWriter[purchase](f, parquet.PageBufferSize(1<<20), parquet.MaxRowsPerRowGroup(50000))
		buf := make([]purchase, 0, 1000)
		for i := range n {
			buf = append(buf, row(i, now))
			if len(buf) == cap(buf) || i == n-1 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		return errors.Join(w.Close(), f.Close())
	}
	var wc io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(f)
		wc = zw
	}
	bw := bufio.NewWriterSize(wc, 1<<20)
	cw := csv.NewWriter(bw)
	cw.Write(header)
	for i := range n {
		cw.Write(row(i, now).strings())
	}
	cw.Flush()
	errs := []error{cw.Error(), bw.Flush()}
	if zw != nil {
		errs = append(errs, zw.Close())
	}
	return errors.Join(append(errs, f.Close())...)
}

func bareRead(path string) error {
	if strings.HasSuffix(path, ".parquet") {
		return bareParquetRead(path)
	}
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.ReuseRecord = true
	n := -1
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	s := time.Since(start).Seconds()
	fmt.Printf("bare encoding/csv read: %d rows in %.2fs = %.0f rows/s\n", n, s, float64(n)/s)
	return nil
}

// bareParquetRead reads every row of a Parquet file into structs with
// parquet-go's GenericReader, 1000 at a time: the library alone, for the
// importer's Parquet figures to be compared with.
func bareParquetRead(path string) error {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return err
	}
	r := parquet.NewGenericReader[purchase](pf)
	defer r.Close()
	buf := make([]purchase, 1000)
	n := 0
	for {
		k, err := r.Read(buf)
		n += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	s := time.Since(start).Seconds()
	fmt.Printf("bare parquet-go read: %d rows in %.2fs = %.0f rows/s\n", n, s, float64(n)/s)
	return nil
}

func put(path, endpoint, bucket, key string) error {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")))
	if err != nil {
		return err
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(endpoint); o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlready") {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(st.Size())})
	return err
}

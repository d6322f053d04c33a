// Command arrowgo writes the interop corpus files of arrow-go's pqarrow (the
// Go port of the writer pyarrow uses): INT96 timestamps, large_string,
// decimal128, dictionaries, several row groups; each beside the rows
// pqarrow's own reader reads back, as JSON lines (arrow-go's RecordToJSON).
// It is its own module so that the main go.mod does not gain arrow-go.
// Run by scripts/interop.sh:
//
//	go run . OUTDIR
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const rows = 300

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: arrowgo OUTDIR")
	}
	out := os.Args[1]
	files := map[string]struct {
		props  []parquet.WriterProperty
		arrow  []pqarrow.WriterOption
		tsUnit arrow.TimeUnit
	}{
		"arrowgo_int96": {
			props:  []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy), parquet.WithVersion(parquet.V1_0)},
			arrow:  []pqarrow.WriterOption{pqarrow.WithDeprecatedInt96Timestamps(true), pqarrow.WithStoreSchema()},
			tsUnit: arrow.Nanosecond,
		},
		"arrowgo_v2_zstd": {
			props: []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDataPageVersion(parquet.DataPageV2),
				parquet.WithVersion(parquet.V2_LATEST), parquet.WithDataPageSize(1024)},
			arrow:  []pqarrow.WriterOption{pqarrow.WithStoreSchema()},
			tsUnit: arrow.Microsecond,
		},
	}
	for name, f := range files {
		if err := write(filepath.Join(out, name), f.tsUnit, f.props, f.arrow); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
	}
}

func write(path string, unit arrow.TimeUnit, props []parquet.WriterProperty, aprops []pqarrow.WriterOption) error {
	mem := memory.DefaultAllocator
	schema := corpusSchema(unit)
	rec, err := corpusRecord(mem, schema, unit)
	if err != nil {
		return err
	}
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec})
	defer tbl.Release()

	var buf bytes.Buffer
	props = append(props, parquet.WithMaxRowGroupLength(120))
	if err := pqarrow.WriteTable(tbl, &buf, 120, parquet.NewWriterProperties(props...), pqarrow.NewArrowWriterProperties(aprops...)); err != nil {
		return err
	}
	if err := os.WriteFile(path+".parquet", buf.Bytes(), 0o644); err != nil {
		return err
	}

	// Read back with pqarrow's own reader.
	back, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), nil, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return err
	}
	defer back.Release()
	var lines bytes.Buffer
	tr := array.NewTableReader(back, 1000)
	defer tr.Release()
	for tr.Next() {
		if err := array.RecordToJSON(tr.RecordBatch(), &lines); err != nil {
			return err
		}
	}
	return errors.Join(tr.Err(), os.WriteFile(path+".jsonl", lines.Bytes(), 0o644))
}

// corpusSchema is the schema of every file write makes, its timestamps in
// unit.
func corpusSchema(unit arrow.TimeUnit) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 38, Scale: 9}, Nullable: true},
		{Name: "small_price", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ratio", Type: arrow.PrimitiveTypes.Float32},
		{Name: "big", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "tier", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "address", Type: arrow.StructOf(
			arrow.Field{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "zip", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), Nullable: true},
	}, nil)
}

// corpusRecord builds the rows of corpusSchema(unit) as one record; the
// caller releases it.
func corpusRecord(mem memory.Allocator, schema *arrow.Schema, unit arrow.TimeUnit) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	base := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	for i := range rows {
		if err := appendScalars(b, i, base, unit); err != nil {
			return nil, err
		}
		appendNested(b, i)
	}
	return b.NewRecordBatch(), nil
}

// appendScalars appends row i's flat columns (id through tier), with some
// nulls and values past int64.
func appendScalars(b *array.RecordBuilder, i int, base time.Time, unit arrow.TimeUnit) error {
	b.Field(0).(*array.Int64Builder).Append(int64(i) * 1_000_000_007)
	if i%5 == 0 {
		b.Field(1).AppendNull()
	} else {
		b.Field(1).(*array.LargeStringBuilder).Append(fmt.Sprintf("ad-%d-ş", i%33))
	}
	if i%7 == 0 {
		b.Field(2).AppendNull()
	} else {
		at := base.Add(time.Duration(i)*time.Hour + time.Duration(i)*time.Microsecond)
		ts, err := arrow.TimestampFromTime(at, unit)
		if err != nil {
			return err
		}
		b.Field(2).(*array.TimestampBuilder).Append(ts)
	}
	b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(base.AddDate(0, 0, i-150)))
	if i%6 == 0 {
		b.Field(4).AppendNull()
	} else {
		n := new(big.Int).Mul(big.NewInt(int64(i-150)), new(big.Int).Exp(big.NewInt(10), big.NewInt(27), nil))
		n.Add(n, big.NewInt(int64(i*7)))
		b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromBigInt(n))
	}
	b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i*1999 - 100000)))
	if i%4 == 0 {
		b.Field(6).AppendNull()
	} else {
		b.Field(6).(*array.BooleanBuilder).Append(i%3 == 0)
	}
	b.Field(7).(*array.Float32Builder).Append(float32(i) * 0.3)
	b.Field(8).(*array.Uint64Builder).Append(uint64(i) * 61_489_146_912_365_172) // past int64 from row 150
	return b.Field(9).(*array.BinaryDictionaryBuilder).AppendString([]string{"gold", "silver", "bronze"}[i%3])
}

// appendNested appends row i's list (tags) and struct (address) columns,
// with null and empty ones.
func appendNested(b *array.RecordBuilder, i int) {
	lb := b.Field(10).(*array.ListBuilder)
	if i%5 == 1 {
		lb.AppendNull()
	} else {
		lb.Append(true)
		for k := 0; k < i%4; k++ {
			lb.ValueBuilder().(*array.StringBuilder).Append(fmt.Sprintf("t%d", i+k))
		}
	}
	sb := b.Field(11).(*array.StructBuilder)
	if i%9 == 0 {
		sb.AppendNull()
	} else {
		sb.Append(true)
		if i%2 == 0 {
			sb.FieldBuilder(0).AppendNull()
		} else {
			sb.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprintf("city-%d", i%7))
		}
		sb.FieldBuilder(1).(*array.Int32Builder).Append(int32(10000 + i))
	}
}

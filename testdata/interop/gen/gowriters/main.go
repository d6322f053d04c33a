// Command gowriters writes the interop corpus files of the two Go Parquet
// libraries, xitongsys/parquet-go and parquet-go/parquet-go, each with the
// rows that library's own reader reads back, as JSON lines beside it.
// Run by scripts/interop.sh:
//
//	go run ./testdata/interop/gen/gowriters OUTDIR
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/xitongsys/parquet-go-source/local"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/reader"
	"github.com/xitongsys/parquet-go/types"
	"github.com/xitongsys/parquet-go/writer"
)

const rows = 300

var base = time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: gowriters OUTDIR")
	}
	out := os.Args[1]
	for name, f := range map[string]func(string) error{
		"xitongsys_types":        xitongsysTypes,
		"xitongsys_legacy_lists": xitongsysLegacyLists,
		"parquetgo_v1_snappy":    func(p string) error { return parquetGo(p, pq.DataPageVersion(1), pq.Compression(&pq.Snappy)) },
		"parquetgo_v2_zstd":      func(p string) error { return parquetGo(p, pq.DataPageVersion(2), pq.Compression(&pq.Zstd)) },
	} {
		if err := f(filepath.Join(out, name)); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
	}
}

func writeLines(path string, rows []map[string]any) error {
	f, err := os.Create(path + ".jsonl")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return errors.Join(w.Flush(), f.Close())
}

func ptr[T any](v T) *T { return &v }

// twos encodes n as big-endian two's complement in size bytes.
func twos(n *big.Int, size int) []byte {
	m := new(big.Int).Set(n)
	if n.Sign() < 0 {
		m.Add(m, new(big.Int).Lsh(big.NewInt(1), uint(8*size)))
	}
	return m.FillBytes(make([]byte, size))
}

// signed reads big-endian two's complement. (xitongsys' own
// DECIMAL_*_ToString ignore the sign and the leading zeros of the fraction,
// so the unscaled values its reader returns are formatted here.)
func signed(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

func decimal(unscaled *big.Int, scale int64) string {
	return new(big.Rat).SetFrac(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(scale), nil)).FloatString(int(scale))
}

// --- xitongsys/parquet-go ---

type xtAddress struct {
	City *string `parquet:"name=city, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=OPTIONAL"`
	Zip  *int32  `parquet:"name=zip, type=INT32, repetitiontype=OPTIONAL"`
}

type xtRow struct {
	ID       int64     `parquet:"name=id, type=INT64"`
	Name     *string   `parquet:"name=name, type=BYTE_ARRAY, convertedtype=UTF8, encoding=PLAIN_DICTIONARY, repetitiontype=OPTIONAL"`
	Small    int32     `parquet:"name=small, type=INT32, convertedtype=UINT_32"`
	Score    float32   `parquet:"name=score, type=FLOAT"`
	Active   *bool     `parquet:"name=active, type=BOOLEAN, repetitiontype=OPTIONAL"`
	Dec32    int32     `parquet:"name=dec32, type=INT32, convertedtype=DECIMAL, scale=2, precision=9"`
	Dec64    int64     `parquet:"name=dec64, type=INT64, convertedtype=DECIMAL, scale=3, precision=18"`
	DecFixed string    `parquet:"name=dec_fixed, type=FIXED_LEN_BYTE_ARRAY, convertedtype=DECIMAL, scale=6, precision=38, length=16"`
	DecBytes *string   `parquet:"name=dec_bytes, type=BYTE_ARRAY, convertedtype=DECIMAL, scale=4, precision=30, repetitiontype=OPTIONAL"`
	Born     int32     `parquet:"name=born, type=INT32, convertedtype=DATE"`
	Clock    int32     `parquet:"name=clock, type=INT32, convertedtype=TIME_MILLIS"`
	TsMillis int64     `parquet:"name=ts_millis, type=INT64, convertedtype=TIMESTAMP_MILLIS"`
	TsMicros *int64    `parquet:"name=ts_micros, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS, repetitiontype=OPTIONAL"`
	TsNanos  int64     `parquet:"name=ts_nanos, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=false, logicaltype.unit=NANOS"`
	Legacy   string    `parquet:"name=legacy, type=INT96"`
	Tags     []string  `parquet:"name=tags, type=LIST, valuetype=BYTE_ARRAY, valueconvertedtype=UTF8"`
	Prices   []float64 `parquet:"name=prices, type=DOUBLE, repetitiontype=REPEATED"`
	Address  xtAddress `parquet:"name=address"`
}

func xtRowAt(i int) xtRow {
	r := xtRow{
		ID:       int64(i) * 1_000_000_007,
		Small:    int32(uint32(4_000_000_000) + uint32(i)),
		Score:    float32(i) / 10,
		Dec32:    int32(i*7 - 500),
		Dec64:    int64(i) * -123457,
		Born:     int32(i%20000 - 5000),
		Clock:    int32((i * 997_003) % 86_400_000),
		TsMillis: base.Add(time.Duration(i) * time.Hour).UnixMilli(),
		TsNanos:  base.Add(time.Duration(i)*time.Second + 789).UnixNano(),
		Legacy:   types.TimeToINT96(base.Add(time.Duration(i)*24*time.Hour + 123456789)),
	}
	fixed := new(big.Int).Mul(big.NewInt(int64(i-150)), new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil))
	fixed.Add(fixed, big.NewInt(int64(i)))
	r.DecFixed = string(twos(fixed, 16))
	if i%3 != 0 {
		r.Name = ptr(fmt.Sprintf("név-%d", i%40))
	}
	if i%5 != 0 {
		r.Active = ptr(i%2 == 0)
	}
	if i%6 != 0 {
		r.DecBytes = ptr(string(twos(big.NewInt(int64(i*99991-12345)), 8)))
	}
	if i%2 == 0 {
		r.TsMicros = ptr(base.Add(time.Duration(i)*time.Minute + 123*time.Microsecond).UnixMicro())
	}
	for k := 0; k < i%4; k++ {
		r.Tags = append(r.Tags, fmt.Sprintf("t%d", i+k))
	}
	if i%3 != 0 {
		r.Prices = []float64{float64(i) / 4, -1}
	}
	if i%4 != 0 {
		r.Address.City = ptr(fmt.Sprintf("city-%d", i%7))
	}
	if i%2 == 1 {
		r.Address.Zip = ptr(int32(10000 + i))
	}
	return r
}

func xitongsysTypes(path string) error {
	f, err := os.Create(path + ".parquet")
	if err != nil {
		return err
	}
	pw, err := writer.NewParquetWriterFromWriter(f, new(xtRow), 1)
	if err != nil {
		return err
	}
	pw.CompressionType = parquet.CompressionCodec_SNAPPY
	pw.RowGroupSize = 16 << 10 // several row groups
	for i := range rows {
		if err := pw.Write(xtRowAt(i)); err != nil {
			return err
		}
	}
	if err := errors.Join(pw.WriteStop(), f.Close()); err != nil {
		return err
	}
	// Read back with xitongsys' own reader.
	fr, err := local.NewLocalFileReader(path + ".parquet")
	if err != nil {
		return err
	}
	defer fr.Close()
	pr, err := reader.NewParquetReader(fr, new(xtRow), 1)
	if err != nil {
		return err
	}
	back := make([]xtRow, pr.GetNumRows())
	if err := pr.Read(&back); err != nil {
		return err
	}
	pr.ReadStop()
	var out []map[string]any
	for _, r := range back {
		m := map[string]any{
			"id":        r.ID,
			"name":      r.Name,
			"small":     uint32(r.Small),
			"score":     r.Score,
			"active":    r.Active,
			"dec32":     decimal(big.NewInt(int64(r.Dec32)), 2),
			"dec64":     decimal(big.NewInt(r.Dec64), 3),
			"dec_fixed": decimal(signed([]byte(r.DecFixed)), 6),
			"dec_bytes": nil,
			"born":      time.Unix(int64(r.Born)*86400, 0).UTC().Format(time.DateOnly),
			"clock":     time.UnixMilli(int64(r.Clock)).UTC().Format("15:04:05.000"),
			"ts_millis": types.TIMESTAMP_MILLISToTime(r.TsMillis, true).Format(time.RFC3339Nano),
			"ts_micros": nil,
			"ts_nanos":  types.TIMESTAMP_NANOSToTime(r.TsNanos, false).Format("2006-01-02T15:04:05.999999999"),
			"legacy":    types.INT96ToTime(r.Legacy).Format(time.RFC3339Nano),
			"tags":      r.Tags,
			"prices":    r.Prices,
			"address":   map[string]any{"city": r.Address.City, "zip": r.Address.Zip},
		}
		if r.DecBytes != nil {
			m["dec_bytes"] = decimal(signed([]byte(*r.DecBytes)), 4)
		}
		if r.TsMicros != nil {
			m["ts_micros"] = types.TIMESTAMP_MICROSToTime(*r.TsMicros, true).Format(time.RFC3339Nano)
		}
		if r.Tags == nil {
			m["tags"] = []string{}
		}
		if r.Prices == nil {
			m["prices"] = []float64{}
		}
		out = append(out, m)
	}
	return writeLines(path, out)
}

// The legacy LIST shapes older writers (parquet-avro, parquet-thrift, Hive)
// left behind: a two-level list, a repeated group named "array" and one
// named NAME_tuple, and a bare repeated field, written through a JSON
// schema so that the tree is exactly as given.
const legacySchema = `{"Tag": "name=parquet_go_root, repetitiontype=REQUIRED", "Fields": [
  {"Tag": "name=id, type=INT64, repetitiontype=REQUIRED"},
  {"Tag": "name=two_level, convertedtype=LIST, repetitiontype=OPTIONAL", "Fields": [
    {"Tag": "name=element, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=REPEATED"}]},
  {"Tag": "name=array_group, convertedtype=LIST, repetitiontype=OPTIONAL", "Fields": [
    {"Tag": "name=array, repetitiontype=REPEATED", "Fields": [
      {"Tag": "name=str, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=REQUIRED"}]}]},
  {"Tag": "name=tuple_group, convertedtype=LIST, repetitiontype=REQUIRED", "Fields": [
    {"Tag": "name=tuple_group_tuple, repetitiontype=REPEATED", "Fields": [
      {"Tag": "name=num, type=INT32, repetitiontype=REQUIRED"}]}]},
  {"Tag": "name=bare, type=INT64, repetitiontype=REPEATED"}
]}`

type legacyStr struct {
	Str string `parquet:"name=str, type=BYTE_ARRAY, convertedtype=UTF8" json:"str"`
}

type legacyNum struct {
	Num int32 `parquet:"name=num, type=INT32"`
}

type legacyTwo struct {
	Element []string `parquet:"name=element, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=REPEATED"`
}

type legacyArray struct {
	Array []legacyStr `parquet:"name=array, repetitiontype=REPEATED"`
}

type legacyTuple struct {
	Tuple []legacyNum `parquet:"name=tuple_group_tuple, repetitiontype=REPEATED"`
}

type legacyRow struct {
	ID         int64        `parquet:"name=id, type=INT64"`
	TwoLevel   *legacyTwo   `parquet:"name=two_level, repetitiontype=OPTIONAL"`
	ArrayGroup *legacyArray `parquet:"name=array_group, repetitiontype=OPTIONAL"`
	TupleGroup legacyTuple  `parquet:"name=tuple_group"`
	Bare       []int64      `parquet:"name=bare, type=INT64, repetitiontype=REPEATED"`
}

func xitongsysLegacyLists(path string) error {
	f, err := os.Create(path + ".parquet")
	if err != nil {
		return err
	}
	pw, err := writer.NewJSONWriterFromWriter(legacySchema, f, 1)
	if err != nil {
		return err
	}
	pw.CompressionType = parquet.CompressionCodec_GZIP
	// xitongsys' JSON schema writes plain groups: annotate the three list
	// groups as LIST (the footer shares these elements).
	for _, el := range pw.SchemaHandler.SchemaElements {
		switch strings.ToLower(el.Name) { // still the Go names here
		case "two_level", "array_group", "tuple_group":
			el.ConvertedType = parquet.ConvertedTypePtr(parquet.ConvertedType_LIST)
		}
	}
	for i := range rows {
		b, err := json.Marshal(legacyRowAt(i))
		if err != nil {
			return err
		}
		if err := pw.Write(string(b)); err != nil {
			return err
		}
	}
	if err := errors.Join(pw.WriteStop(), f.Close()); err != nil {
		return err
	}
	out, err := readLegacyLists(path + ".parquet")
	if err != nil {
		return err
	}
	return writeLines(path, out)
}

// legacyRowAt is row i of the legacy lists file, as xitongsys' JSON writer
// takes it: lists absent, empty and of one to three elements.
func legacyRowAt(i int) map[string]any {
	row := map[string]any{"id": i, "tuple_group": map[string]any{"tuple_group_tuple": []any{}}, "bare": []int{}}
	if i%5 != 0 {
		var el []string
		for k := 0; k < i%3; k++ {
			el = append(el, fmt.Sprintf("e%d-%d", i, k))
		}
		row["two_level"] = map[string]any{"element": el}
	}
	if i%4 != 0 {
		var arr []map[string]any
		for k := 0; k < i%4; k++ {
			arr = append(arr, map[string]any{"str": fmt.Sprintf("s%d", i*10+k)})
		}
		row["array_group"] = map[string]any{"array": arr}
	}
	var tup []map[string]any
	for k := 0; k < i%3; k++ {
		tup = append(tup, map[string]any{"num": i - k})
	}
	row["tuple_group"] = map[string]any{"tuple_group_tuple": tup}
	var bare []int64
	for k := 0; k < i%2+1; k++ {
		bare = append(bare, int64(i)<<k)
	}
	row["bare"] = bare
	return row
}

// readLegacyLists reads the legacy lists file at file back with
// xitongsys' own reader, each row with its lists flattened for writeLines.
func readLegacyLists(file string) ([]map[string]any, error) {
	fr, err := local.NewLocalFileReader(file)
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	pr, err := reader.NewParquetReader(fr, new(legacyRow), 1)
	if err != nil {
		return nil, err
	}
	back := make([]legacyRow, pr.GetNumRows())
	if err := pr.Read(&back); err != nil {
		return nil, err
	}
	pr.ReadStop()
	var out []map[string]any
	for _, r := range back {
		m := map[string]any{"id": r.ID, "two_level": nil, "array_group": nil, "tuple_group": []int32{}, "bare": r.Bare}
		if r.TwoLevel != nil {
			m["two_level"] = append([]string{}, r.TwoLevel.Element...)
		}
		if r.ArrayGroup != nil {
			m["array_group"] = append([]legacyStr{}, r.ArrayGroup.Array...)
		}
		var nums []int32
		for _, t := range r.TupleGroup.Tuple {
			nums = append(nums, t.Num)
		}
		if nums != nil {
			m["tuple_group"] = nums
		}
		if r.Bare == nil {
			m["bare"] = []int64{}
		}
		out = append(out, m)
	}
	return out, nil
}

// --- parquet-go/parquet-go ---

type pgAddress struct {
	City    string  `parquet:"city"`
	Country *string `parquet:"country,optional"`
}

type pgRow struct {
	CustomerID string           `parquet:"customer_id,dict"`
	Email      *string          `parquet:"email,optional"`
	Qty        int32            `parquet:"qty,delta"`
	Points     *int64           `parquet:"points,optional"`
	Price      int64            `parquet:"price,decimal(2:10)"`
	Big        [16]byte         `parquet:"big,decimal(4:38)"`
	Rate       float32          `parquet:"rate"`
	OptIn      bool             `parquet:"opt_in"`
	Day        int32            `parquet:"day,date"`
	At         time.Time        `parquet:"at,timestamp(microsecond)"`
	AtNano     int64            `parquet:"at_nano,timestamp(nanosecond)"`
	AtLocal    int64            `parquet:"at_local,timestamp(millisecond:local)"`
	Legacy     deprecated.Int96 `parquet:"legacy"`
	Tags       []string         `parquet:"tags,list"`
	OptTags    []string         `parquet:"opt_tags,optional,list"`
	ID         [16]byte         `parquet:"id,uuid"`
	Note       string           `parquet:"note,delta"`
	Meta       string           `parquet:"meta,json"`
	Attrs      map[string]int64 `parquet:"attrs"`
	Address    pgAddress        `parquet:"address"`
}

func pgRowAt(i int) pgRow {
	big128 := new(big.Int).Mul(big.NewInt(int64(i-150)), new(big.Int).Exp(big.NewInt(10), big.NewInt(33), nil))
	big128.Add(big128, big.NewInt(int64(i)))
	var id [16]byte
	for k := range id {
		id[k] = byte(i + k*17)
	}
	legacy := base.Add(time.Duration(-i) * time.Hour).Add(123456789)
	days := legacy.Unix()/86400 + 2440588
	nanos := uint64(legacy.Sub(time.Unix(legacy.Unix()/86400*86400, 0)))
	r := pgRow{
		CustomerID: fmt.Sprintf("C%05d", i%97),
		Qty:        int32(i%11 - 5),
		Price:      int64(i*1999 - 100000),
		Rate:       float32(i) * 0.3,
		OptIn:      i%3 == 0,
		Day:        int32(20000 + i%400),
		At:         base.Add(time.Duration(i) * 1500 * time.Millisecond).Add(42 * time.Microsecond),
		AtNano:     base.Add(time.Duration(i)*time.Second + 7).UnixNano(),
		AtLocal:    time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).UnixMilli(),
		Legacy:     deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days)},
		ID:         id,
		Note:       strings.Repeat("n", i%5) + fmt.Sprint(i),
		Meta:       fmt.Sprintf(`{"i":%d,"odd":%v}`, i, i%2 == 1),
		Attrs:      map[string]int64{"a": int64(i), fmt.Sprintf("k%d", i%3): -int64(i)},
		Address:    pgAddress{City: fmt.Sprintf("İstanbul-%d", i%3)},
	}
	copy(r.Big[:], twos(big128, 16))
	if i%4 != 0 {
		r.Email = ptr(fmt.Sprintf("c%d@example.org", i))
	}
	if i%3 != 1 {
		r.Points = ptr(int64(i) << 33)
	}
	for k := 0; k < i%4; k++ {
		r.Tags = append(r.Tags, fmt.Sprintf("tag%d", k))
	}
	switch i % 3 {
	case 1:
		r.OptTags = []string{"x", fmt.Sprint(i)}
	case 2:
		r.OptTags = []string{}
	}
	if i%3 == 0 {
		r.Address.Country = ptr("TR")
	}
	return r
}

func parquetGo(path string, opts ...pq.WriterOption) error {
	f, err := os.Create(path + ".parquet")
	if err != nil {
		return err
	}
	opts = append(opts, pq.MaxRowsPerRowGroup(120), pq.PageBufferSize(2048))
	w := pq.NewGenericWriter[pgRow](f, opts...)
	for i := range rows {
		if _, err := w.Write([]pgRow{pgRowAt(i)}); err != nil {
			return err
		}
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		return err
	}
	// Read back with parquet-go's own reader.
	rf, err := os.Open(path + ".parquet")
	if err != nil {
		return err
	}
	defer rf.Close()
	st, err := rf.Stat()
	if err != nil {
		return err
	}
	pf, err := pq.OpenFile(rf, st.Size())
	if err != nil {
		return err
	}
	r := pq.NewGenericReader[pgRow](pf)
	defer r.Close()
	var out []map[string]any
	for {
		buf := make([]pgRow, 64) // the reader reuses maps and slices it finds
		n, err := r.Read(buf)
		for _, x := range buf[:n] {
			var meta any
			if err := json.Unmarshal([]byte(x.Meta), &meta); err != nil {
				return err
			}
			nanos := int64(uint64(x.Legacy[1])<<32 | uint64(x.Legacy[0]))
			m := map[string]any{
				"customer_id": x.CustomerID,
				"email":       x.Email,
				"qty":         x.Qty,
				"points":      x.Points,
				"price":       decimal(big.NewInt(x.Price), 2),
				"big":         decimal(signed(x.Big[:]), 4),
				"rate":        x.Rate,
				"opt_in":      x.OptIn,
				"day":         time.Unix(int64(x.Day)*86400, 0).UTC().Format(time.DateOnly),
				"at":          x.At.UTC().Format(time.RFC3339Nano),
				"at_nano":     time.Unix(0, x.AtNano).UTC().Format(time.RFC3339Nano),
				"at_local":    time.UnixMilli(x.AtLocal).UTC().Format("2006-01-02T15:04:05.999"),
				"legacy":      time.Unix((int64(x.Legacy[2])-2440588)*86400, nanos).UTC().Format(time.RFC3339Nano),
				"tags":        x.Tags,
				"opt_tags":    x.OptTags,
				"id":          fmt.Sprintf("%x-%x-%x-%x-%x", x.ID[:4], x.ID[4:6], x.ID[6:8], x.ID[8:10], x.ID[10:]),
				"note":        x.Note,
				"meta":        meta,
				"attrs":       x.Attrs,
				"address":     map[string]any{"city": x.Address.City, "country": x.Address.Country},
			}
			if x.Tags == nil {
				m["tags"] = []string{}
			}
			out = append(out, m)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	return writeLines(path, out)
}

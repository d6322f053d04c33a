package readers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/writer"
)

// pqMemSource serves a Parquet file from memory, counting the bytes read.
type pqMemSource struct {
	name  string
	data  []byte
	reads int
	bytes int64
}

func (s *pqMemSource) Name() string       { return s.name }
func (s *pqMemSource) Identity() Identity { return Identity{Size: int64(len(s.data))} }
func (s *pqMemSource) OpenAt(_ context.Context, off int64) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(s.data[off:])), nil
}
func (s *pqMemSource) ReaderAt(context.Context) io.ReaderAt { return s }
func (s *pqMemSource) Close() error                         { return nil }
func (s *pqMemSource) ReadAt(p []byte, off int64) (int, error) {
	s.reads++
	n, err := bytes.NewReader(s.data).ReadAt(p, off)
	s.bytes += int64(n)
	return n, err
}

// describe renders a Value with its kind, recursively, for comparisons that
// do not depend on how a time.Time is represented inside.
func pqDescribe(v Value) string {
	if v.Kind == KindList {
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = pqDescribe(e)
		}
		return "list[" + strings.Join(parts, " ") + "]"
	}
	if v.Kind == KindNull {
		return "null"
	}
	return v.Kind.String() + "(" + v.String() + ")"
}

func pqDescribeAll(vs []Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = pqDescribe(v)
	}
	return out
}

func pqReadAll(t testing.TB, r Reader) []Record {
	t.Helper()
	var out []Record
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, rec)
	}
}

// --- files written by xitongsys/parquet-go ---

type xtAddress struct {
	City string `parquet:"name=city, type=BYTE_ARRAY, convertedtype=UTF8"`
	Zip  *int32 `parquet:"name=zip, type=INT32"`
}

type xtRow struct {
	Name     string    `parquet:"name=name, type=BYTE_ARRAY, convertedtype=UTF8, encoding=PLAIN_DICTIONARY"`
	Email    *string   `parquet:"name=email, type=BYTE_ARRAY, convertedtype=UTF8"`
	Age      int32     `parquet:"name=age, type=INT32"`
	Visits   int64     `parquet:"name=visits, type=INT64"`
	Points   *int64    `parquet:"name=points, type=INT64"`
	Small    int32     `parquet:"name=small, type=INT32, convertedtype=UINT_32"`
	Score    float32   `parquet:"name=score, type=FLOAT"`
	Amount   float64   `parquet:"name=amount, type=DOUBLE"`
	Active   bool      `parquet:"name=active, type=BOOLEAN"`
	OptIn    *bool     `parquet:"name=opt_in, type=BOOLEAN"`
	Dec32    int32     `parquet:"name=dec32, type=INT32, convertedtype=DECIMAL, scale=2, precision=9"`
	Dec64    int64     `parquet:"name=dec64, type=INT64, convertedtype=DECIMAL, scale=3, precision=18"`
	DecFixed string    `parquet:"name=dec_fixed, type=FIXED_LEN_BYTE_ARRAY, convertedtype=DECIMAL, scale=2, precision=20, length=9"`
	DecBytes *string   `parquet:"name=dec_bytes, type=BYTE_ARRAY, convertedtype=DECIMAL, scale=4, precision=30"`
	Born     int32     `parquet:"name=born, type=INT32, convertedtype=DATE"`
	TsMillis int64     `parquet:"name=ts_millis, type=INT64, convertedtype=TIMESTAMP_MILLIS"`
	TsMicros int64     `parquet:"name=ts_micros, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	TsNanos  int64     `parquet:"name=ts_nanos, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=false, logicaltype.unit=NANOS"`
	TsLegacy string    `parquet:"name=ts_legacy, type=INT96"`
	OptTs    *int64    `parquet:"name=opt_ts, type=INT64, convertedtype=TIMESTAMP_MICROS"`
	Tags     []string  `parquet:"name=tags, type=LIST, valuetype=BYTE_ARRAY, valueconvertedtype=UTF8"`
	Nums     []int64   `parquet:"name=nums, type=LIST, valuetype=INT64"`
	Prices   []float64 `parquet:"name=prices, type=DOUBLE, repetitiontype=REPEATED"`
	Address  xtAddress `parquet:"name=address"`
}

var xtColumns = []string{
	"name", "email", "age", "visits", "points", "small", "score", "amount", "active", "opt_in",
	"dec32", "dec64", "dec_fixed", "dec_bytes", "born", "ts_millis", "ts_micros", "ts_nanos",
	"ts_legacy", "opt_ts", "tags", "nums", "prices", "address.city", "address.zip",
}

var pqBase = time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

// twos encodes n as big-endian two's complement in size bytes (0: as few
// as fit).
func pqTwos(n *big.Int, size int) []byte {
	if size == 0 {
		size = (n.BitLen()+8)/8 + 0
	}
	m := new(big.Int).Set(n)
	if n.Sign() < 0 {
		m.Add(m, new(big.Int).Lsh(big.NewInt(1), uint(8*size)))
	}
	return m.FillBytes(make([]byte, size))
}

// int96 encodes t as Impala/Spark do: nanoseconds of the day, then the
// Julian day, little-endian.
func pqInt96(t time.Time) string {
	days := t.Unix()/86400 + 2440588
	nanos := t.Sub(time.Unix(t.Unix()/86400*86400, 0))
	b := make([]byte, 12)
	binary.LittleEndian.PutUint64(b, uint64(nanos))
	binary.LittleEndian.PutUint32(b[8:], uint32(days))
	return string(b)
}

func pqPtr[T any](v T) *T { return &v }

func pqDecText(unscaled *big.Int, scale int) string {
	return new(big.Rat).SetFrac(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)).FloatString(scale)
}

// xtRowAt returns row i of the xitongsys test file and the Values the reader
// must yield for it.
func xtRowAt(i int) (xtRow, []string) {
	r := xtRow{
		Name:     fmt.Sprintf("user-%d", i%50),
		Age:      int32(i%90 - 10),
		Visits:   int64(i) * 1_000_000_007,
		Small:    int32(uint32(4_000_000_000) + uint32(i)),
		Score:    float32(i) / 10,
		Amount:   float64(i) * 1.25,
		Active:   i%2 == 0,
		Dec32:    int32(i*7 - 500),
		Dec64:    int64(i) * -123457,
		Born:     int32(i%20000 - 5000),
		TsMillis: pqBase.Add(time.Duration(i) * time.Hour).UnixMilli(),
		TsMicros: pqBase.Add(time.Duration(i)*time.Minute + 123*time.Microsecond).UnixMicro(),
		TsNanos:  pqBase.Add(time.Duration(i)*time.Second + 789).UnixNano(),
		TsLegacy: pqInt96(pqBase.Add(time.Duration(i)*24*time.Hour + 1)),
		Address:  xtAddress{City: fmt.Sprintf("city-%d", i%7)},
	}
	fixed := new(big.Int).Mul(big.NewInt(int64(i-1000)), big.NewInt(1e18))
	fixed.Add(fixed, big.NewInt(1))
	r.DecFixed = string(pqTwos(fixed, 9))
	want := []string{
		"string(" + r.Name + ")",
		"null",
		fmt.Sprintf("int(%d)", r.Age),
		fmt.Sprintf("int(%d)", r.Visits),
		"null",
		fmt.Sprintf("int(%d)", uint32(r.Small)),
		fmt.Sprintf("float(%v)", r.Score),
		fmt.Sprintf("float(%v)", r.Amount),
		fmt.Sprintf("bool(%v)", r.Active),
		"null",
		"decimal(" + pqDecText(big.NewInt(int64(r.Dec32)), 2) + ")",
		"decimal(" + pqDecText(big.NewInt(r.Dec64), 3) + ")",
		"decimal(" + pqDecText(fixed, 2) + ")",
		"null",
		"date(" + time.Unix(int64(r.Born)*86400, 0).UTC().Format(time.DateOnly) + ")",
		"time(" + pqBase.Add(time.Duration(i)*time.Hour).Format(time.RFC3339Nano) + ")",
		"time(" + pqBase.Add(time.Duration(i)*time.Minute+123*time.Microsecond).Format(time.RFC3339Nano) + ")",
		"time(" + pqBase.Add(time.Duration(i)*time.Second+789).Format(time.RFC3339Nano) + ")",
		"time(" + pqBase.Add(time.Duration(i)*24*time.Hour+1).Format(time.RFC3339Nano) + ")",
		"null",
		"list[]",
		"list[]",
		"list[]",
		"string(" + r.Address.City + ")",
		"null",
	}
	switch {
	case i%7 == 0:
		r.Email = pqPtr("") // an empty string is absent, as in CSV
	case i%3 != 0:
		r.Email = pqPtr(fmt.Sprintf("u%d@example.com", i))
		want[1] = "string(" + *r.Email + ")"
	}
	if i%4 != 1 {
		r.Points = pqPtr(int64(i * 3))
		want[4] = fmt.Sprintf("int(%d)", i*3)
	}
	if i%5 != 0 {
		r.OptIn = pqPtr(i%3 == 0)
		want[9] = fmt.Sprintf("bool(%v)", i%3 == 0)
	}
	if i%6 != 0 {
		n := big.NewInt(int64(i*99991 - 12345))
		r.DecBytes = pqPtr(string(pqTwos(n, 0)))
		want[13] = "decimal(" + pqDecText(n, 4) + ")"
	}
	if i%2 == 0 {
		at := pqBase.Add(time.Duration(i) * time.Microsecond)
		r.OptTs = pqPtr(at.UnixMicro())
		want[19] = "time(" + at.Format(time.RFC3339Nano) + ")"
	}
	if i%5 != 0 {
		var parts []string
		for k := 0; k <= i%3; k++ {
			r.Tags = append(r.Tags, fmt.Sprintf("t%d", i+k))
			parts = append(parts, fmt.Sprintf("string(t%d)", i+k))
		}
		want[20] = "list[" + strings.Join(parts, " ") + "]"
	}
	if i%4 != 0 {
		r.Nums = []int64{int64(i), -int64(i)}
		want[21] = fmt.Sprintf("list[int(%d) int(%d)]", i, -i)
	}
	if i%3 != 0 {
		r.Prices = []float64{float64(i) / 4}
		want[22] = fmt.Sprintf("list[float(%v)]", float64(i)/4)
	}
	if i%2 == 1 {
		r.Address.Zip = pqPtr(int32(10000 + i))
		want[24] = fmt.Sprintf("int(%d)", 10000+i)
	}
	return r, want
}

// writeXitongsys writes rows rows in row groups of groupRows rows.
func writeXitongsys(t testing.TB, rows, groupRows int, codec parquet.CompressionCodec) []byte {
	t.Helper()
	var buf bytes.Buffer
	pw, err := writer.NewParquetWriterFromWriter(&buf, new(xtRow), 1)
	require.NoError(t, err)
	pw.CompressionType = codec
	for i := 0; i < rows; i++ {
		r, _ := xtRowAt(i)
		require.NoError(t, pw.Write(r))
		if (i+1)%groupRows == 0 {
			require.NoError(t, pw.Flush(true))
		}
	}
	require.NoError(t, pw.WriteStop())
	return buf.Bytes()
}

func TestParquetXitongsysTypes(t *testing.T) {
	for _, codec := range []parquet.CompressionCodec{parquet.CompressionCodec_SNAPPY, parquet.CompressionCodec_UNCOMPRESSED, parquet.CompressionCodec_GZIP, parquet.CompressionCodec_ZSTD} {
		t.Run(codec.String(), func(t *testing.T) {
			const rows, groupRows = 2500, 1000
			src := &pqMemSource{name: "mem/types.parquet", data: writeXitongsys(t, rows, groupRows, codec)}
			r, err := newParquetReader(context.Background(), src, Options{})
			require.NoError(t, err)
			defer r.Close()
			assert.Equal(t, xtColumns, r.Columns())
			assert.Equal(t, Identity{Size: int64(len(src.data))}, r.Identity())
			assert.Equal(t, Position{File: src.name, Offset: -1}, r.Pos())

			recs := pqReadAll(t, r)
			require.Len(t, recs, rows)
			for i, rec := range recs {
				_, want := xtRowAt(i)
				require.Equal(t, want, pqDescribeAll(rec.Values), "row %d", i)
				require.Equal(t, Position{File: src.name, Index: int64(i), Offset: -1, RowGroup: i / groupRows, GroupRow: int64(i % groupRows)}, rec.Pos)
			}
			assert.Equal(t, Position{File: src.name, Index: rows, Offset: -1, RowGroup: 3}, r.Pos())
			_, err = r.Next(context.Background())
			assert.ErrorIs(t, err, io.EOF)

			// Spot checks of the Go values behind the descriptions.
			v := recs[1].Values
			assert.Equal(t, Value{Kind: KindFloat, Float: 0.1}, v[6], "FLOAT 0.1f reads as 0.1")
			assert.Equal(t, KindTime, v[17].Kind)
			assert.Equal(t, time.UTC, v[17].Time().Location())
			assert.Equal(t, "-4.93", v[10].Str)
		})
	}
}

// A row group is read with a single read when small, and the footer with
// one more: the reader does not fetch a byte at a time.
func TestParquetReadsFew(t *testing.T) {
	src := &pqMemSource{name: "few.parquet", data: writeXitongsys(t, 3000, 1000, parquet.CompressionCodec_SNAPPY)}
	r, err := newParquetReader(context.Background(), src, Options{})
	require.NoError(t, err)
	pqReadAll(t, r)
	assert.LessOrEqual(t, src.reads, 1+3, "one read for the footer, one per row group")
	assert.LessOrEqual(t, src.bytes, int64(len(src.data))+pqFooterTail)
}

func TestParquetResume(t *testing.T) {
	const rows, groupRows = 2500, 1000
	data := writeXitongsys(t, rows, groupRows, parquet.CompressionCodec_SNAPPY)
	open := func(start *Position) (Reader, error) {
		return newParquetReader(context.Background(), &pqMemSource{name: "r.parquet", data: data}, Options{Start: start})
	}
	r, err := open(nil)
	require.NoError(t, err)
	var positions []Position
	for {
		positions = append(positions, r.Pos())
		if _, err := r.Next(context.Background()); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
	}
	require.Len(t, positions, rows+1)
	assert.Equal(t, Position{File: "r.parquet", Index: 1000, Offset: -1, RowGroup: 1}, positions[1000], "the end of a group is the start of the next")

	for _, at := range []int{0, 1, 7, 999, 1000, 1001, 1999, 2000, 2499, 2500} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			start := positions[at]
			r, err := open(&start)
			require.NoError(t, err)
			assert.Equal(t, start, r.Pos())
			recs := pqReadAll(t, r)
			require.Len(t, recs, rows-at)
			for k, rec := range recs {
				_, want := xtRowAt(at + k)
				require.Equal(t, want, pqDescribeAll(rec.Values), "row %d", at+k)
				require.Equal(t, int64(at+k), rec.Pos.Index)
			}
		})
	}

	t.Run("index only", func(t *testing.T) {
		r, err := open(&Position{Index: 1500})
		require.NoError(t, err)
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, Position{File: "r.parquet", Index: 1500, Offset: -1, RowGroup: 1, GroupRow: 500}, rec.Pos)
	})
	t.Run("last row plus one", func(t *testing.T) {
		r, err := open(&Position{Index: 1000, RowGroup: 0, GroupRow: 1000})
		require.NoError(t, err)
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 1, rec.Pos.RowGroup)
	})
	for name, pos := range map[string]Position{
		"beyond the end":     {Index: rows + 1},
		"group disagrees":    {Index: 1500, RowGroup: 2, GroupRow: 500},
		"group row too far":  {Index: 1500, RowGroup: 1, GroupRow: 501},
		"negative":           {Index: -1},
		"group beyond files": {Index: 10, RowGroup: 9},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := open(&pos)
			assert.ErrorIs(t, err, ErrChanged)
			assert.ErrorContains(t, err, "r.parquet")
		})
	}
}

// --- a file written by another library, parquet-go/parquet-go, the way
// pandas and Spark exports look: optional columns, timestamps of several
// units, decimals, dates, lists, legacy INT96 ---

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
	Total      *float64         `parquet:"total,optional"`
	OptIn      bool             `parquet:"opt_in"`
	Day        int32            `parquet:"day,date"`
	At         time.Time        `parquet:"at,timestamp(microsecond)"`
	AtNano     int64            `parquet:"at_nano,timestamp(nanosecond)"`
	AtLocal    int64            `parquet:"at_local,timestamp(millisecond:local)"`
	Seen       *time.Time       `parquet:"seen,optional,timestamp(millisecond)"`
	Legacy     deprecated.Int96 `parquet:"legacy"`
	Tags       []string         `parquet:"tags,list"`
	OptTags    []string         `parquet:"opt_tags,optional,list"`
	Scores     []float64        `parquet:"scores,list"`
	ID         [16]byte         `parquet:"id,uuid"`
	Note       string           `parquet:"note,delta"`
	Address    pgAddress        `parquet:"address"`
}

var pgColumns = []string{
	"customer_id", "email", "qty", "points", "price", "big", "rate", "total", "opt_in", "day",
	"at", "at_nano", "at_local", "seen", "legacy", "tags", "opt_tags", "scores", "id", "note",
	"address.city", "address.country",
}

func pgRowAt(i int) (pgRow, []string) {
	at := pqBase.Add(time.Duration(i) * 1500 * time.Millisecond).Add(42 * time.Microsecond)
	nano := pqBase.Add(time.Duration(i)*time.Second + 7)
	local := time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	legacy := pqBase.Add(time.Duration(-i) * time.Hour).Add(123456789)
	big128 := new(big.Int).Mul(big.NewInt(int64(i-300)), new(big.Int).Exp(big.NewInt(10), big.NewInt(25), nil))
	big128.Add(big128, big.NewInt(int64(i)))
	var id [16]byte
	for k := range id {
		id[k] = byte(i + k*17)
	}
	var l96 deprecated.Int96
	b96 := []byte(pqInt96(legacy))
	for k := range l96 {
		l96[k] = binary.LittleEndian.Uint32(b96[4*k:])
	}
	r := pgRow{
		CustomerID: fmt.Sprintf("C%05d", i%97),
		Qty:        int32(i%11 - 5),
		Price:      int64(i*1999 - 100000),
		Rate:       float32(i) * 0.3,
		OptIn:      i%3 == 0,
		Day:        int32(20000 + i%400),
		At:         at,
		AtNano:     nano.UnixNano(),
		AtLocal:    local.UnixMilli(),
		Legacy:     l96,
		ID:         id,
		Note:       strings.Repeat("n", i%5) + fmt.Sprint(i),
		Address:    pgAddress{City: fmt.Sprintf("İstanbul-%d", i%3)},
	}
	copy(r.Big[:], pqTwos(big128, 16))
	want := []string{
		"string(" + r.CustomerID + ")",
		"null",
		fmt.Sprintf("int(%d)", r.Qty),
		"null",
		"decimal(" + pqDecText(big.NewInt(r.Price), 2) + ")",
		"decimal(" + pqDecText(big128, 4) + ")",
		fmt.Sprintf("float(%v)", r.Rate),
		"null",
		fmt.Sprintf("bool(%v)", r.OptIn),
		"date(" + time.Unix(int64(r.Day)*86400, 0).UTC().Format(time.DateOnly) + ")",
		"time(" + at.Format(time.RFC3339Nano) + ")",
		"time(" + nano.Format(time.RFC3339Nano) + ")",
		"time(" + local.Format(time.RFC3339Nano) + ")",
		"null",
		"time(" + legacy.Format(time.RFC3339Nano) + ")",
		"list[]",
		"null",
		"list[]",
		fmt.Sprintf("string(%x-%x-%x-%x-%x)", id[:4], id[4:6], id[6:8], id[8:10], id[10:]),
		"string(" + r.Note + ")",
		"string(" + r.Address.City + ")",
		"null",
	}
	if i%4 != 0 {
		r.Email = pqPtr(fmt.Sprintf("c%d@example.org", i))
		want[1] = "string(" + *r.Email + ")"
	}
	if i%3 != 1 {
		r.Points = pqPtr(int64(i) << 33)
		want[3] = fmt.Sprintf("int(%d)", int64(i)<<33)
	}
	if i%5 != 2 {
		r.Total = pqPtr(float64(i) * 10.5)
		want[7] = fmt.Sprintf("float(%v)", float64(i)*10.5)
	}
	if i%2 == 0 {
		seen := pqBase.Add(time.Duration(i) * time.Millisecond)
		r.Seen = &seen
		want[13] = "time(" + seen.Format(time.RFC3339Nano) + ")"
	}
	if i%4 != 3 {
		var parts []string
		for k := 0; k < i%4; k++ {
			r.Tags = append(r.Tags, fmt.Sprintf("tag%d", k))
			parts = append(parts, fmt.Sprintf("string(tag%d)", k))
		}
		want[15] = "list[" + strings.Join(parts, " ") + "]"
	}
	switch i % 3 {
	case 1:
		r.OptTags = []string{"x", fmt.Sprint(i)}
		want[16] = fmt.Sprintf("list[string(x) string(%d)]", i)
	case 2:
		r.OptTags = []string{}
		want[16] = "list[]"
	}
	if i%2 == 1 {
		r.Scores = []float64{float64(i), 0.5, -1}
		want[17] = fmt.Sprintf("list[float(%d) float(0.5) float(-1)]", i)
	}
	if i%3 == 0 {
		r.Address.Country = pqPtr("TR")
		want[21] = "string(TR)"
	}
	return r, want
}

func writeParquetGo(t testing.TB, rows int, opts ...pq.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pq.NewGenericWriter[pgRow](&buf, opts...)
	batch := make([]pgRow, 0, 100)
	for i := 0; i < rows; i++ {
		r, _ := pgRowAt(i)
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == rows-1 {
			_, err := w.Write(batch)
			require.NoError(t, err)
			batch = batch[:0]
		}
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestParquetInterop(t *testing.T) {
	const rows = 1800
	cases := map[string][]pq.WriterOption{
		"v1 snappy": {pq.DataPageVersion(1), pq.Compression(&pq.Snappy), pq.MaxRowsPerRowGroup(700)},
		"v2 zstd":   {pq.DataPageVersion(2), pq.Compression(&pq.Zstd), pq.MaxRowsPerRowGroup(500), pq.PageBufferSize(2048)},
		"v2 plain":  {pq.DataPageVersion(2)},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			src := &pqMemSource{name: "pg.parquet", data: writeParquetGo(t, rows, opts...)}
			for _, coalesce := range []int64{pqCoalesceBytes, 0} {
				r, err := newParquetReader(context.Background(), src, Options{})
				require.NoError(t, err)
				r.(*parquetReader).coalesce = coalesce
				assert.Equal(t, pgColumns, r.Columns())
				recs := pqReadAll(t, r)
				require.Len(t, recs, rows)
				for i, rec := range recs {
					_, want := pgRowAt(i)
					require.Equal(t, want, pqDescribeAll(rec.Values), "row %d", i)
				}
			}
			r, err := newParquetReader(context.Background(), src, Options{})
			require.NoError(t, err)
			recs := pqReadAll(t, r)
			// Resume in the middle of a later row group.
			r2, err := newParquetReader(context.Background(), src, Options{Start: &recs[1234].Pos})
			require.NoError(t, err)
			rest := pqReadAll(t, r2)
			require.Len(t, rest, rows-1234)
			_, want := pgRowAt(1234)
			assert.Equal(t, want, pqDescribeAll(rest[0].Values))
		})
	}
}

// Open picks the Parquet reader by extension for local files.
func TestParquetOpenLocal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.parquet")
	require.NoError(t, os.WriteFile(path, writeParquetGo(t, 50), 0o644))
	r, err := Open(context.Background(), path, Options{Format: FormatAuto})
	require.NoError(t, err)
	defer r.Close()
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, st.Size(), r.Identity().Size)
	recs := pqReadAll(t, r)
	require.Len(t, recs, 50)
	assert.Equal(t, path, recs[49].Pos.File)
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close twice")
}

func TestParquetEmptyFile(t *testing.T) {
	var buf bytes.Buffer
	w := pq.NewGenericWriter[pgRow](&buf)
	require.NoError(t, w.Close())
	r, err := newParquetReader(context.Background(), &pqMemSource{name: "empty.parquet", data: buf.Bytes()}, Options{})
	require.NoError(t, err)
	assert.Equal(t, pgColumns, r.Columns())
	_, err = r.Next(context.Background())
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int64(0), r.Pos().Index)
}

// Truncated, corrupt or foreign bytes give an error naming the file, never a
// panic and never a silent io.EOF.
func TestParquetCorrupt(t *testing.T) {
	data := writeXitongsys(t, 1200, 400, parquet.CompressionCodec_SNAPPY)
	rows := 1200
	readErr := func(t *testing.T, b []byte) error {
		t.Helper()
		r, err := newParquetReader(context.Background(), &pqMemSource{name: "bad.parquet", data: b}, Options{})
		if err != nil {
			return err
		}
		n := 0
		for {
			_, err := r.Next(context.Background())
			if err == io.EOF {
				if n != rows {
					return fmt.Errorf("silent EOF after %d rows", n)
				}
				return nil
			}
			if err != nil {
				_, again := r.Next(context.Background())
				assert.Equal(t, err, again, "errors are sticky")
				return err
			}
			n++
		}
	}

	t.Run("not parquet", func(t *testing.T) {
		err := readErr(t, []byte("email,name\na@b.c,Ann\n"))
		assert.ErrorContains(t, err, "bad.parquet")
		assert.ErrorContains(t, err, "not a Parquet file")
	})
	t.Run("too short", func(t *testing.T) {
		assert.ErrorContains(t, readErr(t, []byte("PAR1")), "too short")
	})
	for _, cut := range []int{len(data) - 1, len(data) - 8, len(data) / 2, 100} {
		t.Run(fmt.Sprintf("truncated at %d", cut), func(t *testing.T) {
			err := readErr(t, data[:cut])
			require.Error(t, err)
			assert.ErrorContains(t, err, "bad.parquet")
			assert.NotErrorIs(t, err, io.EOF)
		})
	}
	t.Run("footer length lies", func(t *testing.T) {
		b := bytes.Clone(data)
		binary.LittleEndian.PutUint32(b[len(b)-8:], uint32(len(b)))
		assert.ErrorContains(t, readErr(t, b), "corrupt footer")
	})
	t.Run("garbage footer", func(t *testing.T) {
		b := bytes.Clone(data)
		n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
		for k := len(b) - 8 - n; k < len(b)-8; k++ {
			b[k] = 0xff
		}
		assert.ErrorContains(t, readErr(t, b), "bad.parquet")
	})
	t.Run("chunk beyond the end", func(t *testing.T) {
		// Keep the footer but drop the data before it: the chunks now
		// point outside the file.
		n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
		b := append([]byte("PAR1"), data[len(data)-8-n:]...)
		err := readErr(t, b)
		assert.ErrorContains(t, err, "bad.parquet row 1: row group 0")
		assert.ErrorContains(t, err, "outside")
	})
	// Random damage to the data pages: every outcome is either the right
	// rows or an error, whatever the bytes, and never an allocation of what
	// a damaged length claims.
	for name, write := range map[string]func() []byte{
		"xitongsys snappy":  func() []byte { return writeXitongsys(t, 300, 100, parquet.CompressionCodec_SNAPPY) },
		"parquet-go v2 raw": func() []byte { return writeParquetGo(t, 300, pq.DataPageVersion(2), pq.MaxRowsPerRowGroup(100)) },
	} {
		t.Run("random damage "+name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			rows = 300
			data := write()
			n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
			dataEnd := len(data) - 8 - n
			failed := 0
			for range 100 {
				b := bytes.Clone(data)
				for range 1 + rng.IntN(4) {
					b[4+rng.IntN(dataEnd-4)] = byte(rng.IntN(256))
				}
				if err := readErr(t, b); err != nil {
					failed++
					assert.ErrorContains(t, err, "bad.parquet")
					assert.NotErrorIs(t, err, io.EOF)
				}
			}
			t.Logf("%d of 100 damaged files failed to read (the rest damaged values only)", failed)
		})
	}
}

func TestParquetContextCanceled(t *testing.T) {
	src := &pqMemSource{name: "c.parquet", data: writeXitongsys(t, 10, 10, parquet.CompressionCodec_SNAPPY)}
	r, err := newParquetReader(context.Background(), src, Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Next(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestDecimalText(t *testing.T) {
	for _, c := range []struct {
		digits string
		scale  int32
		want   string
	}{
		{"1250", 2, "12.50"}, {"-5", 3, "-0.005"}, {"0", 2, "0.00"}, {"7", 0, "7"}, {"-120", 1, "-12.0"}, {"99", 2, "0.99"},
	} {
		assert.Equal(t, c.want, decimalText(c.digits, c.scale), "%s scale %d", c.digits, c.scale)
	}
	assert.Equal(t, "-1", twosText([]byte{0xff}))
	assert.Equal(t, "-129", twosText([]byte{0xff, 0x7f}))
	assert.Equal(t, "255", twosText([]byte{0x00, 0xff}))
	assert.Equal(t, "-9223372036854775808", twosText([]byte{0x80, 0, 0, 0, 0, 0, 0, 0}))
	big := pqTwos(new(big.Int).Neg(new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)), 16)
	assert.Equal(t, "-1000000000000000000000000000000", twosText(big))
}

// Converter cases the writers above do not produce.
func TestParquetConverterEdges(t *testing.T) {
	conv := func(typ pq.Type, v pq.Value) string {
		t.Helper()
		f, err := pqConverter(typ)
		require.NoError(t, err)
		got, err := f(v)
		if err != nil {
			return "error: " + err.Error()
		}
		return pqDescribe(got)
	}
	assert.Equal(t, "string(13:45:30.25)", conv(pq.Time(pq.Millisecond).Type(), pq.ValueOf(int32((13*3600+45*60+30)*1000+250))))
	assert.Equal(t, "string(00:00:01.000002)", conv(pq.Time(pq.Microsecond).Type(), pq.ValueOf(int64(1_000_002))))
	assert.Equal(t, "decimal(18446744073709551615)", conv(pq.Uint(64).Type(), pq.ValueOf(int64(-1))))
	assert.Equal(t, "int(7)", conv(pq.Uint(64).Type(), pq.ValueOf(int64(7))))
	assert.Equal(t, "int(255)", conv(pq.Uint(8).Type(), pq.ValueOf(int32(-1&0xff))))
	assert.Equal(t, "time(2025-01-02T03:04:05.000000006Z)", conv(pq.Timestamp(pq.Nanosecond).Type(), pq.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano())))
	assert.Equal(t, "decimal(-0.05)", conv(pq.Decimal(2, 4, pq.FixedLenByteArrayType(2)).Type(), pq.FixedLenByteArrayValue([]byte{0xff, 0xfb})))
	_, err := pqConverter(pq.Decimal(-1, 4, pq.Int32Type).Type())
	assert.ErrorContains(t, err, "negative scale")
}

// With Options.Columns the reader reads only those columns (in file order,
// the ones the file has) and fetches only their column chunks.
func TestParquetProjection(t *testing.T) {
	const rows = 3000
	data := writeXitongsys(t, rows, 1000, parquet.CompressionCodec_SNAPPY)
	all := &pqMemSource{name: "p.parquet", data: data}
	pqReadAll(t, func() Reader {
		r, err := newParquetReader(context.Background(), all, Options{})
		require.NoError(t, err)
		return r
	}())
	src := &pqMemSource{name: "p.parquet", data: data}
	r, err := newParquetReader(context.Background(), src, Options{Columns: []string{"tags", "address.city", "name", "not_there"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"name", "tags", "address.city"}, r.Columns())
	recs := pqReadAll(t, r)
	require.Len(t, recs, rows)
	for i, rec := range recs {
		_, want := xtRowAt(i)
		require.Equal(t, []string{want[0], want[20], want[23]}, pqDescribeAll(rec.Values), "row %d", i)
	}
	assert.Less(t, src.bytes, all.bytes/3, "bytes read for 3 of 25 columns")

	// Resuming a projected read.
	r2, err := newParquetReader(context.Background(), &pqMemSource{name: "p.parquet", data: data}, Options{Columns: []string{"age"}, Start: &recs[1234].Pos})
	require.NoError(t, err)
	rest := pqReadAll(t, r2)
	require.Len(t, rest, rows-1234)
	_, want := xtRowAt(1234)
	assert.Equal(t, []string{want[2]}, pqDescribeAll(rest[0].Values))

	// No columns at all still counts the rows.
	r3, err := newParquetReader(context.Background(), &pqMemSource{name: "p.parquet", data: data}, Options{Columns: []string{}})
	require.NoError(t, err)
	assert.Empty(t, r3.Columns())
	assert.Len(t, pqReadAll(t, r3), rows)
}

// A column compressed with different codecs in different row groups is
// refused at open: the library would decompress every chunk with the
// first one's codec.
func TestParquetMixedCodecs(t *testing.T) {
	var buf bytes.Buffer
	pw, err := writer.NewParquetWriterFromWriter(&buf, new(xtRow), 1)
	require.NoError(t, err)
	for i := range 20 {
		if i == 10 {
			require.NoError(t, pw.Flush(true))
			pw.CompressionType = parquet.CompressionCodec_GZIP
		}
		r, _ := xtRowAt(i)
		require.NoError(t, pw.Write(r))
	}
	require.NoError(t, pw.WriteStop())
	_, err = newParquetReader(context.Background(), &pqMemSource{name: "mixed.parquet", data: buf.Bytes()}, Options{})
	require.Error(t, err)
	assert.ErrorContains(t, err, "mixed.parquet: row group 1, column name: compressed with GZIP, row group 0 with SNAPPY")
}

// A timestamp not adjusted to UTC reads as a wall-clock time (Value.Wall),
// for the field's timezone to place; one adjusted to UTC and INT96 read as
// instants.
func TestParquetWallClockTimestamps(t *testing.T) {
	r, err := newParquetReader(context.Background(), &pqMemSource{name: "w.parquet", data: writeParquetGo(t, 3)}, Options{})
	require.NoError(t, err)
	rec := pqReadAll(t, r)[1]
	col := func(name string) Value { return rec.Values[slices.Index(pgColumns, name)] }
	assert.True(t, col("at_local").Wall, "timestamp(millisecond:local)")
	assert.Equal(t, "2025-01-01T00:00:00Z", col("at_local").String(), "its fields as written")
	assert.False(t, col("at").Wall)
	assert.False(t, col("at_nano").Wall)
	assert.False(t, col("legacy").Wall)

	r, err = newParquetReader(context.Background(), &pqMemSource{name: "x.parquet", data: writeXitongsys(t, 3, 3, parquet.CompressionCodec_SNAPPY)}, Options{})
	require.NoError(t, err)
	rec = pqReadAll(t, r)[1]
	x := func(name string) Value { return rec.Values[slices.Index(xtColumns, name)] }
	assert.True(t, x("ts_nanos").Wall, "isadjustedtoutc=false")
	assert.False(t, x("ts_micros").Wall, "isadjustedtoutc=true")
	assert.True(t, x("ts_millis").Wall, "xitongsys writes TIMESTAMP_MILLIS with isAdjustedToUTC=false: the logical type wins")
}

// Package readertest is the suite every readers.Reader passes, for each
// format (CSV, gzip'd CSV, Parquet) on each source (local disk, S3), in the
// way restic's backend tests hold every backend to one contract. It reads
// only through the public readers.Open, so it tests whichever reader a
// format has.
//
// The contract (see readers.Reader): io.EOF stays io.EOF; resuming at any
// position yields the same records; a *readers.ParseError concerns one
// record and reading goes on; any other error is fatal and sticky, so a
// truncated or garbled input ends in one error, never a stream of row
// errors; a cancelled context stops a read; an S3 object replaced while it
// is read is a fatal error naming it, and so is a local file cut short or
// grown while it is read (a *readers.ChangedError).
package readertest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	pq "github.com/parquet-go/parquet-go"
	"github.com/ulikunitz/xz"

	"github.com/insider-import/insider-import/readers"
)

// Env is where the suite puts its inputs.
type Env interface {
	// Put stores data under name (replacing what was there) and returns
	// the input's URI or path.
	Put(t *testing.T, name string, data []byte) string
	// Options are the reader options that reach the inputs (S3 client).
	Options() readers.Options
	// Replaceable reports whether an input can be replaced while a reader
	// has it open and the reader must notice (S3: objects are pinned to
	// their ETag).
	Replaceable() bool
}

// Format makes inputs of one file format.
type Format struct {
	Name string // csv, csv.gz, parquet
	Ext  string // file name extension, with the dot
	// Sample returns a valid input of n rows and the rows' cells as text.
	Sample func(t *testing.T, n int) ([]byte, [][]string)
	// Truncate and Garble break a sample; FatalOnBreak says that reading
	// the broken input must end in a fatal error (for plain CSV, a cut
	// makes at most one short row instead).
	Truncate     func(data []byte) []byte
	Garble       func(t *testing.T, data []byte) []byte
	FatalOnBreak bool
	// MaxRowErrors is how many row errors a broken input may give before
	// it ends: 1 (the cut row) unless the format has no integrity check
	// and garbage is rows (plain CSV).
	MaxRowErrors int
}

// Formats are the formats the readers package reads.
func Formats() []Format {
	return []Format{
		{Name: "csv", Ext: ".csv", Sample: csvSample, Truncate: half, Garble: csvGarble, MaxRowErrors: 20},
		{Name: "csv.gz", Ext: ".csv.gz", Sample: gzSample, Truncate: half, Garble: gzGarble, FatalOnBreak: true},
		{Name: "parquet", Ext: ".parquet", Sample: parquetSample, Truncate: half, Garble: parquetGarble, FatalOnBreak: true},
		// The other codecs, told by content as gzip is; each ends in a
		// checksum the garbling breaks.
		{Name: "csv.zst", Ext: ".csv.zst", Sample: compressedSample(zstdCompress), Truncate: half, Garble: lastByteGarble(1), FatalOnBreak: true},
		{Name: "csv.xz", Ext: ".csv.xz", Sample: compressedSample(xzCompress), Truncate: half, Garble: lastByteGarble(13), FatalOnBreak: true},
		{Name: "csv.bz2", Ext: ".csv.bz2", Sample: compressedSample(bzip2Compress), Truncate: half, Garble: lastByteGarble(3), FatalOnBreak: true},
		{Name: "csv.zip", Ext: ".csv.zip", Sample: compressedSample(zipCompress), Truncate: half, Garble: zipGarble, FatalOnBreak: true},
	}
}

// Run runs the suite for format f on env.
func Run(t *testing.T, env Env, f Format) {
	t.Run("EOFStaysEOF", func(t *testing.T) { testEOF(t, env, f) })
	t.Run("ResumeAtEveryPos", func(t *testing.T) { testResume(t, env, f) })
	t.Run("Truncated", func(t *testing.T) {
		testBroken(t, env, f, "truncated", func(t *testing.T, d []byte) []byte { return f.Truncate(d) })
	})
	t.Run("Garbled", func(t *testing.T) { testBroken(t, env, f, "garbled", f.Garble) })
	t.Run("ContextCancel", func(t *testing.T) { testCancel(t, env, f) })
	if env.Replaceable() {
		t.Run("ReplacedMidRead", func(t *testing.T) { testReplaced(t, env, f) })
	}
	if _, local := env.(*Local); local {
		t.Run("CutMidRead", func(t *testing.T) { testChangedLocal(t, env, f, "cut") })
		t.Run("GrownMidRead", func(t *testing.T) { testChangedLocal(t, env, f, "grown") })
	}
}

func open(t *testing.T, env Env, uri string, start *readers.Position) readers.Reader {
	t.Helper()
	opts := env.Options()
	opts.Start = start
	r, err := readers.Open(context.Background(), uri, opts)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readAll reads r to io.EOF; any error fails the test.
func readAll(t *testing.T, r readers.Reader) (rows [][]string, recPos, readerPos []readers.Position) {
	t.Helper()
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("row %d: %v", len(rows)+1, err)
		}
		rows = append(rows, rec.Strings())
		recPos = append(recPos, rec.Pos)
		readerPos = append(readerPos, r.Pos())
	}
}

func testEOF(t *testing.T, env Env, f Format) {
	data, want := f.Sample(t, 50)
	uri := env.Put(t, "eof"+f.Ext, data)
	r := open(t, env, uri, nil)
	rows, _, _ := readAll(t, r)
	equalRows(t, want, rows, "all rows")
	end := r.Pos()
	if end.Index != int64(len(want)) {
		t.Errorf("Pos after EOF: index %d, want %d", end.Index, len(want))
	}
	for i := range 3 {
		if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
			t.Fatalf("call %d after EOF: %v, want io.EOF", i+1, err)
		}
	}
	if r.Pos() != end {
		t.Errorf("Pos moved after EOF: %+v, was %+v", r.Pos(), end)
	}
	// Resuming at the end reads nothing.
	r2 := open(t, env, uri, &end)
	if rest, _, _ := readAll(t, r2); len(rest) != 0 {
		t.Errorf("resuming at the end read %d rows", len(rest))
	}
}

func testResume(t *testing.T, env Env, f Format) {
	data, want := f.Sample(t, 40)
	uri := env.Put(t, "resume"+f.Ext, data)
	r := open(t, env, uri, nil)
	rows, recPos, readerPos := readAll(t, r)
	equalRows(t, want, rows, "all rows")
	for i := range rows {
		// At a record's position: that record and the rest.
		r := open(t, env, uri, &recPos[i])
		rest, restPos, _ := readAll(t, r)
		equalRows(t, rows[i:], rest, fmt.Sprintf("resumed at row %d's Pos", i+1))
		for j := range restPos {
			if restPos[j].Index != recPos[i+j].Index {
				t.Fatalf("resumed at row %d: record %d has index %d, want %d", i+1, j, restPos[j].Index, recPos[i+j].Index)
			}
		}
		// At Reader.Pos after it: the rest after it.
		r = open(t, env, uri, &readerPos[i])
		rest, _, _ = readAll(t, r)
		equalRows(t, rows[i+1:], rest, fmt.Sprintf("resumed at Reader.Pos after row %d", i+1))
	}
}

// testBroken reads a broken input: it may open with an error naming it, or
// read rows; it must end within the rows there are, with at most one row
// error, and a fatal error (when the format says so) that sticks.
func testBroken(t *testing.T, env Env, f Format, what string, breakIt func(*testing.T, []byte) []byte) {
	data, want := f.Sample(t, 3000)
	name := what + f.Ext
	uri := env.Put(t, name, breakIt(t, data))
	opts := env.Options()
	r, err := readers.Open(context.Background(), uri, opts)
	if err != nil {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("open of a %s input: the error does not name it: %v", what, err)
		}
		return
	}
	defer r.Close()
	rowErrs, calls := 0, 0
	var fatal error
	for calls <= len(want)+2 {
		calls++
		_, err := r.Next(context.Background())
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *readers.ParseError
		if errors.As(err, &pe) {
			rowErrs++
			continue
		}
		fatal = err
		break
	}
	if calls > len(want)+2 {
		t.Fatalf("%s input: still returning after %d calls (%d row errors)", what, calls, rowErrs)
	}
	if rowErrs > max(f.MaxRowErrors, 1) {
		t.Errorf("%s input: %d row errors; a broken input is one fatal error, not a stream of row errors", what, rowErrs)
	}
	if fatal == nil {
		if f.FatalOnBreak {
			t.Errorf("%s input read to io.EOF without an error", what)
		}
		return
	}
	if !strings.Contains(fatal.Error(), name) {
		t.Errorf("the fatal error does not name the input: %v", fatal)
	}
	pos := r.Pos()
	for i := range 3 {
		_, err := r.Next(context.Background())
		var pe *readers.ParseError
		if err == nil || errors.Is(err, io.EOF) || errors.As(err, &pe) {
			t.Fatalf("call %d after the fatal error %q: %v, want the error again", i+1, fatal, err)
		}
	}
	if r.Pos() != pos {
		t.Errorf("Pos moved after a fatal error: %+v, was %+v", r.Pos(), pos)
	}
	t.Logf("%s: %v", what, fatal)
}

func testCancel(t *testing.T, env Env, f Format) {
	data, want := f.Sample(t, 3000)
	uri := env.Put(t, "cancel"+f.Ext, data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := env.Options()
	r, err := readers.Open(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 10 {
		if _, err := r.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	n := 0
	for ; n < len(want); n++ {
		_, err := r.Next(ctx)
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v, want context.Canceled", err)
		}
		break
	}
	if n >= len(want)-10 {
		t.Fatalf("a cancelled read went on to the end")
	}
	if n > 0 {
		t.Logf("%d rows read after the cancel (buffered)", n)
	}
}

// testReplaced replaces an object after its reader read a few rows: the
// reader must stop with a fatal error naming it, or (if it had already
// fetched every byte) return exactly the rows of the version it opened.
// The environment makes reads come in pieces, as a long read over a real
// network does, so the reader has to fetch again.
func testReplaced(t *testing.T, env Env, f Format) {
	data, want := f.Sample(t, 20000)
	uri := env.Put(t, "replaced"+f.Ext, data)
	r := open(t, env, uri, nil)
	var rows [][]string
	for range 5 {
		rec, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rec.Strings())
	}
	other, _ := f.Sample(t, 20001)
	env.Put(t, "replaced"+f.Ext, other)
	for len(rows) <= len(want) {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			equalRows(t, want, rows, "an object replaced mid-read, read to the end")
			t.Fatalf("the replaced object was read to the end without an error (%d rows)", len(rows))
		}
		if err != nil {
			var pe *readers.ParseError
			if errors.As(err, &pe) {
				t.Fatalf("a replaced object gave a row error: %v", err)
			}
			if !strings.Contains(err.Error(), uri) {
				t.Errorf("the error does not name the object: %v", err)
			}
			if !errors.Is(err, readers.ErrChanged) {
				t.Errorf("the error is not readers.ErrChanged: %v", err)
			}
			t.Logf("after %d rows: %v", len(rows), err)
			return
		}
		rows = append(rows, rec.Strings())
	}
	t.Fatalf("read %d rows from a %d-row object", len(rows), len(want))
}

func equalRows(t *testing.T, want, got [][]string, what string) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		if strings.Join(want[i], "\x1f") != strings.Join(got[i], "\x1f") {
			t.Fatalf("%s: row %d is %q, want %q", what, i+1, got[i], want[i])
		}
	}
}

// sampleRows are n rows of text, with quotes, delimiters and newlines in
// some cells and random digits that keep compression from hiding size.
func sampleRows(n int) [][]string {
	rnd := rand.New(rand.NewPCG(uint64(n), 7))
	rows := make([][]string, n)
	for i := range rows {
		note := "plain " + strconv.FormatUint(rnd.Uint64(), 36)
		switch i % 7 {
		case 3:
			note = "a, \"quoted\" note"
		case 5:
			note = "two\nlines"
		}
		rows[i] = []string{strconv.Itoa(i), fmt.Sprintf("user%d@example.com", i), note, strconv.FormatUint(rnd.Uint64(), 10)}
	}
	return rows
}

var sampleHeader = []string{"id", "email", "note", "score"}

func csvSample(_ *testing.T, n int) ([]byte, [][]string) {
	rows := sampleRows(n)
	var b bytes.Buffer
	b.WriteString(strings.Join(sampleHeader, ",") + "\r\n")
	for _, r := range rows {
		for j, c := range r {
			if j > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(c, ",\"\n") {
				c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
			}
			b.WriteString(c)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes(), rows
}

func gzSample(t *testing.T, n int) ([]byte, [][]string) {
	data, rows := csvSample(t, n)
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes(), rows
}

func half(data []byte) []byte { return data[:len(data)/2] }

// csvGarble overwrites 400 bytes in the middle with bytes that are not
// text (no quote, delimiter or newline among them): the rows they fall in
// are rejected, the others read.
func csvGarble(_ *testing.T, data []byte) []byte {
	out := bytes.Clone(data)
	for i := len(out) / 2; i < len(out)/2+400; i++ {
		out[i] = 0x80 + byte(i%0x7f)
	}
	return out
}

// gzGarble corrupts the stream's CRC-32. Deflate has no check of its own
// before that trailer: bytes overwritten in the middle of the stream mostly
// decode to other bytes, and only the CRC at the end tells.
func gzGarble(_ *testing.T, data []byte) []byte {
	out := bytes.Clone(data)
	out[len(out)-8] ^= 0xff
	return out
}

// compressedSample is csvSample compressed by compress.
func compressedSample(compress func(t *testing.T, data []byte) []byte) func(t *testing.T, n int) ([]byte, [][]string) {
	return func(t *testing.T, n int) ([]byte, [][]string) {
		data, rows := csvSample(t, n)
		return compress(t, data), rows
	}
}

func zstdCompress(t *testing.T, data []byte) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(data, nil)
}

func xzCompress(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bzip2Compress runs the bzip2 command (the standard library only reads
// bzip2); the test is skipped where it is not installed.
func bzip2Compress(t *testing.T, data []byte) []byte {
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 is not installed")
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// zipCompress stores data in a zip (not deflated: the archive stays
// larger than one S3 read-ahead block, so a replaced object is read again
// and noticed; compress_test.go reads deflated ones).
func zipCompress(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "export.csv", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lastByteGarble flips byte n from the end: in a zstd frame its content
// checksum, in an xz stream its index's check, in bzip2 its stream CRC.
func lastByteGarble(n int) func(*testing.T, []byte) []byte {
	return func(_ *testing.T, data []byte) []byte {
		out := bytes.Clone(data)
		out[len(out)-n] ^= 0xff
		return out
	}
}

// zipGarble flips the member's CRC-32 in the central directory, which the
// reader checks at the member's end.
func zipGarble(t *testing.T, data []byte) []byte {
	out := bytes.Clone(data)
	i := bytes.LastIndex(out, []byte("PK\x01\x02"))
	if i < 0 {
		t.Fatal("no central directory")
	}
	out[i+16] ^= 0xff
	return out
}

type pqRow struct {
	ID    int64  `parquet:"id"`
	Email string `parquet:"email"`
	Note  string `parquet:"note"`
	Score string `parquet:"score"`
}

func parquetSample(t *testing.T, n int) ([]byte, [][]string) {
	rows := sampleRows(n)
	var b bytes.Buffer
	w := pq.NewGenericWriter[pqRow](&b, pq.Compression(&pq.Snappy), pq.MaxRowsPerRowGroup(int64(max(n/4, 10))), pq.PageBufferSize(4<<10))
	for _, r := range rows {
		id, _ := strconv.ParseInt(r[0], 10, 64)
		if _, err := w.Write([]pqRow{{ID: id, Email: r[1], Note: r[2], Score: r[3]}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), rows
}

// parquetGarble overwrites the header of the first data page of the note
// column in the second row group: a garbled page.
func parquetGarble(t *testing.T, data []byte) []byte {
	f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.Metadata()
	if len(md.RowGroups) < 2 {
		t.Fatalf("sample has %d row groups", len(md.RowGroups))
	}
	off := md.RowGroups[1].Columns[2].MetaData.DataPageOffset
	out := bytes.Clone(data)
	for i := off; i < off+400 && i < int64(len(out))-8; i++ {
		out[i] = byte(i*131) ^ 0xa5
	}
	return out
}

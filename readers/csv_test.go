package readers

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// readAll returns the records' cells as text and the parse errors met.
func readAll(t *testing.T, r Reader) (rows [][]string, pos []Position, perrs []*ParseError) {
	t.Helper()
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			perrs = append(perrs, pe)
			continue
		}
		require.NoError(t, err)
		rows = append(rows, rec.Strings())
		pos = append(pos, rec.Pos)
	}
}

func TestCSVDialects(t *testing.T) {
	want := [][]string{{"1", "a, b", `say "hi"`}, {"2", "line1\nline2", ""}, {"3", "x", "y"}}
	plain := "id,name,note\n1,\"a, b\",\"say \"\"hi\"\"\"\n2,\"line1\nline2\",\n3,x,y\n"
	crlf := "id,name,note\r\n1,\"a, b\",\"say \"\"hi\"\"\"\r\n2,\"line1\r\nline2\",\r\n3,x,y\r\n"
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"lf.csv", []byte(plain)},
		{"crlf.csv", []byte(crlf)},
		{"bom.csv", append([]byte{0xEF, 0xBB, 0xBF}, plain...)},
		{"no-final-newline.csv", []byte(plain[:len(plain)-1])},
		{"lf.csv.gz", gz(t, []byte(plain))},
		{"bom.csv.gz", gz(t, append([]byte{0xEF, 0xBB, 0xBF}, crlf...))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(context.Background(), writeFile(t, tc.name, tc.data), Options{})
			require.NoError(t, err)
			defer r.Close()
			assert.Equal(t, []string{"id", "name", "note"}, r.Columns())
			rows, pos, perrs := readAll(t, r)
			assert.Empty(t, perrs)
			assert.Equal(t, want, rows)
			require.Len(t, pos, 3)
			assert.Equal(t, []int64{2, 3, 5}, []int64{pos[0].Line, pos[1].Line, pos[2].Line})
			assert.Equal(t, []int64{1, 2, 3}, []int64{pos[0].Row(), pos[1].Row(), pos[2].Row()})
		})
	}
}

func TestCSVMalformedRecordsNameFileAndLine(t *testing.T) {
	data := "a,b\n1,2\n3\n4,5,6\n7,\"bad\"x\n8,9\n"
	p := writeFile(t, "bad.csv", []byte(data))
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	rows, _, perrs := readAll(t, r)
	assert.Equal(t, [][]string{{"1", "2"}, {"8", "9"}}, rows)
	require.Len(t, perrs, 3)
	assert.Equal(t, p+" row 2 (line 3): 1 fields, the header has 2", perrs[0].Error())
	assert.Equal(t, p+" row 3 (line 4): 3 fields, the header has 2", perrs[1].Error())
	assert.Equal(t, int64(5), perrs[2].Line)
	assert.Contains(t, perrs[2].Error(), `extraneous or missing " in quoted-field`)
}

func TestCSVEmptyAndHeaderOnly(t *testing.T) {
	_, err := Open(context.Background(), writeFile(t, "empty.csv", nil), Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no header row")

	r, err := Open(context.Background(), writeFile(t, "header.csv", []byte("a,b\n")), Options{})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Next(context.Background())
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int64(0), r.Pos().Index)
}

func TestCSVDelimiter(t *testing.T) {
	r, err := Open(context.Background(), writeFile(t, "semi.csv", []byte("a;b\n1,5;x\n")), Options{Delimiter: ';'})
	require.NoError(t, err)
	defer r.Close()
	rows, _, _ := readAll(t, r)
	assert.Equal(t, [][]string{{"1,5", "x"}}, rows)
}

// Resuming at any record's position yields exactly the records from there
// on: by byte seek for plain CSV, by re-reading and skipping for gzip.
func TestCSVResumeFromEveryPosition(t *testing.T) {
	data := []byte("\xEF\xBB\xBFid,v\r\n1,a\r\n2,\"multi\r\nline\"\r\n3,c\r\n4,d\r\n")
	for _, name := range []string{"r.csv", "r.csv.gz"} {
		t.Run(name, func(t *testing.T) {
			content := data
			if filepath.Ext(name) == ".gz" {
				content = gz(t, data)
			}
			p := writeFile(t, name, content)
			r, err := Open(context.Background(), p, Options{})
			require.NoError(t, err)
			all, pos, _ := readAll(t, r)
			end := r.Pos()
			r.Close()
			require.Len(t, all, 4)
			assert.Equal(t, int64(4), end.Index)
			if name == "r.csv" {
				assert.Equal(t, int64(len(data)), end.Offset)
			} else {
				assert.Equal(t, int64(-1), end.Offset)
			}
			for i, start := range pos {
				r, err := Open(context.Background(), p, Options{Start: &start})
				require.NoError(t, err)
				rest, rpos, _ := readAll(t, r)
				r.Close()
				assert.Equal(t, all[i:], rest, "resume at row %d", start.Row())
				assert.Equal(t, pos[i:], rpos, "positions after resuming at row %d", start.Row())
			}
			// Resuming at the end reads nothing.
			r, err = Open(context.Background(), p, Options{Start: &end})
			require.NoError(t, err)
			rest, _, _ := readAll(t, r)
			r.Close()
			assert.Empty(t, rest)
		})
	}
}

func TestCSVIdentity(t *testing.T) {
	p := writeFile(t, "id.csv", []byte("a\n1\n"))
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	id := r.Identity()
	r.Close()
	assert.Equal(t, int64(4), id.Size)
	assert.False(t, id.ModTime.IsZero())
	require.NoError(t, os.WriteFile(p, []byte("a\n12\n"), 0o600))
	r, err = Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	assert.False(t, id.Equal(r.Identity()))
}

func TestExpandLocal(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.csv", "a.csv", "c.parquet", ".hidden"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("x\n"), 0o600))
	}
	got, err := Expand(context.Background(), []string{filepath.Join(dir, "*.csv"), dir}, S3Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "c.parquet")}, got)
	_, err = Expand(context.Background(), []string{filepath.Join(dir, "nope-*.csv")}, S3Options{})
	assert.ErrorContains(t, err, "no input files match")
}

// BenchmarkCSVNext reads a 14-column file through the CSV reader (typed
// Values and resumable positions); BenchmarkCSVBare is encoding/csv with
// ReuseRecord over the same bytes, the floor.
func BenchmarkCSVNext(b *testing.B) {
	p := benchCSVFile(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(context.Background(), p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(context.Background()); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
		r.Close()
	}
	b.ReportMetric(float64(benchCSVRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVBare(b *testing.B) {
	p := benchCSVFile(b)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(f)
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
		f.Close()
	}
	b.ReportMetric(float64(benchCSVRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

const benchCSVRows = 100_000

func benchCSVFile(b *testing.B) string {
	var buf bytes.Buffer
	buf.WriteString("customer_id,email,phone,first_name,tier,ltv,order_id,sku,product_name,category,currency,price,qty,purchased_at\n")
	for i := range benchCSVRows {
		fmt.Fprintf(&buf, "%d,user%d@example.com,+4477009%05d,Name,gold,%d.5,ORD-%d,SKU-%d,\"Some product, with a comma\",Footwear>Running,EUR,%d.99,%d,2026-01-02T03:04:05Z\n",
			10000000000000000+i/3, i/3, i%100000, i%5000, i, i%977, i%300, 1+i%4)
	}
	p := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

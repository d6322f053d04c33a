package readers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func encodingFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "testdata", "encodings", name)
	_, err := os.Stat(p)
	require.NoError(t, err, "made by scripts/encodings.sh")
	return p
}

// csvLines reads a UTF-8 file from testdata/encodings as rows of cells.
func csvLines(t *testing.T, name, sep string) [][]string {
	t.Helper()
	b, err := os.ReadFile(encodingFile(t, name))
	require.NoError(t, err)
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, strings.Split(l, sep))
	}
	return out
}

// Files iconv converted from UTF-8 read back as the same characters when
// their encoding is set.
func TestCSVEncodings(t *testing.T) {
	for _, c := range []struct {
		file, enc, want string
		delim           rune
	}{
		{"cp1252.csv", "windows-1252", "cp1252.utf8.csv", 0},
		{"latin1.csv", "iso-8859-1", "latin1.utf8.csv", 0},
		{"utf16.tsv", "utf-16", "cp1252.utf8.csv", '\t'},
		{"utf16.tsv", "UTF-16LE", "cp1252.utf8.csv", '\t'},
	} {
		t.Run(c.file+"/"+c.enc, func(t *testing.T) {
			want := csvLines(t, c.want, ",")
			r, err := Open(context.Background(), encodingFile(t, c.file), Options{Encoding: c.enc, Delimiter: c.delim})
			require.NoError(t, err)
			defer r.Close()
			assert.Equal(t, want[0], r.Columns())
			rows, pos, perrs := readAll(t, r)
			assert.Empty(t, perrs)
			assert.Equal(t, want[1:], rows)
			for _, p := range pos {
				assert.Equal(t, int64(-1), p.Offset, "decoded text is resumed by re-reading, not by byte offset")
			}
			// Resuming in the middle gives the same rows.
			r2, err := Open(context.Background(), encodingFile(t, c.file), Options{Encoding: c.enc, Delimiter: c.delim, Start: &pos[2]})
			require.NoError(t, err)
			defer r2.Close()
			rest, _, _ := readAll(t, r2)
			assert.Equal(t, want[3:], rest)
		})
	}
	_, err := LookupEncoding("klingon")
	assert.ErrorContains(t, err, `unknown text encoding "klingon"`)
}

// Without the option, a UTF-16 file stops at once and says what to set;
// a Windows-1252 file's rows with bytes that are not UTF-8 are rejected
// one by one, naming the column and the byte.
func TestCSVWrongEncoding(t *testing.T) {
	_, err := Open(context.Background(), encodingFile(t, "utf16.tsv"), Options{Delimiter: '\t'})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "this file is UTF-16; set source.csv.encoding: utf-16")

	p := encodingFile(t, "cp1252.csv")
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	rows, _, perrs := readAll(t, r)
	assert.Equal(t, [][]string{{"6", "plain@example.com", "Plain Name", "Paris"}}, rows)
	require.Len(t, perrs, 5)
	for i, pe := range perrs {
		assert.Equal(t, "csv.encoding", pe.Rule)
		assert.Equal(t, int64(i+1), pe.Row)
		assert.Equal(t, int64(i+2), pe.Line)
	}
	// Row 1: "José" – the é (0xE9) is the first bad byte, in column name.
	assert.Equal(t, "name", perrs[0].Column)
	off := bytes.IndexByte(raw, 0xE9)
	assert.Equal(t, fmt.Sprintf("byte 0xE9 at byte %d is not UTF-8; if the file is in another encoding, set source.csv.encoding (e.g. windows-1252)", off), perrs[0].Err.Error())
	// Row 4: "Šárka" – Š is 0x8A in Windows-1252.
	assert.Equal(t, "name", perrs[3].Column)
	assert.Contains(t, perrs[3].Err.Error(), "byte 0x8A at byte")
}

// Two users whose ids differ only in a byte that is not UTF-8 are never
// merged: each row is rejected. A NUL byte is rejected too.
func TestCSVInvalidUTF8AndNUL(t *testing.T) {
	data := "cust_id,name\nC\xe9,Ann\nC\xe8,Bob\n\"x\"\"\xff\",q\nok,\"a\x00b\"\nfine,row\n"
	p := writeFile(t, "bad.csv", []byte(data))
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	rows, _, perrs := readAll(t, r)
	assert.Equal(t, [][]string{{"fine", "row"}}, rows)
	require.Len(t, perrs, 4)
	assert.Equal(t, "cust_id", perrs[0].Column)
	assert.Contains(t, perrs[0].Err.Error(), fmt.Sprintf("byte 0xE9 at byte %d ", strings.IndexByte(data, 0xe9)))
	assert.Contains(t, perrs[1].Err.Error(), fmt.Sprintf("byte 0xE8 at byte %d ", strings.IndexByte(data, 0xe8)))
	// Inside a quoted field with an escaped quote before it.
	assert.Contains(t, perrs[2].Err.Error(), fmt.Sprintf("byte 0xFF at byte %d ", strings.IndexByte(data, 0xff)))
	assert.Equal(t, "name", perrs[3].Column)
	assert.Equal(t, fmt.Sprintf("a NUL byte at byte %d", strings.IndexByte(data, 0)), perrs[3].Err.Error())
}

// A record longer than MaxRecordBytes is read past without being held,
// quotes and all, and the records after it read normally.
func TestCSVRecordTooLong(t *testing.T) {
	big := strings.Repeat("x", 3000)
	quoted := `"` + strings.Repeat("a,\"\"\n", 1000) + `"`
	data := "a,b\n1,2\n3," + big + "\n4," + quoted + "\n5,6\n7," + big + "\n"
	for _, gzipped := range []bool{false, true} {
		content, name := []byte(data), "long.csv"
		if gzipped {
			content, name = gz(t, content), "long.csv.gz"
		}
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, name, content)
			r, err := Open(context.Background(), p, Options{MaxRecordBytes: 1000})
			require.NoError(t, err)
			defer r.Close()
			var rows [][]string
			var perrs []*ParseError
			for {
				rec, err := r.Next(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				var pe *ParseError
				if errors.As(err, &pe) {
					perrs = append(perrs, pe)
					assert.Empty(t, rec.Text, "an oversized record keeps no cells")
					continue
				}
				require.NoError(t, err)
				rows = append(rows, rec.Text)
			}
			assert.Equal(t, [][]string{{"1", "2"}, {"5", "6"}}, rows)
			require.Len(t, perrs, 3)
			for _, pe := range perrs {
				assert.Equal(t, "csv.size", pe.Rule)
				assert.Contains(t, pe.Error(), "longer than source.csv.max_record_bytes (1000)")
			}
			assert.Equal(t, []int64{2, 3, 5}, []int64{perrs[0].Row, perrs[1].Row, perrs[2].Row})
			assert.Equal(t, []int64{3, 4, 1006}, []int64{perrs[0].Line, perrs[1].Line, perrs[2].Line})
		})
	}
}

// A line longer than the read buffer is parsed in pieces: a field that
// straddles pieces, \r\n across a piece boundary, a quote at one.
func TestCSVLongLinesInPieces(t *testing.T) {
	long := strings.Repeat("y", csvSplitReadSize-5)
	data := "a,b\n" + long + ",z\r\n" + "\"" + long + "\"\"q\",w\r\n" + strings.Repeat("k", csvSplitReadSize-1) + "\r\nlast,1\n"
	p := writeFile(t, "pieces.csv", []byte(data))
	r, err := Open(context.Background(), p, Options{MaxRecordBytes: 4 * csvSplitReadSize})
	require.NoError(t, err)
	defer r.Close()
	rows, pos, perrs := readAll(t, r)
	require.Len(t, perrs, 1, "the one-field record")
	assert.Equal(t, "csv.fields", perrs[0].Rule)
	assert.Equal(t, [][]string{{long, "z"}, {long + `"q`, "w"}, {"last", "1"}}, rows)
	assert.Equal(t, []int64{2, 3, 5}, []int64{pos[0].Line, pos[1].Line, pos[2].Line})
	assert.Equal(t, int64(strings.Index(data, "last")), pos[2].Offset)
}

func TestCSVRulesAndMessages(t *testing.T) {
	p := writeFile(t, "bad.csv", []byte("a,b\n1,2\n3\n7,\"bad\"x\n8,b\"c\n9,9\n"))
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	_, _, perrs := readAll(t, r)
	require.Len(t, perrs, 3)
	assert.Equal(t, []string{"csv.fields", "csv.quote", "csv.quote"}, []string{perrs[0].Rule, perrs[1].Rule, perrs[2].Rule})
	// The message itself says where once; the file and row are in the
	// ParseError's fields.
	assert.Equal(t, "1 fields, the header has 2", perrs[0].Err.Error())
	assert.NotContains(t, perrs[1].Err.Error(), p)
}

// A gzip stream cut short is a fatal error naming the file and where,
// returned again by every later call; the rows before it read normally.
func TestCSVTruncatedGzipIsFatal(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "%d,name %d\n", i, i*7919%10007)
	}
	z := gz(t, []byte(b.String()))
	p := writeFile(t, "cut.csv.gz", z[:len(z)/2])
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	n := 0
	var fatal error
	for {
		_, err := r.Next(context.Background())
		if err == nil {
			n++
			continue
		}
		var pe *ParseError
		require.False(t, errors.As(err, &pe), "not a row error: %v", err)
		require.NotErrorIs(t, err, io.EOF)
		fatal = err
		break
	}
	assert.Greater(t, n, 100)
	var re *ReadError
	require.ErrorAs(t, fatal, &re)
	assert.Contains(t, fatal.Error(), p+" after row ")
	assert.Contains(t, fatal.Error(), "of the decompressed text: the gzip stream ends early: the file is truncated")
	pos := r.Pos()
	for range 3 {
		_, err := r.Next(context.Background())
		assert.Equal(t, fatal, err, "sticky")
	}
	assert.Equal(t, pos, r.Pos())
}

// Anything but a regular file is refused before a byte is read, and a FIFO
// without a writer does not block the open.
func TestLocalInputKinds(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.csv")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, c := range []struct{ path, kind string }{
		{fifo, "a FIFO (named pipe)"},
		{"/dev/zero", "a character device"},
		{dir, "a directory"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Open(context.Background(), c.path, Options{})
			done <- err
		}()
		select {
		case err := <-done:
			var ie *InputError
			require.ErrorAs(t, err, &ie, c.path)
			assert.Equal(t, c.path+": is "+c.kind+", not a regular file; inputs are regular files or S3 objects", err.Error())
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocked", c.path)
		}
	}
	// Expand refuses them too (a directory stands for its files).
	_, err := Expand(context.Background(), []string{fifo}, S3Options{})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	_, err = Expand(context.Background(), []string{"/dev/zero"}, S3Options{})
	require.ErrorAs(t, err, &ie)
	_, err = Expand(context.Background(), []string{filepath.Join(dir, "none-*.csv")}, S3Options{})
	require.ErrorAs(t, err, &ie)
}

func TestS3MissingObjectSuggestsPrefix(t *testing.T) {
	env := fakeS3(t)
	ctx := context.Background()
	env.put(t, "exports/2025/a.csv", []byte("a\n1\n"))
	_, err := newS3Source(ctx, env.client, env.uri("exports/2025"))
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "open "+env.uri("exports/2025")+": no such object, but it is a prefix of other objects; to read them all, write "+env.uri("exports/2025")+"/ (with the trailing slash)", err.Error())
	_, err = newS3Source(ctx, env.client, env.uri("exports/nothing.csv"))
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "open "+env.uri("exports/nothing.csv")+": no such object", err.Error())
}

// A header longer than the limit is refused as soon as it is, without
// reading the rest of the file.
func TestCSVHeaderTooLong(t *testing.T) {
	p := writeFile(t, "noheader.csv", bytes.Repeat([]byte{'a'}, 5<<20))
	_, err := Open(context.Background(), p, Options{MaxRecordBytes: 1 << 20})
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "csv.size", pe.Rule)
	assert.Equal(t, p+" line 1: header: longer than source.csv.max_record_bytes (1048576)", err.Error())
}

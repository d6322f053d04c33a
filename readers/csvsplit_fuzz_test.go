package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"testing"
)

// FuzzCSVSplitter holds the splitter to encoding/csv's reading of the same
// bytes: the same records with the same fields, up to the first record
// either finds wrong. A small read buffer makes records straddle its
// pieces.
func FuzzCSVSplitter(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\r\n\"x\"\"y\",\"multi\r\nline\"\r\n", "a\n\n\n1\n", "a,b\n1,\"2\"x\n3,4\n",
		"a,b\n1,b\"c\n", "\"unterminated\n1,2", "a;b\n1;2\n", "a,b\n1,2\r", "x\r\r\n", ",\n,,\n",
		"a,\"\"\n\"\",\"\"\"\"\n", "é,ü\n\xe9,\x00\n", "a,b\n\\N,\"\\N\"\n\"x\"\"\",\\N\n",
	} {
		f.Add([]byte(s), byte(','), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, comma byte, chunk uint8) {
		if comma == '"' || comma == '\n' || comma == '\r' || comma == 0 || comma >= 0x80 {
			comma = ','
		}
		std := csv.NewReader(bytes.NewReader(data))
		std.Comma = rune(comma)
		std.FieldsPerRecord = -1
		sp := newCSVSplitter(nil, rune(comma), 1<<20)
		// A buffer of 16 to 79 bytes: long lines come in many pieces.
		sp.br = bufio.NewReaderSize(&smallReader{data: data, n: int(chunk%7) + 1}, 16+int(chunk%64))
		for i := 0; ; i++ {
			want, werr := std.Read()
			got, gerr := sp.next()
			if errors.Is(werr, io.EOF) {
				if !errors.Is(gerr, io.EOF) {
					t.Fatalf("record %d: encoding/csv ends, the splitter gives %q, %v", i, got.fields, gerr)
				}
				return
			}
			if werr != nil || gerr != nil || got.bad != nil {
				// Where encoding/csv finds a record wrong the splitter must
				// too (its resynchronisation may differ after that).
				if werr != nil && gerr == nil && got.bad == nil {
					t.Fatalf("record %d: encoding/csv: %v; the splitter accepts %q", i, werr, got.fields)
				}
				if werr == nil && got.bad != nil {
					t.Fatalf("record %d: the splitter: %v; encoding/csv accepts %q", i, got.bad.err, want)
				}
				return
			}
			if len(want) != len(got.fields) {
				t.Fatalf("record %d: %q, want %q", i, got.fields, want)
			}
			for j := range want {
				if want[j] == nullMarker && !quotedAt(data, std, j) {
					want[j] = "" // an unquoted \N is null
				}
				if want[j] != got.fields[j] {
					t.Fatalf("record %d: %q, want %q", i, got.fields, want)
				}
			}
			if line, _ := std.FieldPos(0); int64(line) != got.line {
				t.Fatalf("record %d: line %d, want %d", i, got.line, line)
			}
		}
	})
}

// quotedAt reports whether field j of the record std just read starts
// with a quote in data.
func quotedAt(data []byte, std *csv.Reader, j int) bool {
	line, col := std.FieldPos(j)
	off := 0
	for ; line > 1; line-- {
		off += bytes.IndexByte(data[off:], '\n') + 1
	}
	return data[off+col-1] == '"'
}

// smallReader returns at most n bytes a read.
type smallReader struct {
	data []byte
	n    int
}

func (r *smallReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

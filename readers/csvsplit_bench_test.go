package readers

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// BenchmarkCSVSplit drives the splitter alone over one in-memory file per
// path: the one-copy path (splitLine), the general path (feed, through
// noFast), a file whose quoted fields hold "" and line ends (feed, since
// splitLine declines them), and the backslash dialect (feedDialect).
func BenchmarkCSVSplit(b *testing.B) {
	const rows = 20_000
	var plain, quoted, escaped bytes.Buffer
	for i := range rows {
		fmt.Fprintf(&plain, "%d,user%d@example.com,+4477009%05d,Name,gold,%d.5,ORD-%d,\"Some product, with a comma\",EUR,%d.99,\\N,2026-01-02T03:04:05Z\n",
			10000000000000000+i/3, i/3, i%100000, i%5000, i, i%300)
		fmt.Fprintf(&quoted, "%d,\"say \"\"hi\"\"\",\"two\nlines\",ORD-%d,\"a, b\",%d.99\n", i, i, i%300)
		fmt.Fprintf(&escaped, "%d\tuser%d@example.com\ttab\\there\t\\N\tORD-%d\tline\\\nend\t%d.99\n", i, i/3, i, i%300)
	}
	cases := []struct {
		name    string
		data    []byte
		noFast  bool
		dialect *csvDialect
		comma   rune
	}{
		{"fast", plain.Bytes(), false, nil, ','},
		{"general", plain.Bytes(), true, nil, ','},
		{"quoted", quoted.Bytes(), false, nil, ','},
		{"dialect", escaped.Bytes(), false, &csvDialect{escape: '\\'}, '\t'},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				sp := newCSVSplitter(bytes.NewReader(c.data), c.comma, 0)
				sp.noFast, sp.dialect = c.noFast, c.dialect
				n := 0
				for {
					if _, err := sp.next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					n++
				}
				if n != rows {
					b.Fatalf("%d records, want %d", n, rows)
				}
			}
		})
	}
}

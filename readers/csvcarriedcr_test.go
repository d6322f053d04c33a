package readers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A '\r' that ends a piece of a long line waits for the next piece to say
// whether it is data or half a "\r\n". When the record is returned before
// that (stopOver: over max bytes), the '\r' starts the next record, which
// takes the offset and line of that '\r', in the dialect path as in the
// default one. The dialect with '"' quotes and no escapes reads as the
// default dialect does (the inputs have no quotes: the tail of a record
// cut short can start a quoted field, or hold a bare quote, where they
// differ); read buffers of 16 to 23 bytes put a '\r' at the end of a
// piece in every place of the inputs.
func TestCSVDialectCarriedCRMatchesDefault(t *testing.T) {
	inputs := []string{
		"a,b,c,d,e,f,g,h\r\nx,y\r\n1,2\r\n",
		"abcdefghijklmno\rp,q\r\n1,2\r\n",
		"abcdefghijklmnop\r\r\n\r\n1,2\r\n\r\r\n",
		"a,bcdefghijklmnopqrstu\r\r\nv,w\r\n\r\r\n",
		"header,with,fields\r\n" + strings.Repeat("long,line,", 3) + "\r\n1,2,3\r",
	}
	for _, in := range inputs {
		for _, max := range []int{8, 12, 1 << 20} {
			for size := 16; size < 24; size++ {
				for _, stopOver := range []bool{false, true} {
					t.Run(fmt.Sprintf("%q/max%d/buf%d/stop%v", in, max, size, stopOver), func(t *testing.T) {
						compareDialectSplit(t, []byte(in), max, size, stopOver)
					})
				}
			}
		}
	}
}

// compareDialectSplit reads data with the default dialect's general path
// and with nextDialect, and fails on the first difference (sameRecords).
func compareDialectSplit(t *testing.T, data []byte, max, size int, stopOver bool) {
	t.Helper()
	open := func(d *csvDialect) *csvSplitter {
		sp := newCSVSplitter(nil, ',', max)
		sp.br = bufio.NewReaderSize(&smallReader{data: data, n: 5}, size)
		sp.stopOver, sp.noFast, sp.dialect = stopOver, true, d
		return sp
	}
	sameRecords(t, open(nil), open(&csvDialect{quote: '"'}))
}

// Through Open, a '\r' that ends a piece of a line longer than the read
// buffer (data, or half of the line's "\r\n") leaves every record's cells,
// line, offset and over-max message as the default dialect reads them, in
// the quote and escape dialects too, and resuming at any row reads the
// same rest.
func TestCSVDialectCRAtPieceEnd(t *testing.T) {
	long := strings.Repeat("k", csvSplitReadSize-3)
	data := "a,b\r\n1,2\r\n3," + long + "\ry\r\n4," + long + "\r\n5,6\r\n"
	p := writeFile(t, "crpieces.csv", []byte(data))
	for _, max := range []int{1000, 4 * csvSplitReadSize} {
		var want [][]string
		var wantPos []Position
		var wantErrs []string
		for i, opts := range []Options{{}, {Quote: '\''}, {Escape: '\\'}, {Quote: NoQuote}} {
			opts.MaxRecordBytes = max
			t.Run(fmt.Sprintf("max%d/dialect%d", max, i), func(t *testing.T) {
				r, err := Open(context.Background(), p, opts)
				require.NoError(t, err)
				rows, pos, perrs := readAll(t, r)
				r.Close()
				var errs []string
				for _, pe := range perrs {
					errs = append(errs, pe.Error())
				}
				if want == nil {
					// The default dialect: what each record is.
					if max == 1000 {
						require.Equal(t, [][]string{{"1", "2"}, {"5", "6"}}, rows)
						require.Equal(t, []string{
							fmt.Sprintf("%s row 2 (line 3): the record is %d bytes, longer than source.csv.max_record_bytes (1000); it was read past, not kept", p, len("3,"+long+"\ry\r\n")),
							fmt.Sprintf("%s row 3 (line 4): the record is %d bytes, longer than source.csv.max_record_bytes (1000); it was read past, not kept", p, len("4,"+long+"\r\n")),
						}, errs)
					} else {
						require.Equal(t, [][]string{{"1", "2"}, {"3", long + "\ry"}, {"4", long}, {"5", "6"}}, rows)
						require.Empty(t, errs)
					}
					require.Equal(t, int64(strings.Index(data, "5,6")), pos[len(pos)-1].Offset)
					require.Equal(t, int64(5), pos[len(pos)-1].Line)
					want, wantPos, wantErrs = rows, pos, errs
				}
				require.Equal(t, want, rows)
				require.Equal(t, wantPos, pos)
				require.Equal(t, wantErrs, errs)
				resumesAtEveryRow(t, p, opts, rows, pos)
			})
		}
	}
}

// With backslash escapes, a '\r' before a line's '\n' is data only after
// an odd run of backslashes: `x\\` then "\r\n" is the value x\ and the
// line's end, `x\` then "\r\n" the value "x\r" (the escaped '\r'). Read
// buffers of 16 to 40 bytes cut the run and the '\r' apart in every place
// and read the same records, at the same offsets.
func TestCSVEscapedCRBeforeLineEnd(t *testing.T) {
	const pad = "0123456789abcdef\t" // lines longer than the smallest buffer
	for _, tc := range []struct {
		data string
		want [][]string
	}{
		{pad + "C:\\\\dir\\\\\r\n2\t3\r\n", [][]string{{pad[:16], `C:\dir\`}, {"2", "3"}}},
		{pad + "x\\\\\\\\\r\n2\t3\r\n", [][]string{{pad[:16], `x\\`}, {"2", "3"}}},
		{pad + "x\\\r\n2\t3\r\n", [][]string{{pad[:16], "x\r"}, {"2", "3"}}},
		{pad + "x\\\\\\\r\n2\t3\r\n", [][]string{{pad[:16], "x\\\r"}, {"2", "3"}}},
		{pad + "\\\\\r\n\\\\\\\\\r\n", [][]string{{pad[:16], `\`}, {`\\`}}},
		{pad + "x\\\\\r\r\n2\t3", [][]string{{pad[:16], "x\\\r"}, {"2", "3"}}},
		{pad + "x\\\\\r", [][]string{{pad[:16], `x\`}}},
	} {
		for size := 16; size <= 40; size++ {
			t.Run(fmt.Sprintf("%q/buf%d", tc.data, size), func(t *testing.T) {
				sp := newCSVSplitter(nil, '\t', 1<<20)
				sp.br = bufio.NewReaderSize(&smallReader{data: []byte(tc.data), n: 3}, size)
				sp.dialect = &csvDialect{escape: '\\'}
				var got [][]string
				var offs []int64
				for {
					rec, err := sp.next()
					if err != nil {
						require.ErrorIs(t, err, io.EOF)
						break
					}
					require.Nil(t, rec.bad)
					got, offs = append(got, rec.fields), append(offs, rec.off)
				}
				require.Equal(t, tc.want, got)
				require.Equal(t, int64(0), offs[0])
				if len(offs) > 1 {
					require.Equal(t, int64(strings.IndexByte(tc.data, '\n')+1), offs[1], "the second record's offset")
				}
			})
		}
	}
}

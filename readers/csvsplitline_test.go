package readers

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// splitCase is one way of reading an input with the splitter.
type splitCase struct {
	data      []byte
	comma     rune
	max       int // max record bytes
	maxFields int
	stopOver  bool
	readSize  int // the read buffer; 0 for the default
	chunk     int // bytes a read of the input, 0 for all
}

// compareSplitLine reads tc with splitLine on and off and fails on the first
// difference in anything the CSV reader uses: fields, field count, where
// the record and its fields start, the problem found, the text check
// (which names a bad byte's field and offset), and the lines and bytes
// consumed.
func compareSplitLine(t *testing.T, tc splitCase) {
	t.Helper()
	open := func(noFast bool) *csvSplitter {
		sp := newCSVSplitter(nil, tc.comma, tc.max)
		var r io.Reader = bytes.NewReader(tc.data)
		if tc.chunk > 0 {
			r = &smallReader{data: tc.data, n: tc.chunk}
		}
		size := tc.readSize
		if size == 0 {
			size = csvSplitReadSize
		}
		sp.br = bufio.NewReaderSize(r, size)
		sp.maxFields, sp.stopOver, sp.noFast = tc.maxFields, tc.stopOver, noFast
		return sp
	}
	sameRecords(t, open(true), open(false))
}

// sameRecords reads slow and fast to the end and fails on the first
// difference in a record or in what the splitters consumed.
func sameRecords(t *testing.T, slow, fast *csvSplitter) {
	t.Helper()
	for i := 0; ; i++ {
		want, werr := slow.next()
		got, gerr := fast.next()
		if werr != nil || gerr != nil {
			require.Equal(t, fmt.Sprint(werr), fmt.Sprint(gerr), "record %d: error", i)
			return
		}
		require.Equal(t, want.fields, got.fields, "record %d: fields", i)
		require.Equal(t, want.nfields, got.nfields, "record %d: field count", i)
		require.Equal(t, []int64{want.off, want.line}, []int64{got.off, got.line}, "record %d: offset and line", i)
		require.Equal(t, describeBad(want.bad), describeBad(got.bad), "record %d: problem", i)
		require.Equal(t, []int64{slow.off, slow.line}, []int64{fast.off, fast.line}, "record %d: bytes and lines consumed", i)
		if want.bad != nil {
			continue
		}
		require.Equal(t, slow.starts, fast.starts, "record %d: field starts", i)
		wf, woff, wb, wok := slow.checkText(&want)
		gf, goff, gb, gok := fast.checkText(&got)
		require.Equal(t, fmt.Sprint(wf, woff, wb, wok), fmt.Sprint(gf, goff, gb, gok), "record %d: text check", i)
	}
}

func describeBad(p *csvProblem) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s line %d col %d: %v", p.rule, p.line, p.col, p.err)
}

// The lines splitLine cuts, and those it leaves to feed, come out as feed
// alone cuts them: quotes in and out of place, "" and quoted line ends,
// \r\n, empty fields, bad bytes in any field, more fields than kept, lines
// longer than the read buffer or max_record_bytes, multi-byte delimiters.
func TestCSVSplitLineMatchesFeed(t *testing.T) {
	inputs := []string{
		"a,b,c\n1,2,3\n",
		"a,b,c\r\n1,2,3\r\n4,5,6",
		"a,b,c\n1,2,x\xffy\n1,2,\x00\n\xe9,2,3\n1,\"q\xe9\",3\n\"q\",2,x\x00\n",
		"a,b,c\n1,2,x\xe2\x82\n1,\xe2\x82\xac,3\n",
		"a,b\n,\n,,\n\"\",\"\"\n\"\",\n,\"\"\n",
		"a,b\n1,\"2\"x\n3,4\n5,b\"c\n\"x\"\"y\",2\n\"multi\nline\",z\n",
		"a,b\n\"open\n",
		"a,b\n1,\"x\"\r\n2,\"y\"\r",
		"a,b\n\n\r\n1,2\n\n",
		"x\r\r\n\r,\r\n1\r2,3\n",
		"a,b\n1,2,3,4,5,6,7,8,9,10\n1,2,3\n\"a\",\"b\",\"c\",\"d\"\n",
		"a,b\n" + strings.Repeat("x", 100) + ",y\n1,2\n",
		"a,b\n1,\"" + strings.Repeat("q", 100) + "\"\n1,2\n",
		"a,b\n1,2\n" + strings.Repeat("z,", 60) + "\n3,4\n",
		"a,b\n\"a\"\"\",b\n\"\"\"\",\"\"\n",
		"a,b\n\xc8,\xb0\n\"\xe2\x82\",\xac\n", // bad halves that join into a rune
	}
	for _, in := range inputs {
		for _, comma := range []rune{',', ';', '€', '\t'} {
			data := []byte(in)
			if comma != ',' {
				data = bytes.ReplaceAll(data, []byte{','}, []byte(string(comma)))
			}
			for _, tc := range []splitCase{
				{data: data, comma: comma, max: 1 << 20},
				{data: data, comma: comma, max: 1 << 20, maxFields: 2},
				{data: data, comma: comma, max: 1 << 20, maxFields: 3},
				{data: data, comma: comma, max: 40},
				{data: data, comma: comma, max: 40, stopOver: true},
				{data: data, comma: comma, max: 1 << 20, readSize: 16, chunk: 3},
				{data: data, comma: comma, max: 50, maxFields: 1, readSize: 32, chunk: 7},
			} {
				t.Run(fmt.Sprintf("%q/%q/max%d/fields%d/buf%d", in, comma, tc.max, tc.maxFields, tc.readSize), func(t *testing.T) {
					compareSplitLine(t, tc)
				})
			}
		}
	}
}

// FuzzCSVSplitLine holds the splitter with splitLine to the splitter
// without it, over any input, delimiter, bounds and read sizes.
func FuzzCSVSplitLine(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\r\n\"x\"\"y\",\"multi\r\nline\"\r\n", "a\n\n\n1\n", "a,b\n1,\"2\"x\n3,4\n",
		"a,b\n1,b\"c\n", "\"unterminated\n1,2", "a;b\n1;2\n", "a,b\n1,2\r", "x\r\r\n", ",\n,,\n",
		"a,\"\"\n\"\",\"\"\"\"\n", "é,ü\n\xe9,\x00\n", "a,b,c\n1,2,x\xffy\n\"q\",2,\x00\n",
	} {
		f.Add([]byte(s), byte(','), uint8(0), uint8(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, comma byte, maxFields, max, chunk uint8) {
		r := rune(comma)
		switch {
		case comma == '"' || comma == '\n' || comma == '\r' || comma == 0:
			r = ','
		case comma >= 0x80:
			r = '€'
		}
		// A 4 KiB read buffer holds the lines fuzzing makes, and costs
		// less than the default a run.
		tc := splitCase{data: data, comma: r, max: 1 << 20, maxFields: int(maxFields % 6), readSize: 4 << 10}
		if max%4 != 0 {
			tc.max = int(max) // small: records over it
			tc.stopOver = max%4 == 1
		}
		if chunk%2 == 1 {
			// A buffer of 16 to 79 bytes: long lines come in many pieces.
			tc.readSize, tc.chunk = 16+int(chunk%64), int(chunk%7)+1
		}
		compareSplitLine(t, tc)
	})
}

// A line with no quote at all, cut by splitLine, names a bad byte by its
// column and offset in the file as any other line does.
func TestCSVBadByteInPlainLine(t *testing.T) {
	data := "a,b,c\r\n1,2,x\xffy\r\n1,2,ok\r\n1,\"q\",z\x00\r\n\"\",,\xe2\x82\r\n1,2,3,4\r\n"
	p := writeFile(t, "plain.csv", []byte(data))
	r, err := Open(context.Background(), p, Options{})
	require.NoError(t, err)
	defer r.Close()
	rows, _, perrs := readAll(t, r)
	assert.Equal(t, [][]string{{"1", "2", "ok"}}, rows)
	require.Len(t, perrs, 4)
	assert.Equal(t, []string{"csv.encoding", "csv.encoding", "csv.encoding", "csv.fields"}, []string{perrs[0].Rule, perrs[1].Rule, perrs[2].Rule, perrs[3].Rule})
	assert.Equal(t, []string{"c", "c", "c"}, []string{perrs[0].Column, perrs[1].Column, perrs[2].Column})
	assert.Equal(t, []int64{2, 4, 5}, []int64{perrs[0].Line, perrs[1].Line, perrs[2].Line})
	assert.Equal(t, fmt.Sprintf("byte 0xFF at byte %d is not UTF-8; if the file is in another encoding, set source.csv.encoding (e.g. windows-1252)", strings.IndexByte(data, 0xff)), perrs[0].Err.Error())
	assert.Equal(t, fmt.Sprintf("a NUL byte at byte %d", strings.IndexByte(data, 0)), perrs[1].Err.Error())
	assert.Contains(t, perrs[2].Err.Error(), fmt.Sprintf("byte 0xE2 at byte %d ", strings.Index(data, "\xe2\x82")))
	assert.Equal(t, "4 fields, the header has 3", perrs[3].Err.Error())
}

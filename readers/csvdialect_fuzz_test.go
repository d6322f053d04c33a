package readers

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// dialectWriters write records as PostgreSQL's text format, MariaDB's
// INTO OUTFILE and its OPTIONALLY ENCLOSED BY '"' form write them (a nil
// field is NULL); each with the options that read it back.
var dialectWriters = []struct {
	name  string
	opts  Options
	field func(f *string) string
}{
	{"postgres text", Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\'}, func(f *string) string {
		if f == nil {
			return `\N`
		}
		return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(*f)
	}},
	// MariaDB escapes a tab or line end inside a value as a backslash and
	// the raw character, NUL as \0. (It leaves a '\r' raw; one ending the
	// last value of a line would read as a "\r\n" line end, so it is
	// written \r here.)
	{"mariadb outfile", Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\'}, func(f *string) string {
		if f == nil {
			return `\N`
		}
		return strings.NewReplacer(`\`, `\\`, "\t", "\\\t", "\n", "\\\n", "\x00", `\0`, "\r", `\r`).Replace(*f)
	}},
	{"mariadb enclosed", Options{Delimiter: ',', Escape: '\\'}, func(f *string) string {
		if f == nil {
			return `\N`
		}
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", "\\\n", "\x00", `\0`, "\r", `\r`).Replace(*f) + `"`
	}},
}

// FuzzCSVDialectRoundTrip writes records as each dialect's writer does
// and reads them back: the same fields (NULL as the empty text), through
// a small read buffer that cuts lines into many pieces; lines end in "\r\n"
// when chunk's top bit is set.
func FuzzCSVDialectRoundTrip(f *testing.F) {
	f.Add([]byte("a\xfdb\\c\xfe\xfc\xfdtab\there\xfenew\nline\xfd\"q\"\xfe\\N\xfd"), uint8(3), uint8(7))
	f.Add([]byte("x\r\xfdy\x00z\xfe\xfd\xfe"), uint8(2), uint8(1))
	f.Add([]byte("C:\\dir\\\xfdx\\\xfe\\"), uint8(0), uint8(0x80))
	f.Fuzz(func(t *testing.T, data []byte, ncols, chunk uint8) {
		cols := int(ncols%4) + 2
		var recs [][]*string
		for _, line := range bytes.Split(data, []byte{0xfe}) {
			rec := make([]*string, cols)
			for i, fld := range bytes.Split(line, []byte{0xfd}) {
				if i == cols {
					break
				}
				if !bytes.Equal(fld, []byte{0xfc}) {
					s := string(fld)
					rec[i] = &s
				}
			}
			recs = append(recs, rec)
		}
		names := make([]string, cols)
		for i := range names {
			names[i] = string(rune('a' + i))
		}
		for _, w := range dialectWriters {
			var b strings.Builder
			for _, rec := range recs {
				for i, fld := range rec {
					if i > 0 {
						b.WriteRune(w.opts.Delimiter)
					}
					b.WriteString(w.field(fld))
				}
				if chunk&0x80 != 0 {
					b.WriteByte('\r')
				}
				b.WriteByte('\n')
			}
			sp := newCSVSplitter(nil, w.opts.Delimiter, 1<<20)
			sp.br = bufio.NewReaderSize(&smallReader{data: []byte(b.String()), n: int(chunk%7) + 1}, 16+int(chunk%64))
			sp.dialect = &csvDialect{escape: '\\'}
			if w.opts.Quote != NoQuote {
				sp.dialect.quote = '"'
			}
			for i, rec := range recs {
				got, err := sp.next()
				if err != nil || got.bad != nil {
					t.Fatalf("%s record %d: %v %v\n%q", w.name, i, err, got.bad, b.String())
				}
				want := make([]string, cols)
				for k, fld := range rec {
					if fld != nil {
						want[k] = *fld
					}
				}
				if strings.Join(got.fields, "\xff") != strings.Join(want, "\xff") {
					t.Fatalf("%s record %d: %q, want %q\n%q", w.name, i, got.fields, want, b.String())
				}
			}
			if _, err := sp.next(); !errors.Is(err, io.EOF) {
				t.Fatalf("%s: more records than written", w.name)
			}
		}
	})
}

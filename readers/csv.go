package readers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvReader reads a CSV input, plain or compressed (see decompress), in
// UTF-8 or the encoding Options.Encoding names, in the text dialect the
// Options give, with a header row or the columns Options.Names.
type csvReader struct {
	src     source
	opts    Options
	enc     encoding.Encoding // nil: UTF-8, read as is
	rc      io.ReadCloser
	sp      *csvSplitter
	columns []string
	codec   string // the compression read through ("gzip", "zstd", ...), "" for none

	base     int64 // byte offset in the file where sp started reading
	lineBase int64 // lines before where sp started reading
	index    int64 // index of the next record
	done     bool
	err      error // sticky: a read error ends the input
}

var _ Reader = (*csvReader)(nil)

// LookupEncoding returns the text encoding name stands for (IANA names:
// utf-8, utf-16, utf-16le, utf-16be, windows-1252, iso-8859-1, ...); nil
// for UTF-8, which is read as is. utf-16 follows the file's byte order
// mark, little-endian without one.
func LookupEncoding(name string) (encoding.Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "utf-8", "utf8":
		return nil, nil
	case "utf-16", "utf16":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), nil
	}
	e, err := ianaindex.IANA.Encoding(name)
	if err != nil || e == nil {
		return nil, fmt.Errorf("unknown text encoding %q (try utf-8, utf-16, windows-1252, iso-8859-1)", name)
	}
	return e, nil
}

// newCSVReader reads the header of src and positions the reader at the first
// data row, or at opts.Start.
func newCSVReader(ctx context.Context, src source, opts Options) (*csvReader, error) {
	enc, err := LookupEncoding(opts.Encoding)
	if err != nil {
		return nil, err
	}
	c := &csvReader{src: src, opts: opts, enc: enc}
	if err := c.openAt(ctx, 0, 0); err != nil {
		return nil, err
	}
	if opts.NoHeader {
		c.columns = opts.Names
		c.sp.maxFields = len(c.columns) + 8
		return c.resume(ctx)
	}
	c.sp.stopOver = true
	rec, err := c.sp.next()
	c.sp.stopOver = false
	if errors.Is(err, io.EOF) {
		c.Close()
		return nil, &ParseError{File: src.Name(), Line: 1, Err: errors.New("no header row: the file is empty")}
	}
	if err != nil {
		c.Close()
		if c.codec != "" { // say what broke: the compressed stream
			return nil, c.fatal(err)
		}
		return nil, fmt.Errorf("%s: header: %w", src.Name(), err)
	}
	if rec.bad != nil {
		c.Close()
		return nil, &ParseError{File: src.Name(), Line: rec.bad.line, Rule: rec.bad.rule, Err: fmt.Errorf("header: %w", rec.bad.describe())}
	}
	if _, off, b, ok := c.sp.checkText(&rec); !ok {
		c.Close()
		msg := fmt.Sprintf("the header has a byte 0x%02X at byte %d that is not UTF-8 text", b, c.base+off)
		if b == 0 {
			msg = fmt.Sprintf("the header has a NUL byte at byte %d; if the file is UTF-16 without a byte order mark, set source.csv.encoding: utf-16", c.base+off)
		} else if c.enc == nil {
			msg += "; set source.csv.encoding to the file's encoding (e.g. windows-1252)"
		}
		return nil, &ParseError{File: src.Name(), Line: 1, Rule: "csv.encoding", Err: errors.New(msg)}
	}
	// The header is kept for the whole read (and by the caller, for
	// rejects), so it gets its own memory rather than pin the splitter's
	// first blocks.
	header := make([]string, len(rec.fields))
	for i, h := range rec.fields {
		header[i] = strings.Clone(strings.TrimSpace(h))
	}
	c.columns = header
	c.sp.maxFields = len(header) + 8
	return c.resume(ctx)
}

// resume moves to Options.Start, if set, and returns c; on failure c is
// closed.
func (c *csvReader) resume(ctx context.Context) (*csvReader, error) {
	if c.opts.Start == nil || c.opts.Start.Index == 0 {
		return c, nil
	}
	if err := c.seek(ctx, *c.opts.Start); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// openAt (re)starts parsing at byte offset off of the file, which is the
// start of line line+1.
func (c *csvReader) openAt(ctx context.Context, off, line int64) error {
	if c.rc != nil {
		c.rc.Close()
	}
	rc, err := c.src.OpenAt(ctx, off)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.src.Name(), err)
	}
	// Buffers fit a small file: a job of many small files would otherwise
	// clear 320 KiB of buffers for each (the size is the file's at open; a
	// file that grew since is read all the same, in more pieces).
	bufSize, splitSize := 64<<10, csvSplitReadSize
	if n := c.src.Identity().Size - off; n >= 0 && n < int64(bufSize) {
		bufSize = max(int(n)+1, 512)
		splitSize = bufSize
	}
	br := bufio.NewReaderSize(rc, bufSize)
	var in io.Reader = br
	if off == 0 {
		codec, zr, zc, err := decompress(ctx, c.src, br)
		if err != nil {
			rc.Close()
			return err
		}
		if codec != "" {
			c.codec = codec
			in = bufio.NewReaderSize(zr, 64<<10)
			splitSize = csvSplitReadSize // the text is larger than the file
			closers := []io.Closer{rc}
			if zc != nil {
				closers = []io.Closer{zc, rc}
			}
			rc = multiCloser{Reader: in, closers: closers}
		}
		head := in.(*bufio.Reader)
		if c.enc == nil {
			if bom, _ := head.Peek(2); len(bom) == 2 && (bom[0] == 0xFF && bom[1] == 0xFE || bom[0] == 0xFE && bom[1] == 0xFF) {
				rc.Close()
				return &ParseError{File: c.src.Name(), Line: 1, Rule: "csv.encoding", Err: errors.New("this file is UTF-16; set source.csv.encoding: utf-16")}
			}
		}
		if c.enc != nil {
			in = bufio.NewReaderSize(transform.NewReader(in, c.enc.NewDecoder()), 64<<10)
			splitSize = csvSplitReadSize
		}
		if bom, _ := in.(*bufio.Reader).Peek(3); bytes.Equal(bom, utf8BOM) {
			in.(*bufio.Reader).Discard(3)
			off = 3
		}
	}
	c.rc = rc
	c.base, c.lineBase = off, line
	c.sp = newCSVSplitterSize(in, c.opts.Delimiter, c.opts.MaxRecordBytes, splitSize)
	c.sp.textN = c.opts.TextNullMarker
	if q, e := c.opts.Quote, c.opts.Escape; q != 0 && q != '"' || e != 0 {
		c.sp.dialect = &csvDialect{escape: byte(e)}
		switch q {
		case 0:
			c.sp.dialect.quote = '"'
		case NoQuote:
		default:
			c.sp.dialect.quote = byte(q)
		}
	}
	if c.columns != nil {
		c.sp.maxFields = len(c.columns) + 8
	}
	return nil
}

// seekable reports whether a byte offset can be resumed from: plain files
// in UTF-8, where offsets in the text are offsets in the file.
func (c *csvReader) seekable() bool { return c.codec == "" && c.enc == nil }

// seek moves to a resume position: a byte seek for plain CSV, re-reading and
// skipping rows for compressed inputs and other encodings than UTF-8.
func (c *csvReader) seek(ctx context.Context, p Position) error {
	if c.seekable() && p.Offset > 0 {
		line := p.Line - 1
		if line < 0 {
			line = 0
		}
		if err := c.openAt(ctx, p.Offset, line); err != nil {
			return err
		}
		c.index = p.Index
		return nil
	}
	for c.index < p.Index {
		if _, err := c.Next(ctx); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				continue
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("%s: resume at row %d beyond the end (%d rows): %w", c.src.Name(), p.Row(), c.index, ErrChanged)
			}
			return err
		}
	}
	return nil
}

func (c *csvReader) Columns() []string  { return c.columns }
func (c *csvReader) Identity() Identity { return c.src.Identity() }

func (c *csvReader) Pos() Position {
	off := int64(-1)
	if c.seekable() {
		off = c.base + c.sp.off
	}
	return Position{File: c.src.Name(), Index: c.index, Line: c.lineBase + c.sp.line + 1, Offset: off}
}

// Next returns the next data row. A row that cannot be parsed (wrong number
// of fields, a bare quote, longer than Options.MaxRecordBytes, text that is
// not valid UTF-8 or holds a NUL byte) comes back as a *ParseError naming
// file, row, line and the rule, with the Record holding whatever cells were
// read; reading goes on after it. Any other error (the gzip stream or the
// connection broke, the object was replaced) ends the input: it is
// returned again by every later call.
func (c *csvReader) Next(ctx context.Context) (Record, error) {
	if c.err != nil {
		return Record{}, c.err
	}
	if c.done {
		return Record{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	rec, err := c.sp.next()
	if errors.Is(err, io.EOF) {
		c.done = true
		return Record{}, io.EOF
	}
	if err != nil {
		c.err = c.fatal(err)
		return Record{}, c.err
	}
	pos := Position{File: c.src.Name(), Index: c.index, Line: c.lineBase + rec.line, Offset: -1}
	if c.seekable() {
		pos.Offset = c.base + rec.off
	}
	c.index++
	out := Record{Pos: pos, Text: rec.fields}
	if rec.bad != nil {
		pe := &ParseError{File: pos.File, Row: pos.Row(), Line: c.lineBase + rec.bad.line, Rule: rec.bad.rule, Err: rec.bad.describe()}
		return out, pe
	}
	if rec.nfields != len(c.columns) {
		has := "the header has"
		if c.opts.NoHeader {
			has = "source.csv.columns lists"
		}
		return out, &ParseError{File: pos.File, Row: pos.Row(), Line: pos.Line, Rule: "csv.fields",
			Err: fmt.Errorf("%d fields, %s %d", rec.nfields, has, len(c.columns))}
	}
	if i, off, b, ok := c.sp.checkText(&rec); !ok {
		pe := &ParseError{File: pos.File, Row: pos.Row(), Line: pos.Line, Rule: "csv.encoding", Column: c.columns[i]}
		switch {
		case b == 0:
			pe.Err = fmt.Errorf("a NUL byte at byte %d", c.base+off)
		case c.enc == nil:
			pe.Err = fmt.Errorf("byte 0x%02X at byte %d is not UTF-8; if the file is in another encoding, set source.csv.encoding (e.g. windows-1252)", b, c.base+off)
		default:
			pe.Err = fmt.Errorf("byte 0x%02X at byte %d of the decoded text is not UTF-8", b, c.base+off)
		}
		return out, pe
	}
	return out, nil
}

// fatal describes a read error that ends the input: where, in the file's
// bytes or the decompressed ones, and why.
func (c *csvReader) fatal(err error) error {
	var where string
	var ce *ChangedError
	switch {
	case errors.As(err, &ce) && c.codec != "":
		where = fmt.Sprintf("after row %d (line %d), byte %d of the decompressed text", c.index, c.lineBase+c.sp.line, c.sp.off)
	case c.codec != "" && errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("the %s stream ends early: the file is truncated", c.codec)
		where = fmt.Sprintf("after row %d (line %d), byte %d of the decompressed text", c.index, c.lineBase+c.sp.line, c.sp.off)
	case c.codec != "":
		where = fmt.Sprintf("after row %d (line %d), byte %d of the decompressed text", c.index, c.lineBase+c.sp.line, c.sp.off)
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, zip.ErrChecksum) {
			err = fmt.Errorf("%s: the data does not match its checksum: the file is corrupt", c.codec)
		} else if !strings.HasPrefix(err.Error(), c.codec) {
			err = fmt.Errorf("%s: %w", c.codec, err)
		}
	default:
		where = fmt.Sprintf("after row %d (line %d), byte %d", c.index, c.lineBase+c.sp.line, c.base+c.sp.off)
	}
	return &ReadError{File: c.src.Name(), Where: where, Err: err}
}

func (p *csvProblem) describe() error {
	if p.col > 0 {
		return fmt.Errorf("byte %d of the line: %w", p.col, p.err)
	}
	return p.err
}

func (c *csvReader) Close() error {
	if c.rc == nil {
		return c.src.Close()
	}
	err := c.rc.Close()
	c.rc = nil
	if cerr := c.src.Close(); err == nil {
		err = cerr
	}
	return err
}

type multiCloser struct {
	io.Reader
	closers []io.Closer
}

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

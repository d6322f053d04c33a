package readers

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvReader reads a CSV input, plain or gzip'd, with a header row.
type csvReader struct {
	src     source
	opts    Options
	rc      io.ReadCloser
	r       *csv.Reader
	columns []string
	gz      bool

	base     int64 // byte offset in the file where r started reading
	index    int64 // index of the next record
	nextLine int64 // line of the next record
	done     bool
}

var _ Reader = (*csvReader)(nil)

// newCSVReader reads the header of src and positions the reader at the first
// data row, or at opts.Start.
func newCSVReader(ctx context.Context, src source, opts Options) (*csvReader, error) {
	c := &csvReader{src: src, opts: opts}
	if err := c.openAt(ctx, 0); err != nil {
		return nil, err
	}
	header, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		c.Close()
		return nil, &ParseError{File: src.Name(), Line: 1, Err: errors.New("no header row: the file is empty")}
	}
	if err != nil {
		c.Close()
		return nil, c.parseError(err)
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
	}
	c.columns = header
	c.r.FieldsPerRecord = len(header)
	c.index, c.nextLine = 0, c.lineAfterLast(header)
	if opts.Start == nil || opts.Start.Index == 0 {
		return c, nil
	}
	if err := c.seek(ctx, *opts.Start); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// openAt (re)starts parsing at byte offset off of the (decompressed) file.
func (c *csvReader) openAt(ctx context.Context, off int64) error {
	if c.rc != nil {
		c.rc.Close()
	}
	rc, err := c.src.OpenAt(ctx, off)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.src.Name(), err)
	}
	br := bufio.NewReaderSize(rc, 256<<10)
	var in io.Reader = br
	if off == 0 {
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				rc.Close()
				return &ParseError{File: c.src.Name(), Err: fmt.Errorf("gzip: %w", err)}
			}
			c.gz = true
			in = bufio.NewReaderSize(zr, 256<<10)
			rc = multiCloser{Reader: in, closers: []io.Closer{zr, rc}}
		}
		if bom, _ := in.(*bufio.Reader).Peek(3); bytes.Equal(bom, utf8BOM) {
			in.(*bufio.Reader).Discard(3)
			off = 3
		}
	}
	c.rc = rc
	c.base = off
	c.r = csv.NewReader(in)
	if c.opts.Delimiter != 0 {
		c.r.Comma = c.opts.Delimiter
	}
	if c.columns != nil {
		c.r.FieldsPerRecord = len(c.columns)
	}
	return nil
}

// seek moves to a resume position: a byte seek for plain CSV, re-reading and
// skipping rows for gzip.
func (c *csvReader) seek(ctx context.Context, p Position) error {
	if !c.gz && p.Offset > 0 {
		if err := c.openAt(ctx, p.Offset); err != nil {
			return err
		}
		c.index, c.nextLine = p.Index, p.Line
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
	if !c.gz {
		off = c.base + c.r.InputOffset()
	}
	return Position{File: c.src.Name(), Index: c.index, Line: c.nextLine, Offset: off}
}

// Next returns the next data row. A row that cannot be parsed (wrong number
// of fields, a bare quote) comes back as a *ParseError naming file, row and
// line, with the Record holding whatever cells were read; reading can go on
// after it.
func (c *csvReader) Next(ctx context.Context) (Record, error) {
	if c.done {
		return Record{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	pos := c.Pos()
	fields, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		c.done = true
		return Record{}, io.EOF
	}
	if len(fields) > 0 {
		if line, _ := c.r.FieldPos(0); line > 0 {
			pos.Line = c.lineBase() + int64(line)
		}
	}
	c.index++
	c.nextLine = c.lineAfterLast(fields)
	rec := Record{Pos: pos, Text: fields}
	if err != nil {
		var perr *csv.ParseError
		pe := c.parseError(err)
		pe.Row = pos.Row()
		if pe.Line == 0 {
			pe.Line = pos.Line
		}
		if errors.As(err, &perr) && errors.Is(perr.Err, csv.ErrFieldCount) {
			pe.Err = fmt.Errorf("%d fields, the header has %d", len(fields), len(c.columns))
		}
		return rec, pe
	}
	return rec, nil
}

// lineBase converts the csv.Reader's 1-based line numbers, counted from
// where it started, to lines of the file.
func (c *csvReader) lineBase() int64 {
	if c.base <= 3 { // started at the top (after a BOM)
		return 0
	}
	return c.opts.Start.Line - 1
}

// lineAfterLast is the line where the record after fields starts.
func (c *csvReader) lineAfterLast(fields []string) int64 {
	if len(fields) == 0 {
		return c.nextLine + 1
	}
	line, _ := c.r.FieldPos(len(fields) - 1)
	return c.lineBase() + int64(line) + int64(strings.Count(fields[len(fields)-1], "\n")) + 1
}

func (c *csvReader) parseError(err error) *ParseError {
	pe := &ParseError{File: c.src.Name(), Err: err}
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		pe.Line = c.lineBase() + int64(perr.Line)
		if perr.Column > 0 {
			pe.Err = fmt.Errorf("column %d: %w", perr.Column, perr.Err)
		} else {
			pe.Err = perr.Err
		}
	}
	return pe
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

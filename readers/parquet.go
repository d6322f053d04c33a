package readers

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// The Parquet reader is an adapter over github.com/parquet-go/parquet-go:
// the library reads the footer, pages, levels and codecs; this file picks
// the columns, aligns them into rows, and turns the library's values into
// Values of their logical type.
//
// How it reads bytes: the footer with one read of its tail; the wanted
// column chunks of a row group, neighbours merged across gaps of up to
// pqGapBytes, with one read (one GET on S3) each when together they are at
// most pqCoalesceBytes; larger row groups column chunk by column chunk
// through buffers of pqReadBuffer bytes, so memory stays flat whatever
// their size.
const (
	pqFooterTail    = 64 << 10
	pqCoalesceBytes = 4 << 20
	pqGapBytes      = 32 << 10
	pqReadBuffer    = 512 << 10
	pqBatchRows     = 128
	pqSlabRows      = 128
	pqCtxEveryRows  = 1024
	julianUnixEpoch = 2440588 // Julian day number of 1970-01-01
)

// parquetReader reads a Parquet file row group by row group, only the
// columns asked for.
type parquetReader struct {
	src    source
	name   string
	ra     *pqReaderAt
	file   *pq.File
	cols   []*pqColumn // the columns read, in file order
	names  []string
	starts []int64 // starts[g] = index of the first row of row group g; len = groups+1

	group    int   // current row group; len(RowGroups) at the end
	groupRow int64 // next row inside the group
	index    int64 // index of the next record
	rows     pq.Rows
	batch    []pq.Row // rows read from the library, not yet returned
	batchPos int
	errCol   string // the column the library was reading last, for messages

	coalesce int64   // largest row group read in one piece
	slab     []Value // Values handed out in slices, never reused
	err      error   // sticky
	done     bool
}

var _ Reader = (*parquetReader)(nil)

// pqColumn is one leaf column read into the records.
type pqColumn struct {
	name  string
	leaf  int // index of the leaf column in the file
	maxDL int
	maxRL int
	// For repeated columns: entries with a definition level below nullDL are
	// a null list, below listDL an empty list.
	nullDL, listDL int
	conv           func(pq.Value) (Value, error)
}

// newParquetReader reads the footer of src and positions the reader at the
// first row, or at opts.Start. Column names are the dotted paths of the leaf
// columns; a LIST column is named by its list field (e.g. "tags", not
// "tags.list.element") and yields KindList values. With opts.Columns set,
// only those columns are read (and Columns lists only those the file has).
func newParquetReader(ctx context.Context, src source, opts Options) (r Reader, err error) {
	p := &parquetReader{src: src, name: src.Name(), coalesce: pqCoalesceBytes}
	p.ra = &pqReaderAt{src: src, ctx: ctx}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s: corrupt Parquet metadata: %v", p.name, v)
		}
	}()
	if err := p.open(); err != nil {
		return nil, err
	}
	if err := p.buildColumns(opts.Columns); err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	if err := p.checkCodecs(); err != nil {
		return nil, err
	}
	if err := p.start(ctx, opts.Start); err != nil {
		p.closeGroup()
		return nil, err
	}
	return p, nil
}

// open checks the tail of the file, for messages a person can act on, and
// hands the footer to the library.
func (p *parquetReader) open() error {
	size := p.src.Identity().Size
	if size < 12 {
		return fmt.Errorf("%s: not a Parquet file: %d bytes is too short", p.name, size)
	}
	tail := make([]byte, min(size, pqFooterTail))
	if _, err := p.ra.ReadAt(tail, size-int64(len(tail))); err != nil {
		return fmt.Errorf("read %s: footer: %w", p.name, noEOF(err))
	}
	switch string(tail[len(tail)-4:]) {
	case "PAR1":
	case "PARE":
		return fmt.Errorf("%s: encrypted Parquet files are not supported", p.name)
	default:
		return fmt.Errorf("%s: not a Parquet file, or truncated: no PAR1 magic at the end", p.name)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[len(tail)-8:])); n+12 > size {
		return fmt.Errorf("%s: corrupt footer: length %d in a %d-byte file", p.name, n, size)
	}
	p.ra.tail = pqWindow{off: size - int64(len(tail)), data: tail}
	f, err := pq.OpenFile(p.ra, size,
		pq.SkipMagicBytes(true), // the tail was checked above: one read less
		pq.SkipPageIndex(true),  // rows are read in order; a resume skips pages
		pq.SkipBloomFilters(true),
		pq.ReadBufferSize(pqReadBuffer))
	if err != nil {
		return fmt.Errorf("%s: corrupt footer: %w", p.name, noEOF(err))
	}
	p.file = f
	groups := f.Metadata().RowGroups
	p.starts = make([]int64, len(groups)+1)
	for g, rg := range groups {
		if rg.NumRows < 0 {
			return fmt.Errorf("%s: corrupt footer: row group %d has %d rows", p.name, g, rg.NumRows)
		}
		p.starts[g+1] = p.starts[g] + rg.NumRows
	}
	return nil
}

// buildColumns walks the schema for the leaf columns and the levels that
// tell a null list from an empty one.
func (p *parquetReader) buildColumns(want []string) error {
	root := p.file.Root()
	if root == nil || len(root.Columns()) == 0 {
		return errors.New("the schema has no columns")
	}
	var wanted map[string]bool
	if want != nil {
		wanted = map[string]bool{}
		for _, w := range want {
			wanted[w] = true
		}
	}
	seen := map[string]bool{}
	var walk func(c *pq.Column, parents []*pq.Column) error
	walk = func(c *pq.Column, parents []*pq.Column) error {
		if !c.Leaf() {
			for _, child := range c.Columns() {
				if err := walk(child, append(parents, c)); err != nil {
					return err
				}
			}
			return nil
		}
		chain := append(slices.Clone(parents[1:]), c) // without the root
		col := &pqColumn{
			name:  strings.Join(c.Path(), "."),
			leaf:  c.Index(),
			maxDL: c.MaxDefinitionLevel(),
			maxRL: c.MaxRepetitionLevel(),
		}
		if col.maxRL > 0 {
			// The outermost repeated node: its parent being defined means
			// the list exists; the node itself being defined means it has
			// an element.
			at := slices.IndexFunc(chain, (*pq.Column).Repeated)
			rep := chain[at]
			col.listDL = rep.MaxDefinitionLevel()
			if at > 0 {
				lp := chain[at-1]
				col.nullDL = lp.MaxDefinitionLevel()
				if isListGroup(lp) && pqLeaves(lp) == 1 {
					col.name = strings.Join(lp.Path(), ".")
				}
			}
		}
		if seen[col.name] {
			col.name = strings.Join(c.Path(), ".")
		}
		seen[col.name] = true
		if wanted != nil && !wanted[col.name] {
			return nil
		}
		conv, err := pqConverter(c.Type())
		if err != nil {
			return fmt.Errorf("column %s: %w", col.name, err)
		}
		col.conv = conv
		p.cols = append(p.cols, col)
		p.names = append(p.names, col.name)
		return nil
	}
	return walk(root, nil)
}

func isListGroup(c *pq.Column) bool {
	if len(c.Columns()) != 1 {
		return false
	}
	if lt := c.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.ListType); ok {
			return true
		}
	}
	return false
}

func pqLeaves(c *pq.Column) int {
	if c.Leaf() {
		return 1
	}
	n := 0
	for _, child := range c.Columns() {
		n += pqLeaves(child)
	}
	return n
}

// checkCodecs refuses, before any row is read, a column chunk compressed
// with a codec the library cannot read, or with another codec than the
// column's first chunk (the library decompresses a column with the codec of
// its first row group).
func (p *parquetReader) checkCodecs() error {
	groups := p.file.Metadata().RowGroups
	for g, rg := range groups {
		for _, c := range p.cols {
			if c.leaf >= len(rg.Columns) {
				return fmt.Errorf("%s: row group %d, column %s: no column chunk (corrupt footer)", p.name, g, c.name)
			}
			codec := rg.Columns[c.leaf].MetaData.Codec
			if first := groups[0].Columns[c.leaf].MetaData.Codec; codec != first {
				return fmt.Errorf("%s: row group %d, column %s: compressed with %s, row group 0 with %s: mixed codecs in a column are not supported; rewrite the file with one codec", p.name, g, c.name, codec, first)
			}
			switch codec {
			case format.Uncompressed, format.Snappy, format.Gzip, format.Brotli, format.Zstd, format.Lz4Raw:
			case format.Lz4:
				return fmt.Errorf("%s: row group %d, column %s: unsupported Parquet codec LZ4 (Hadoop); rewrite with snappy, zstd or lz4_raw", p.name, g, c.name)
			default:
				return fmt.Errorf("%s: row group %d, column %s: unsupported Parquet codec %s; rewrite with snappy, zstd or lz4_raw", p.name, g, c.name, codec)
			}
		}
	}
	return nil
}

// start positions the reader at pos. Index decides; RowGroup and GroupRow,
// when set, must agree with it.
func (p *parquetReader) start(ctx context.Context, pos *Position) error {
	if pos == nil || (pos.Index == 0 && pos.RowGroup == 0 && pos.GroupRow == 0) {
		return nil
	}
	total := p.starts[len(p.starts)-1]
	if pos.Index < 0 || pos.Index > total {
		return fmt.Errorf("%s: resume at row %d, but the file has %d rows: %w", p.name, pos.Index+1, total, ErrChanged)
	}
	g := 0
	for g < len(p.starts)-1 && p.starts[g+1] <= pos.Index {
		g++
	}
	gr := pos.Index - p.starts[g]
	if (pos.RowGroup != 0 || pos.GroupRow != 0) && p.canonical(pos.RowGroup, pos.GroupRow) != p.canonical(g, gr) {
		return fmt.Errorf("%s: resume position row group %d row %d does not match row %d of the file: %w",
			p.name, pos.RowGroup, pos.GroupRow, pos.Index+1, ErrChanged)
	}
	p.group, p.index = g, pos.Index
	if gr == 0 {
		return nil
	}
	return p.guard(func() error {
		if err := p.openGroup(ctx); err != nil {
			return err
		}
		if err := p.rows.SeekToRow(gr); err != nil {
			return p.fatal(err)
		}
		p.groupRow = gr
		return nil
	})
}

// canonical maps a (row group, row) pair to a position that does not depend
// on whether the end of a group is written as its last row plus one.
func (p *parquetReader) canonical(g int, gr int64) [2]int64 {
	for g < len(p.starts)-1 && gr >= p.starts[g+1]-p.starts[g] {
		gr -= p.starts[g+1] - p.starts[g]
		g++
	}
	return [2]int64{int64(g), gr}
}

func (p *parquetReader) Columns() []string  { return p.names }
func (p *parquetReader) Identity() Identity { return p.src.Identity() }

func (p *parquetReader) Pos() Position {
	c := p.canonical(p.group, p.groupRow)
	return Position{File: p.name, Index: p.index, Offset: -1, RowGroup: int(c[0]), GroupRow: c[1]}
}

func (p *parquetReader) Close() error {
	if p.src == nil {
		return nil
	}
	p.closeGroup()
	err := p.src.Close()
	p.src = nil
	p.err = errors.New("reader closed")
	return err
}

// Next returns the next row. Every error but io.EOF is fatal and sticky:
// after one, Next returns it again.
func (p *parquetReader) Next(ctx context.Context) (Record, error) {
	if p.err != nil {
		return Record{}, p.err
	}
	if p.done {
		return Record{}, io.EOF
	}
	var rec Record
	err := p.guard(func() error {
		var err error
		rec, err = p.next(ctx)
		return err
	})
	if err != nil && err != io.EOF {
		p.err = err
	}
	return rec, err
}

// guard runs f and turns a panic inside the Parquet library into an error
// naming the file, row group and column.
func (p *parquetReader) guard(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.fatal(fmt.Errorf("corrupt data: %v", v))
		}
	}()
	return f()
}

// fatal wraps an error of the current row group with the file, row, row
// group and (when known) the column.
func (p *parquetReader) fatal(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	where := fmt.Sprintf("row group %d", p.group)
	if p.errCol != "" {
		where += ", column " + p.errCol
	}
	return fmt.Errorf("%s row %d: %s: %w", p.name, p.index+1, where, noEOF(err))
}

func (p *parquetReader) next(ctx context.Context) (Record, error) {
	groups := p.file.Metadata().RowGroups
	for p.group < len(groups) && p.groupRow >= groups[p.group].NumRows {
		p.closeGroup()
		p.group++
		p.groupRow = 0
	}
	if p.group >= len(groups) {
		if err := p.checkEnd(); err != nil {
			return Record{}, err
		}
		p.done = true
		return Record{}, io.EOF
	}
	if p.rows == nil || p.index%pqCtxEveryRows == 0 {
		if err := ctx.Err(); err != nil {
			return Record{}, err
		}
	}
	p.ra.ctx = ctx
	if p.rows == nil {
		if err := p.openGroup(ctx); err != nil {
			return Record{}, err
		}
	}
	if p.batchPos >= len(p.batch) {
		if err := p.readBatch(groups[p.group].NumRows - p.groupRow); err != nil {
			return Record{}, err
		}
	}
	row := p.batch[p.batchPos]
	p.batchPos++
	if len(p.slab) < len(p.cols) {
		p.slab = make([]Value, pqSlabRows*len(p.cols))
	}
	vals := p.slab[:len(p.cols):len(p.cols)]
	p.slab = p.slab[len(p.cols):]
	for i, c := range p.cols {
		n := 0
		for n < len(row) && row[n].Column() == c.leaf {
			n++
		}
		if n == 0 {
			p.errCol = c.name
			return Record{}, p.fatal(errors.New("corrupt column chunk: no value for this row"))
		}
		v, err := c.cell(row[:n])
		if err != nil {
			p.errCol = c.name
			return Record{}, p.fatal(err)
		}
		vals[i] = v
		row = row[n:]
	}
	rec := Record{
		Pos:    Position{File: p.name, Index: p.index, Offset: -1, RowGroup: p.group, GroupRow: p.groupRow},
		Values: vals,
	}
	p.index++
	p.groupRow++
	return rec, nil
}

// checkEnd checks, where reading ends (the last row, or the end of a part),
// that a local file is still the one opened: a Parquet file rewritten
// while it was read is a *ChangedError, not an input read to its end.
func (p *parquetReader) checkEnd() error {
	if c, ok := p.src.(interface{ checkEnd(int64) error }); ok {
		if err := c.checkEnd(-1); err != nil {
			return &ReadError{File: p.name, Where: fmt.Sprintf("after row %d", p.index), Err: err}
		}
	}
	return nil
}

// readBatch reads up to pqBatchRows of the left rows of the group.
func (p *parquetReader) readBatch(left int64) error {
	if len(p.cols) == 0 {
		// Nothing to read: the rows are empty records.
		p.batch = make([]pq.Row, min(left, pqBatchRows))
		p.batchPos = 0
		return nil
	}
	if cap(p.batch) < pqBatchRows {
		p.batch = make([]pq.Row, pqBatchRows)
	}
	p.batch = p.batch[:min(left, pqBatchRows)]
	p.errCol = ""
	n, err := p.rows.ReadRows(p.batch)
	p.batch, p.batchPos = p.batch[:n], 0
	if n > 0 {
		return nil // an error comes back with the next call
	}
	if err == nil || err == io.EOF {
		return p.fatal(fmt.Errorf("column chunks hold fewer rows than the row group's %d (truncated or corrupt)", p.file.Metadata().RowGroups[p.group].NumRows))
	}
	return p.fatal(err)
}

// openGroup starts reading the current row group: its wanted column chunks
// fetched in one read when they are small, then a row reader over them.
func (p *parquetReader) openGroup(ctx context.Context) error {
	p.ra.ctx = ctx
	rg := p.file.Metadata().RowGroups[p.group]
	size := p.src.Identity().Size
	var spans []pqSpan
	for _, c := range p.cols {
		md := &rg.Columns[c.leaf].MetaData
		off := md.DataPageOffset
		if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < off {
			off = md.DictionaryPageOffset
		}
		n := md.TotalCompressedSize
		if off < 4 || n < 0 || off+n > size {
			p.errCol = c.name
			return p.fatal(fmt.Errorf("column chunk at bytes %d+%d lies outside the %d-byte file (truncated?)", off, n, size))
		}
		spans = append(spans, pqSpan{off, off + n})
	}
	// The wanted chunks, neighbours merged across small gaps, are fetched
	// with one read each when they are small together; otherwise the
	// library streams them through its buffers.
	slices.SortFunc(spans, func(a, b pqSpan) int { return cmp.Compare(a.lo, b.lo) })
	var merged []pqSpan
	total := int64(0)
	for _, sp := range spans {
		if k := len(merged) - 1; k >= 0 && sp.lo <= merged[k].hi+pqGapBytes {
			total -= merged[k].hi - merged[k].lo
			merged[k].hi = max(merged[k].hi, sp.hi)
			total += merged[k].hi - merged[k].lo
			continue
		}
		merged = append(merged, sp)
		total += sp.hi - sp.lo
	}
	p.ra.wins = p.ra.wins[:0]
	if total <= p.coalesce {
		if int64(cap(p.ra.buf)) < total {
			p.ra.buf = make([]byte, total)
		}
		buf := p.ra.buf[:total]
		for _, sp := range merged {
			w := buf[: sp.hi-sp.lo : sp.hi-sp.lo]
			buf = buf[len(w):]
			if _, err := p.src.ReaderAt(ctx).ReadAt(w, sp.lo); err != nil {
				return p.fatal(fmt.Errorf("read bytes %d-%d: %w", sp.lo, sp.hi-1, noEOF(err)))
			}
			p.ra.wins = append(p.ra.wins, pqWindow{off: sp.lo, data: w})
		}
	}
	group := p.file.RowGroups()[p.group]
	chunks := group.ColumnChunks()
	g := &pqGroup{RowGroup: group}
	for _, c := range p.cols {
		g.chunks = append(g.chunks, &pqChunk{ColumnChunk: chunks[c.leaf], name: c.name, r: p})
	}
	p.rows = pq.NewRowGroupRowReader(g)
	p.batch, p.batchPos = p.batch[:0], 0
	return nil
}

func (p *parquetReader) closeGroup() {
	if p.rows != nil {
		p.rows.Close()
		p.rows = nil
	}
	p.batch, p.batchPos = p.batch[:0], 0
	p.ra.wins = p.ra.wins[:0]
}

// cell turns the library's values of one row of the column (one, or for a
// repeated column the list's entries) into a Value.
func (c *pqColumn) cell(vs []pq.Value) (Value, error) {
	if c.maxRL == 0 {
		v := vs[0]
		if v.IsNull() || v.DefinitionLevel() < c.maxDL {
			return Value{}, nil
		}
		return c.conv(v)
	}
	var out Value
	switch first := vs[0].DefinitionLevel(); {
	case first < c.nullDL:
		return Value{}, nil
	case first < c.listDL:
		return Value{Kind: KindList, List: []Value{}}, nil
	}
	out = Value{Kind: KindList, List: make([]Value, 0, len(vs))}
	for _, v := range vs {
		switch dl := v.DefinitionLevel(); {
		case dl < c.listDL:
			// no element here: an empty inner list
		case dl == c.maxDL && !v.IsNull():
			ev, err := c.conv(v)
			if err != nil {
				return Value{}, err
			}
			out.List = append(out.List, ev)
		case c.maxRL == 1:
			out.List = append(out.List, Value{}) // a null element
		}
	}
	return out, nil
}

// pqGroup is a row group narrowed to the wanted columns.
type pqGroup struct {
	pq.RowGroup
	chunks []pq.ColumnChunk
}

func (g *pqGroup) ColumnChunks() []pq.ColumnChunk { return g.chunks }

// pqChunk and pqPages note which column the library reads, so that an
// error or a panic inside it can name the column.
type pqChunk struct {
	pq.ColumnChunk
	name string
	r    *parquetReader
}

func (c *pqChunk) Pages() pq.Pages { return &pqPages{Pages: c.ColumnChunk.Pages(), c: c} }

type pqPages struct {
	pq.Pages
	c *pqChunk
}

func (p *pqPages) ReadPage() (pq.Page, error) {
	p.c.r.errCol = p.c.name
	page, err := p.Pages.ReadPage()
	if err != nil {
		return nil, err
	}
	return &pqPage{Page: page, c: p.c}, nil
}

type pqPage struct {
	pq.Page
	c *pqChunk
}

func (p *pqPage) Values() pq.ValueReader {
	return &pqValues{ValueReader: p.Page.Values(), c: p.c}
}

type pqValues struct {
	pq.ValueReader
	c *pqChunk
}

func (v *pqValues) ReadValues(b []pq.Value) (int, error) {
	v.c.r.errCol = v.c.name
	return v.ValueReader.ReadValues(b)
}

// pqReaderAt is what the library reads the file through: the source, bound
// to the context of the current call, with the checked footer tail and the
// current row group's wanted bytes served from memory.
type pqReaderAt struct {
	src  source
	ctx  context.Context
	tail pqWindow
	wins []pqWindow
	buf  []byte // backs wins, reused from group to group
}

type pqWindow struct {
	off  int64
	data []byte
}

type pqSpan struct{ lo, hi int64 }

func (w pqWindow) serve(b []byte, off int64) bool {
	if len(w.data) == 0 || off < w.off || off+int64(len(b)) > w.off+int64(len(w.data)) {
		return false
	}
	copy(b, w.data[off-w.off:])
	return true
}

func (a *pqReaderAt) ReadAt(b []byte, off int64) (int, error) {
	for _, w := range a.wins {
		if w.serve(b, off) {
			return len(b), nil
		}
	}
	if a.tail.serve(b, off) {
		return len(b), nil
	}
	return a.src.ReaderAt(a.ctx).ReadAt(b, off)
}

// noEOF keeps io.EOF from leaking out of Next as if the input had ended.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", err.Error(), io.ErrUnexpectedEOF)
	}
	return err
}

// pqConverter returns the function that turns the library's value of a leaf
// column into a Value of the column's logical type. The logical type wins
// over a converted type that says otherwise, as the format says (xitongsys
// and parquet-go write TIMESTAMP_MILLIS beside isAdjustedToUTC=false).
func pqConverter(t pq.Type) (func(pq.Value) (Value, error), error) {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	if d, ok := lt.(*format.DecimalType); ok && d.Scale < 0 {
		return nil, fmt.Errorf("decimal with negative scale %d", d.Scale)
	}
	switch t.Kind() {
	case pq.Boolean:
		return func(v pq.Value) (Value, error) { return BoolValue(v.Boolean()), nil }, nil
	case pq.Int32:
		return pqInt32Converter(lt), nil
	case pq.Int64:
		return pqInt64Converter(lt), nil
	case pq.Int96:
		return func(v pq.Value) (Value, error) {
			i := v.Int96()
			nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
			day := int64(i[2])
			return TimeValue(time.Unix((day-julianUnixEpoch)*86400, nanos)), nil
		}, nil
	case pq.Float:
		return func(v pq.Value) (Value, error) { return Value{Kind: KindFloat, Float: float32To64(v.Float())}, nil }, nil
	case pq.Double:
		return func(v pq.Value) (Value, error) { return Value{Kind: KindFloat, Float: v.Double()}, nil }, nil
	case pq.ByteArray, pq.FixedLenByteArray:
		return pqBytesConverter(lt), nil
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

// pqInt32Converter is pqConverter for an INT32 leaf of logical type lt (nil
// if none): a decimal, a date, a time of day, or an integer, signed unless
// lt says otherwise.
func pqInt32Converter(lt format.LogicalTypeValue) func(pq.Value) (Value, error) {
	switch lt := lt.(type) {
	case *format.DecimalType:
		return func(v pq.Value) (Value, error) {
			return Value{Kind: KindDecimal, Str: decimalText(strconv.FormatInt(int64(v.Int32()), 10), lt.Scale)}, nil
		}
	case *format.DateType:
		return func(v pq.Value) (Value, error) { return Value{Kind: KindDate, Int: int64(v.Int32())}, nil }
	case *format.TimeType:
		unit := lt.Unit.Value.Duration()
		return func(v pq.Value) (Value, error) { return timeOfDay(time.Duration(v.Int32()) * unit), nil }
	case *format.IntType:
		if !lt.IsSigned {
			return func(v pq.Value) (Value, error) { return Value{Kind: KindInt, Int: int64(v.Uint32())}, nil }
		}
	}
	return func(v pq.Value) (Value, error) { return Value{Kind: KindInt, Int: int64(v.Int32())}, nil }
}

// pqInt64Converter is pqConverter for an INT64 leaf of logical type lt (nil
// if none): a decimal, a timestamp, a time of day, or an integer, signed
// unless lt says otherwise.
func pqInt64Converter(lt format.LogicalTypeValue) func(pq.Value) (Value, error) {
	switch lt := lt.(type) {
	case *format.DecimalType:
		return func(v pq.Value) (Value, error) {
			return Value{Kind: KindDecimal, Str: decimalText(strconv.FormatInt(v.Int64(), 10), lt.Scale)}, nil
		}
	case *format.TimestampType:
		// A timestamp not adjusted to UTC is a wall-clock time: its
		// fields, held as UTC, for the field's timezone to place.
		unit := lt.Unit.Value.Duration()
		if !lt.IsAdjustedToUTC {
			return func(v pq.Value) (Value, error) { return WallTimeValue(unixTime(v.Int64(), unit)), nil }
		}
		return func(v pq.Value) (Value, error) { return TimeValue(unixTime(v.Int64(), unit)), nil }
	case *format.TimeType:
		unit := lt.Unit.Value.Duration()
		return func(v pq.Value) (Value, error) { return timeOfDay(time.Duration(v.Int64()) * unit), nil }
	case *format.IntType:
		if !lt.IsSigned {
			return func(v pq.Value) (Value, error) {
				if u := v.Uint64(); u > math.MaxInt64 { // beyond int64: keep it exact
					return Value{Kind: KindDecimal, Str: strconv.FormatUint(u, 10)}, nil
				}
				return Value{Kind: KindInt, Int: v.Int64()}, nil
			}
		}
	}
	return func(v pq.Value) (Value, error) { return Value{Kind: KindInt, Int: v.Int64()}, nil }
}

// pqBytesConverter is pqConverter for a BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY
// leaf of logical type lt (nil if none): a decimal in two's complement, a
// UUID, or else a string.
func pqBytesConverter(lt format.LogicalTypeValue) func(pq.Value) (Value, error) {
	switch lt := lt.(type) {
	case *format.DecimalType:
		return func(v pq.Value) (Value, error) {
			return Value{Kind: KindDecimal, Str: decimalText(twosText(v.ByteArray()), lt.Scale)}, nil
		}
	case *format.UUIDType:
		return func(v pq.Value) (Value, error) {
			b := v.ByteArray()
			if len(b) != 16 {
				return Value{}, fmt.Errorf("corrupt value: a %d-byte UUID", len(b))
			}
			return Value{Kind: KindString, Str: formatUUID(b)}, nil
		}
	}
	return func(v pq.Value) (Value, error) { return StringValue(string(v.ByteArray())), nil }
}

// unixTime converts a count of units since the epoch to a UTC time.
func unixTime(v int64, unit time.Duration) time.Time {
	switch unit {
	case time.Nanosecond:
		return time.Unix(0, v).UTC()
	case time.Microsecond:
		return time.UnixMicro(v).UTC()
	}
	return time.UnixMilli(v).UTC()
}

// timeOfDay renders a Parquet TIME as "15:04:05" with the fraction it has.
func timeOfDay(d time.Duration) Value {
	return Value{Kind: KindString, Str: time.Unix(0, int64(d)).UTC().Format("15:04:05.999999999")}
}

// float32To64 widens f to the float64 closest to its shortest decimal form,
// so that 0.1f reads as 0.1, not 0.10000000149011612.
func float32To64(f float32) float64 {
	if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
		return float64(f)
	}
	var buf [32]byte
	g, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)), 64)
	if err != nil {
		return float64(f)
	}
	return g
}

// twosText reads a big-endian two's complement integer into decimal digits.
func twosText(b []byte) string {
	if len(b) <= 8 {
		var u uint64
		for _, c := range b {
			u = u<<8 | uint64(c)
		}
		if len(b) > 0 && len(b) < 8 && b[0]&0x80 != 0 {
			u |= ^uint64(0) << (8 * len(b))
		}
		return strconv.FormatInt(int64(u), 10)
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n.String()
}

// decimalText places the decimal point in the digits of an unscaled
// integer: "1250" with scale 2 is "12.50", "-5" with scale 3 is "-0.005".
func decimalText(digits string, scale int32) string {
	if scale <= 0 {
		return digits
	}
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if pad := int(scale) - len(digits) + 1; pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	digits = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	if neg {
		return "-" + digits
	}
	return digits
}

func formatUUID(b []byte) string {
	const hexdig = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdig[c>>4], hexdig[c&15])
	}
	return string(out)
}

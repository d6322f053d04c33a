package readers

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/golang/snappy"
	"github.com/xitongsys/parquet-go/common"
	"github.com/xitongsys/parquet-go/compress"
	"github.com/xitongsys/parquet-go/layout"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/schema"
)

// How the Parquet reader reads bytes. A row group whose column chunks span at
// most pqCoalesceBytes is fetched with one read (one GET on S3); larger row
// groups are read column chunk by column chunk through a buffer of at most
// pqChunkBuffer bytes each, so memory stays flat whatever the row group size.
const (
	pqFooterTail    = 64 << 10
	pqCoalesceBytes = 4 << 20
	pqChunkBuffer   = 1 << 20
	pqMaxFooter     = 256 << 20
	pqMaxPage       = 1 << 30
	pqSlabRows      = 128
	pqCtxEveryRows  = 1024
	julianUnixEpoch = 2440588 // Julian day number of 1970-01-01
)

var parquetMagic = []byte("PAR1")

// parquetReader reads a Parquet file row group by row group and, inside a row
// group, page by page: only the current page of each column is decoded and
// held in memory. Pages are decoded by xitongsys/parquet-go's layout package;
// rows are assembled here from the repetition and definition levels, so that
// values keep their logical type.
type parquetReader struct {
	src    source
	name   string
	footer *parquet.FileMetaData
	sh     *schema.SchemaHandler
	cols   []*pqColumn
	names  []string
	starts []int64 // starts[g] = index of the first row of row group g; len = groups+1

	group    int   // current row group; len(RowGroups) at the end
	groupRow int64 // next row inside the group
	opened   bool  // column chunks of group are open
	index    int64 // index of the next record

	coalesce int64   // largest row group read in one piece
	buf      []byte  // coalesced row group bytes, reused
	slab     []Value // Values handed out in slices, never reused
	err      error   // sticky
	done     bool
}

var _ Reader = (*parquetReader)(nil)

// pqColumn is one leaf column: how to turn its entries into Values, and the
// decoding state inside the current column chunk.
type pqColumn struct {
	name  string
	path  []string // schema path including the root, as in the file
	el    *parquet.SchemaElement
	maxDL int32
	maxRL int32
	// For repeated columns: entries with a definition level below nullDL are
	// a null list, below listDL an empty list.
	nullDL, listDL int32
	conv           func(any) (Value, error)

	meta      *parquet.ColumnMetaData
	plain     *parquet.ColumnMetaData // meta as if uncompressed, for the decoder
	in        pqChunkReader
	remaining int64 // values of the chunk not yet read into pages
	dict      *layout.Page
	vals      []any
	dls, rls  []int32
	pos       int
}

// newParquetReader reads the footer of src and positions the reader at the
// first row, or at opts.Start. Column names are the dotted paths of the leaf
// columns; a LIST column is named by its list field (e.g. "tags", not
// "tags.list.element") and yields KindList values.
func newParquetReader(ctx context.Context, src source, opts Options) (r Reader, err error) {
	p := &parquetReader{src: src, name: src.Name(), coalesce: pqCoalesceBytes}
	defer func() {
		if v := recover(); v != nil {
			err = &ParseError{File: p.name, Err: fmt.Errorf("corrupt Parquet metadata: %v", v)}
		}
	}()
	if err := p.readFooter(ctx); err != nil {
		return nil, err
	}
	if err := p.buildSchema(); err != nil {
		return nil, &ParseError{File: p.name, Err: err}
	}
	if err := p.start(ctx, opts.Start); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parquetReader) readFooter(ctx context.Context) error {
	size := p.src.Identity().Size
	if size < 12 {
		return &ParseError{File: p.name, Err: fmt.Errorf("not a Parquet file: %d bytes is too short", size)}
	}
	ra := p.src.ReaderAt(ctx)
	tail := make([]byte, min(size, pqFooterTail))
	if _, err := ra.ReadAt(tail, size-int64(len(tail))); err != nil {
		return fmt.Errorf("read %s: footer: %w", p.name, noEOF(err))
	}
	if !bytes.Equal(tail[len(tail)-4:], parquetMagic) {
		if string(tail[len(tail)-4:]) == "PARE" {
			return &ParseError{File: p.name, Err: errors.New("encrypted Parquet files are not supported")}
		}
		return &ParseError{File: p.name, Err: errors.New("not a Parquet file, or truncated: no PAR1 magic at the end")}
	}
	n := int64(binary.LittleEndian.Uint32(tail[len(tail)-8:]))
	if n+12 > size || n > pqMaxFooter {
		return &ParseError{File: p.name, Err: fmt.Errorf("corrupt footer: length %d in a %d-byte file", n, size)}
	}
	var meta []byte
	if n+8 <= int64(len(tail)) {
		meta = tail[int64(len(tail))-8-n : len(tail)-8]
	} else {
		meta = make([]byte, n)
		if _, err := ra.ReadAt(meta, size-8-n); err != nil {
			return fmt.Errorf("read %s: footer: %w", p.name, noEOF(err))
		}
	}
	mb := thrift.NewTMemoryBufferLen(len(meta))
	mb.Write(meta)
	p.footer = parquet.NewFileMetaData()
	if err := p.footer.Read(ctx, thrift.NewTCompactProtocol(mb)); err != nil {
		return &ParseError{File: p.name, Err: fmt.Errorf("corrupt footer: %w", noEOF(err))}
	}
	return nil
}

// pqNode is a schema element with its place in the tree.
type pqNode struct {
	el       *parquet.SchemaElement
	parent   *pqNode
	path     []string // from the root, the root included
	defLevel int32    // non-required nodes from the root down to this one
	repLevel int32    // repeated nodes from the root down to this one
	leaves   int
}

func (p *parquetReader) buildSchema() error {
	els := p.footer.GetSchema()
	if len(els) == 0 || els[0].GetNumChildren() == 0 {
		return errors.New("the schema has no columns")
	}
	// The schema handler is what xitongsys' page decoder looks columns up
	// in. Build it with the names as written: its own constructor rewrites
	// them into Go identifiers, which can collide.
	p.sh = &schema.SchemaHandler{
		SchemaElements: els,
		MapIndex:       map[string]int32{},
		IndexMap:       map[int32]string{},
		Infos:          make([]*common.Tag, len(els)),
		InPathToExPath: map[string]string{},
		ExPathToInPath: map[string]string{},
	}
	for i, el := range els {
		p.sh.Infos[i] = &common.Tag{InName: el.GetName(), ExName: el.GetName()}
	}
	nodes := make([]*pqNode, len(els))
	var leaves []*pqNode
	type frame struct {
		n    *pqNode
		left int32
	}
	stack := []frame{}
	for i, el := range els {
		for len(stack) > 0 && stack[len(stack)-1].left == 0 {
			stack = stack[:len(stack)-1]
		}
		n := &pqNode{el: el}
		if i == 0 {
			n.path = []string{el.GetName()}
		} else {
			if len(stack) == 0 {
				return errors.New("corrupt schema: more elements than the tree holds")
			}
			n.parent = stack[len(stack)-1].n
			stack[len(stack)-1].left--
			n.path = append(append([]string{}, n.parent.path...), el.GetName())
			n.defLevel, n.repLevel = n.parent.defLevel, n.parent.repLevel
			switch el.GetRepetitionType() {
			case parquet.FieldRepetitionType_OPTIONAL:
				n.defLevel++
			case parquet.FieldRepetitionType_REPEATED:
				n.defLevel++
				n.repLevel++
			}
		}
		nodes[i] = n
		key := common.PathToStr(n.path)
		p.sh.MapIndex[key] = int32(i)
		p.sh.IndexMap[int32(i)] = key
		if el.GetNumChildren() > 0 {
			stack = append(stack, frame{n, el.GetNumChildren()})
			continue
		}
		if i == 0 {
			return errors.New("the schema has no columns")
		}
		if !el.IsSetType() {
			return fmt.Errorf("column %s has no type", strings.Join(n.path[1:], "."))
		}
		p.sh.ValueColumns = append(p.sh.ValueColumns, key)
		leaves = append(leaves, n)
		for a := n.parent; a != nil; a = a.parent {
			a.leaves++
		}
	}
	for len(stack) > 0 && stack[len(stack)-1].left == 0 {
		stack = stack[:len(stack)-1]
	}
	if len(stack) > 0 {
		return errors.New("corrupt schema: the tree has fewer elements than it declares")
	}
	seen := map[string]bool{}
	for _, leaf := range leaves {
		c := &pqColumn{
			name:  strings.Join(leaf.path[1:], "."),
			path:  leaf.path,
			el:    leaf.el,
			maxDL: leaf.defLevel,
			maxRL: leaf.repLevel,
		}
		if c.maxRL > 0 {
			// The outermost repeated node: its parent being defined means
			// the list exists; the node itself being defined means it has
			// an element.
			var rep *pqNode
			for a := leaf; a.parent != nil; a = a.parent {
				if a.el.GetRepetitionType() == parquet.FieldRepetitionType_REPEATED {
					rep = a
				}
			}
			c.listDL = rep.defLevel
			c.nullDL = rep.parent.defLevel
			if lp := rep.parent; lp.parent != nil && isListGroup(lp.el) && lp.leaves == 1 {
				c.name = strings.Join(lp.path[1:], ".")
			}
		}
		if seen[c.name] {
			c.name = strings.Join(leaf.path[1:], ".")
		}
		seen[c.name] = true
		conv, err := pqConverter(leaf.el)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
		c.conv = conv
		p.cols = append(p.cols, c)
		p.names = append(p.names, c.name)
	}
	groups := p.footer.GetRowGroups()
	p.starts = make([]int64, len(groups)+1)
	for g, rg := range groups {
		if rg.GetNumRows() < 0 {
			return fmt.Errorf("corrupt footer: row group %d has %d rows", g, rg.GetNumRows())
		}
		p.starts[g+1] = p.starts[g] + rg.GetNumRows()
	}
	return nil
}

func isListGroup(el *parquet.SchemaElement) bool {
	if el.GetNumChildren() != 1 {
		return false
	}
	if lt := el.GetLogicalType(); lt != nil && lt.IsSetLIST() {
		return true
	}
	return el.IsSetConvertedType() && el.GetConvertedType() == parquet.ConvertedType_LIST
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
	if err := p.guard(func() error {
		if err := p.openGroup(ctx); err != nil {
			return err
		}
		for _, c := range p.cols {
			if err := p.skipRows(c, gr); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	p.groupRow = gr
	return nil
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
	err := p.src.Close()
	p.src = nil
	for _, c := range p.cols {
		c.closeChunk()
	}
	p.err = errors.New("reader closed")
	return err
}

// Next returns the next row. Errors are sticky: after one, Next returns it
// again.
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
// naming the file, row group and row.
func (p *parquetReader) guard(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = p.rowError(-1, fmt.Errorf("corrupt data: %v", v))
		}
	}()
	return f()
}

func (p *parquetReader) rowError(col int, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	where := fmt.Sprintf("row group %d", p.group)
	if col >= 0 {
		where += ", column " + p.cols[col].name
	}
	return &ParseError{File: p.name, Row: p.index + 1, Err: fmt.Errorf("%s: %w", where, noEOF(err))}
}

func (p *parquetReader) next(ctx context.Context) (Record, error) {
	groups := p.footer.GetRowGroups()
	for p.group < len(groups) && p.groupRow >= groups[p.group].GetNumRows() {
		p.closeGroup()
		p.group++
		p.groupRow = 0
	}
	if p.group >= len(groups) {
		p.done = true
		return Record{}, io.EOF
	}
	if !p.opened || p.index%pqCtxEveryRows == 0 {
		if err := ctx.Err(); err != nil {
			return Record{}, err
		}
	}
	if !p.opened {
		if err := p.openGroup(ctx); err != nil {
			return Record{}, err
		}
	}
	if len(p.slab) < len(p.cols) {
		p.slab = make([]Value, pqSlabRows*len(p.cols))
	}
	vals := p.slab[:len(p.cols):len(p.cols)]
	p.slab = p.slab[len(p.cols):]
	for i, c := range p.cols {
		v, err := p.readCell(c)
		if err != nil {
			return Record{}, p.rowError(i, err)
		}
		vals[i] = v
	}
	rec := Record{
		Pos:    Position{File: p.name, Index: p.index, Offset: -1, RowGroup: p.group, GroupRow: p.groupRow},
		Values: vals,
	}
	p.index++
	p.groupRow++
	return rec, nil
}

// openGroup positions every column at the start of its chunk in the current
// row group.
func (p *parquetReader) openGroup(ctx context.Context) error {
	rg := p.footer.GetRowGroups()[p.group]
	chunks := map[string]*parquet.ColumnChunk{}
	for _, ch := range rg.GetColumns() {
		md := ch.GetMetaData()
		if md == nil {
			return p.rowError(-1, errors.New("column chunk without metadata (encrypted or corrupt)"))
		}
		if ch.IsSetFilePath() && ch.GetFilePath() != "" {
			return p.rowError(-1, fmt.Errorf("column chunk in another file (%s) is not supported", ch.GetFilePath()))
		}
		chunks[common.PathToStr(md.GetPathInSchema())] = ch
	}
	size := p.src.Identity().Size
	type span struct{ off, n int64 }
	spans := make([]span, len(p.cols))
	lo, hi := int64(math.MaxInt64), int64(0)
	for i, c := range p.cols {
		ch := chunks[common.PathToStr(c.path[1:])]
		if ch == nil {
			return p.rowError(i, errors.New("no column chunk in this row group"))
		}
		md := ch.GetMetaData()
		off := md.GetDataPageOffset()
		if md.IsSetDictionaryPageOffset() && md.GetDictionaryPageOffset() > 0 && md.GetDictionaryPageOffset() < off {
			off = md.GetDictionaryPageOffset()
		}
		n := md.GetTotalCompressedSize()
		if off < 4 || n < 0 || off+n > size {
			return p.rowError(i, fmt.Errorf("column chunk at bytes %d+%d lies outside the %d-byte file (truncated?)", off, n, size))
		}
		if md.GetType() != c.el.GetType() {
			return p.rowError(i, fmt.Errorf("column chunk type %s does not match the schema's %s", md.GetType(), c.el.GetType()))
		}
		spans[i] = span{off, n}
		lo, hi = min(lo, off), max(hi, off+n)
		c.closeChunk()
		plain := *md
		plain.Codec = parquet.CompressionCodec_UNCOMPRESSED
		c.meta, c.plain = md, &plain
		c.remaining = md.GetNumValues()
	}
	ra := p.src.ReaderAt(ctx)
	coalesce := hi > lo && hi-lo <= p.coalesce
	if coalesce {
		if int64(cap(p.buf)) < hi-lo {
			p.buf = make([]byte, hi-lo)
		}
		p.buf = p.buf[:hi-lo]
		if _, err := ra.ReadAt(p.buf, lo); err != nil {
			return p.rowError(-1, fmt.Errorf("read bytes %d-%d: %w", lo, hi-1, err))
		}
	}
	for i, c := range p.cols {
		s := spans[i]
		var in io.Reader
		bufSize := 4 << 10
		if coalesce {
			in = bytes.NewReader(p.buf[s.off-lo : s.off-lo+s.n])
		} else {
			in = io.NewSectionReader(ra, s.off, s.n)
			bufSize = int(min(max(s.n, 4<<10), pqChunkBuffer))
		}
		c.in = pqChunkReader{r: bufio.NewReaderSize(in, bufSize), left: s.n}
	}
	p.opened = true
	return nil
}

func (p *parquetReader) closeGroup() {
	for _, c := range p.cols {
		c.closeChunk()
	}
	p.opened = false
}

func (c *pqColumn) closeChunk() {
	c.in, c.meta, c.plain, c.dict = pqChunkReader{}, nil, nil, nil
	c.vals, c.dls, c.rls, c.pos, c.remaining = nil, nil, nil, 0, 0
}

// fill makes sure the column has an undecoded entry, reading pages as
// needed. It returns false at the end of the column chunk.
func (p *parquetReader) fill(c *pqColumn) (bool, error) {
	for c.pos >= len(c.dls) {
		if c.remaining <= 0 {
			return false, nil
		}
		page, nv, err := p.readPage(c)
		if err != nil {
			return false, fmt.Errorf("read page: %w", noEOF(err))
		}
		if page == nil {
			continue // a page type that holds no values
		}
		if page.Header.GetType() == parquet.PageType_DICTIONARY_PAGE {
			c.dict = page
			continue
		}
		if isDictEncoded(page.Header) {
			if c.dict == nil {
				return false, errors.New("dictionary-encoded page without a dictionary page")
			}
			page.Decode(c.dict)
		}
		t := page.DataTable
		if nv == 0 {
			continue
		}
		if nv < 0 || len(t.DefinitionLevels) != int(nv) || len(t.RepetitionLevels) != int(nv) || len(t.Values) != int(nv) {
			return false, fmt.Errorf("corrupt page: %d values declared, %d decoded", nv, len(t.DefinitionLevels))
		}
		c.remaining -= nv
		c.vals, c.dls, c.rls, c.pos = t.Values, t.DefinitionLevels, t.RepetitionLevels, 0
	}
	return true, nil
}

// readPage reads the next page of c's chunk and decodes it with xitongsys'
// layout.ReadPage. That decoder trusts every size in the page: a damaged
// length makes it allocate gigabytes. So the page is first checked here:
// the header against the chunk, the decompressed size against the header,
// and the run lengths and value lengths inside against the number of values.
// The checked page is handed on decompressed (the codec was applied here).
func (p *parquetReader) readPage(c *pqColumn) (*layout.Page, int64, error) {
	h := parquet.NewPageHeader()
	if err := h.Read(context.Background(), thrift.NewTCompactProtocol(&c.in)); err != nil {
		return nil, 0, fmt.Errorf("page header: %w", err)
	}
	cs, us := int64(h.GetCompressedPageSize()), int64(h.GetUncompressedPageSize())
	if cs < 0 || cs > c.in.left {
		return nil, 0, fmt.Errorf("corrupt page header: %d-byte page in the %d bytes left of the column chunk", cs, c.in.left)
	}
	if us < 0 || us > pqMaxPage {
		return nil, 0, fmt.Errorf("corrupt page header: uncompressed size %d", us)
	}
	var (
		nv         int64
		enc        parquet.Encoding
		levelBytes int64 // v2: levels are stored before the (compressed) values
		compressed = true
	)
	switch h.GetType() {
	case parquet.PageType_DATA_PAGE:
		if h.DataPageHeader == nil {
			return nil, 0, errors.New("corrupt page header: data page without its header")
		}
		nv, enc = int64(h.DataPageHeader.GetNumValues()), h.DataPageHeader.GetEncoding()
	case parquet.PageType_DATA_PAGE_V2:
		d := h.DataPageHeaderV2
		if d == nil {
			return nil, 0, errors.New("corrupt page header: data page without its header")
		}
		nv, enc, compressed = int64(d.GetNumValues()), d.GetEncoding(), d.GetIsCompressed()
		rl, dl := int64(d.GetRepetitionLevelsByteLength()), int64(d.GetDefinitionLevelsByteLength())
		if rl < 0 || dl < 0 || rl+dl > cs {
			return nil, 0, errors.New("corrupt page header: level sizes exceed the page")
		}
		levelBytes = rl + dl
	case parquet.PageType_DICTIONARY_PAGE:
		if h.DictionaryPageHeader == nil {
			return nil, 0, errors.New("corrupt page header: dictionary page without its header")
		}
		nv, enc = int64(h.DictionaryPageHeader.GetNumValues()), parquet.Encoding_PLAIN
		if nv < 0 || nv > us*8+8 {
			return nil, 0, fmt.Errorf("corrupt page header: %d dictionary values in %d bytes", nv, us)
		}
	default: // index pages and the like: nothing to decode
		if _, err := io.CopyN(io.Discard, &c.in, cs); err != nil {
			return nil, 0, err
		}
		return nil, 0, nil
	}
	if h.GetType() != parquet.PageType_DICTIONARY_PAGE && (nv < 0 || nv > c.remaining) {
		return nil, 0, fmt.Errorf("corrupt page header: %d values, %d left in the column chunk", nv, c.remaining)
	}
	body := make([]byte, cs)
	if _, err := io.ReadFull(&c.in, body); err != nil {
		return nil, 0, err
	}
	values := body[levelBytes:]
	if compressed && len(values) > 0 {
		var err error
		if values, err = pqUncompress(values, c.meta.GetCodec(), us); err != nil {
			return nil, 0, fmt.Errorf("corrupt page: %w", err)
		}
	}
	if h.GetType() == parquet.PageType_DATA_PAGE_V2 {
		if err := pqCheckHybrid(body[:h.DataPageHeaderV2.GetRepetitionLevelsByteLength()], bitWidth(c.maxRL), nv); err != nil {
			return nil, 0, fmt.Errorf("corrupt repetition levels: %w", err)
		}
		if err := pqCheckHybrid(body[h.DataPageHeaderV2.GetRepetitionLevelsByteLength():levelBytes], bitWidth(c.maxDL), nv); err != nil {
			return nil, 0, fmt.Errorf("corrupt definition levels: %w", err)
		}
		if levelBytes > 0 {
			values = append(append(make([]byte, 0, int(levelBytes)+len(values)), body[:levelBytes]...), values...)
		}
		if err := p.checkValues(c, values[levelBytes:], enc, nv); err != nil {
			return nil, 0, err
		}
	} else {
		rest := values
		if h.GetType() == parquet.PageType_DATA_PAGE {
			var err error
			if rest, err = pqCheckLevels(rest, c.maxRL, nv); err != nil {
				return nil, 0, fmt.Errorf("corrupt repetition levels: %w", err)
			}
			if rest, err = pqCheckLevels(rest, c.maxDL, nv); err != nil {
				return nil, 0, fmt.Errorf("corrupt definition levels: %w", err)
			}
		}
		if err := p.checkValues(c, rest, enc, nv); err != nil {
			return nil, 0, err
		}
	}
	// Hand the checked, decompressed page on.
	h2 := *h
	h2.CompressedPageSize, h2.UncompressedPageSize, h2.Crc = int32(len(values)), int32(len(values)), nil
	mb := thrift.NewTMemoryBufferLen(64 + len(values))
	proto := thrift.NewTCompactProtocol(mb)
	if err := h2.Write(context.Background(), proto); err != nil {
		return nil, 0, err
	}
	if err := proto.Flush(context.Background()); err != nil {
		return nil, 0, err
	}
	mb.Write(values)
	page, n, _, err := layout.ReadPage(thrift.NewTBufferedTransport(mb, 4<<10), p.sh, c.plain)
	if err != nil {
		return nil, 0, err
	}
	return page, n, nil
}

// checkValues checks the encoded values of a page whose entries number at
// most nv.
func (p *parquetReader) checkValues(c *pqColumn, b []byte, enc parquet.Encoding, nv int64) error {
	var err error
	switch enc {
	case parquet.Encoding_PLAIN:
		if c.el.GetType() == parquet.Type_BYTE_ARRAY {
			for len(b) > 0 {
				if len(b) < 4 {
					return errors.New("corrupt page: a value's length is cut off")
				}
				n := uint64(binary.LittleEndian.Uint32(b))
				if n > uint64(len(b)-4) {
					return fmt.Errorf("corrupt page: a %d-byte value in the %d bytes left", n, len(b)-4)
				}
				b = b[4+n:]
			}
		}
	case parquet.Encoding_PLAIN_DICTIONARY, parquet.Encoding_RLE_DICTIONARY:
		if len(b) == 0 {
			return nil
		}
		if b[0] > 32 {
			return fmt.Errorf("corrupt page: dictionary index width %d", b[0])
		}
		err = pqCheckHybrid(b[1:], uint64(b[0]), nv)
	case parquet.Encoding_RLE:
		_, err = pqCheckLevels(b, 1, nv)
	case parquet.Encoding_DELTA_BINARY_PACKED, parquet.Encoding_DELTA_LENGTH_BYTE_ARRAY, parquet.Encoding_DELTA_BYTE_ARRAY:
		err = pqCheckDeltaHeader(b, nv)
	}
	if err != nil {
		return fmt.Errorf("corrupt values: %w", err)
	}
	return nil
}

func bitWidth(maxLevel int32) uint64 {
	w := uint64(0)
	for maxLevel > 0 {
		w++
		maxLevel >>= 1
	}
	return w
}

// pqCheckLevels checks levels stored as a 4-byte length and an RLE/bit-packed
// hybrid run (data page v1) and returns the bytes after them. With
// maxLevel 0 there are none.
func pqCheckLevels(b []byte, maxLevel int32, nv int64) ([]byte, error) {
	if maxLevel == 0 {
		return b, nil
	}
	if len(b) < 4 {
		return nil, errors.New("length cut off")
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n > uint64(len(b)-4) {
		return nil, fmt.Errorf("%d bytes of levels in the %d left", n, len(b)-4)
	}
	return b[4+n:], pqCheckHybrid(b[4:4+n], bitWidth(maxLevel), nv)
}

// pqCheckHybrid checks that an RLE/bit-packed hybrid run holds no more than
// nv values (plus the padding of a last bit-packed group).
func pqCheckHybrid(b []byte, width uint64, nv int64) error {
	limit := uint64(nv) + 8
	total := uint64(0)
	for len(b) > 0 {
		h, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad run header")
		}
		b = b[n:]
		var count, size uint64
		if h&1 == 0 {
			count, size = h>>1, (width+7)/8
		} else {
			groups := h >> 1
			if groups > limit {
				return fmt.Errorf("%d values in a page of %d", groups*8, nv)
			}
			count, size = groups*8, groups*width
		}
		if count > limit || total+count > limit {
			return fmt.Errorf("more than %d values in a page of %d", total+count, nv)
		}
		total += count
		b = b[min(size, uint64(len(b))):]
	}
	return nil
}

// pqCheckDeltaHeader checks the header of a DELTA_BINARY_PACKED run (which
// also starts the delta byte array encodings).
func pqCheckDeltaHeader(b []byte, nv int64) error {
	var v [3]uint64
	for i := range v {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad delta header")
		}
		v[i], b = x, b[n:]
	}
	block, minis, count := v[0], v[1], v[2]
	if block == 0 || block > 1<<20 || minis == 0 || minis > block || block%minis != 0 || count > uint64(nv)+1 {
		return fmt.Errorf("bad delta header: block %d, %d miniblocks, %d values in a page of %d", block, minis, count, nv)
	}
	return nil
}

// pqUncompress decompresses a page, refusing output beyond the page's
// declared size.
func pqUncompress(b []byte, codec parquet.CompressionCodec, size int64) ([]byte, error) {
	switch codec {
	case parquet.CompressionCodec_UNCOMPRESSED:
		return b, nil
	case parquet.CompressionCodec_SNAPPY:
		if n, err := snappy.DecodedLen(b); err != nil || int64(n) > size {
			return nil, fmt.Errorf("snappy data does not fit the %d-byte page", size)
		}
	case parquet.CompressionCodec_GZIP:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, size+1))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if int64(len(out)) > size {
			return nil, fmt.Errorf("gzip data exceeds the %d-byte page", size)
		}
		return out, nil
	}
	out, err := compress.Uncompress(b, codec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", codec, err)
	}
	if int64(len(out)) > size {
		return nil, fmt.Errorf("%s data exceeds the %d-byte page", codec, size)
	}
	return out, nil
}

// pqChunkReader reads a column chunk; it is also the thrift transport page
// headers are decoded from, telling the decoder how many bytes are left so
// that a damaged length is refused instead of allocated.
type pqChunkReader struct {
	r    *bufio.Reader
	left int64
}

func (c *pqChunkReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *pqChunkReader) ReadByte() (byte, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, noEOF(err)
	}
	c.left--
	return b, nil
}

func (c *pqChunkReader) Write([]byte) (int, error)   { return 0, errors.New("read only") }
func (c *pqChunkReader) Close() error                { return nil }
func (c *pqChunkReader) Flush(context.Context) error { return nil }
func (c *pqChunkReader) RemainingBytes() uint64      { return uint64(max(c.left, 0)) }
func (c *pqChunkReader) Open() error                 { return nil }
func (c *pqChunkReader) IsOpen() bool                { return true }

func isDictEncoded(h *parquet.PageHeader) bool {
	var e parquet.Encoding
	switch {
	case h.DataPageHeader != nil:
		e = h.DataPageHeader.GetEncoding()
	case h.DataPageHeaderV2 != nil:
		e = h.DataPageHeaderV2.GetEncoding()
	default:
		return false
	}
	return e == parquet.Encoding_PLAIN_DICTIONARY || e == parquet.Encoding_RLE_DICTIONARY
}

var errChunkShort = errors.New("column chunk holds fewer rows than the row group declares (truncated or corrupt)")

// readCell reads the column's value for the current row.
func (p *parquetReader) readCell(c *pqColumn) (Value, error) {
	ok, err := p.fill(c)
	if err != nil {
		return Value{}, err
	}
	if !ok {
		return Value{}, errChunkShort
	}
	if c.maxRL == 0 {
		dl, v := c.dls[c.pos], c.vals[c.pos]
		c.pos++
		if dl < c.maxDL || v == nil {
			return Value{}, nil
		}
		return c.conv(v)
	}
	if c.rls[c.pos] != 0 {
		return Value{}, fmt.Errorf("corrupt levels: row starts with repetition level %d", c.rls[c.pos])
	}
	first := c.dls[c.pos]
	var out Value
	switch {
	case first < c.nullDL:
	case first < c.listDL:
		out = Value{Kind: KindList, List: []Value{}}
	default:
		out = Value{Kind: KindList}
	}
	for {
		dl, v := c.dls[c.pos], c.vals[c.pos]
		c.pos++
		switch {
		case dl < c.listDL:
			// no element: the list is null or empty
		case dl == c.maxDL && v != nil:
			ev, err := c.conv(v)
			if err != nil {
				return Value{}, err
			}
			out.List = append(out.List, ev)
		case c.maxRL == 1:
			out.List = append(out.List, Value{}) // a null element
		}
		ok, err := p.fill(c)
		if err != nil {
			return Value{}, err
		}
		if !ok || c.rls[c.pos] == 0 {
			return out, nil
		}
	}
}

// skipRows moves column c n rows forward without converting values.
func (p *parquetReader) skipRows(c *pqColumn, n int64) error {
	for n > 0 {
		ok, err := p.fill(c)
		if err != nil {
			return p.rowError(-1, fmt.Errorf("column %s: %w", c.name, err))
		}
		if !ok {
			return p.rowError(-1, fmt.Errorf("column %s: %w", c.name, errChunkShort))
		}
		if c.maxRL == 0 {
			k := min(n, int64(len(c.dls)-c.pos))
			c.pos += int(k)
			n -= k
			continue
		}
		c.pos++
		for {
			ok, err := p.fill(c)
			if err != nil {
				return p.rowError(-1, fmt.Errorf("column %s: %w", c.name, err))
			}
			if !ok || c.rls[c.pos] == 0 {
				break
			}
			c.pos++
		}
		n--
	}
	return nil
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

// pqConverter returns the function that turns the library's decoded value
// of a leaf column (bool, int32, int64, float32, float64 or string) into a
// Value of the column's logical type.
func pqConverter(el *parquet.SchemaElement) (func(any) (Value, error), error) {
	lt := el.GetLogicalType()
	ct := parquet.ConvertedType(-1)
	if el.IsSetConvertedType() {
		ct = el.GetConvertedType()
	}
	decimal := (lt != nil && lt.IsSetDECIMAL()) || ct == parquet.ConvertedType_DECIMAL
	scale := el.GetScale()
	if lt != nil && lt.IsSetDECIMAL() {
		scale = lt.DECIMAL.GetScale()
	}
	if decimal && scale < 0 {
		return nil, fmt.Errorf("decimal with negative scale %d", scale)
	}
	switch el.GetType() {
	case parquet.Type_BOOLEAN:
		return func(v any) (Value, error) {
			switch b := v.(type) {
			case bool:
				return BoolValue(b), nil
			case int64: // RLE-encoded booleans come back as bits
				return BoolValue(b != 0), nil
			}
			return badValue(v, "BOOLEAN")
		}, nil
	case parquet.Type_INT32:
		switch {
		case decimal:
			return func(v any) (Value, error) {
				i, ok := v.(int32)
				if !ok {
					return badValue(v, "INT32")
				}
				return Value{Kind: KindDecimal, Str: decimalText(strconv.FormatInt(int64(i), 10), scale)}, nil
			}, nil
		case (lt != nil && lt.IsSetDATE()) || ct == parquet.ConvertedType_DATE:
			return func(v any) (Value, error) {
				i, ok := v.(int32)
				if !ok {
					return badValue(v, "INT32")
				}
				return Value{Kind: KindDate, Int: int64(i)}, nil
			}, nil
		case (lt != nil && lt.IsSetTIME()) || ct == parquet.ConvertedType_TIME_MILLIS:
			return func(v any) (Value, error) {
				i, ok := v.(int32)
				if !ok {
					return badValue(v, "INT32")
				}
				return timeOfDay(time.Duration(i) * time.Millisecond), nil
			}, nil
		}
		unsigned := (lt != nil && lt.IsSetINTEGER() && !lt.INTEGER.GetIsSigned()) ||
			ct == parquet.ConvertedType_UINT_8 || ct == parquet.ConvertedType_UINT_16 || ct == parquet.ConvertedType_UINT_32
		return func(v any) (Value, error) {
			i, ok := v.(int32)
			if !ok {
				return badValue(v, "INT32")
			}
			if unsigned {
				return Value{Kind: KindInt, Int: int64(uint32(i))}, nil
			}
			return Value{Kind: KindInt, Int: int64(i)}, nil
		}, nil
	case parquet.Type_INT64:
		var unit time.Duration
		switch {
		case lt != nil && lt.IsSetTIMESTAMP():
			unit = timeUnit(lt.TIMESTAMP.GetUnit())
		case ct == parquet.ConvertedType_TIMESTAMP_MILLIS:
			unit = time.Millisecond
		case ct == parquet.ConvertedType_TIMESTAMP_MICROS:
			unit = time.Microsecond
		}
		switch {
		case decimal:
			return func(v any) (Value, error) {
				i, ok := v.(int64)
				if !ok {
					return badValue(v, "INT64")
				}
				return Value{Kind: KindDecimal, Str: decimalText(strconv.FormatInt(i, 10), scale)}, nil
			}, nil
		case unit != 0:
			return func(v any) (Value, error) {
				i, ok := v.(int64)
				if !ok {
					return badValue(v, "INT64")
				}
				return TimeValue(unixTime(i, unit)), nil
			}, nil
		case (lt != nil && lt.IsSetTIME()) || ct == parquet.ConvertedType_TIME_MICROS:
			tu := time.Microsecond
			if lt != nil && lt.IsSetTIME() {
				tu = timeUnit(lt.TIME.GetUnit())
			}
			return func(v any) (Value, error) {
				i, ok := v.(int64)
				if !ok {
					return badValue(v, "INT64")
				}
				return timeOfDay(time.Duration(i) * tu), nil
			}, nil
		}
		unsigned := (lt != nil && lt.IsSetINTEGER() && !lt.INTEGER.GetIsSigned()) || ct == parquet.ConvertedType_UINT_64
		return func(v any) (Value, error) {
			i, ok := v.(int64)
			if !ok {
				return badValue(v, "INT64")
			}
			if unsigned && i < 0 { // beyond int64: keep it exact
				return Value{Kind: KindDecimal, Str: strconv.FormatUint(uint64(i), 10)}, nil
			}
			return Value{Kind: KindInt, Int: i}, nil
		}, nil
	case parquet.Type_INT96:
		return func(v any) (Value, error) {
			s, ok := v.(string)
			if !ok || len(s) != 12 {
				return badValue(v, "INT96")
			}
			nanos := binary.LittleEndian.Uint64([]byte(s[:8]))
			day := int64(binary.LittleEndian.Uint32([]byte(s[8:])))
			return TimeValue(time.Unix((day-julianUnixEpoch)*86400, int64(nanos))), nil
		}, nil
	case parquet.Type_FLOAT:
		return func(v any) (Value, error) {
			f, ok := v.(float32)
			if !ok {
				return badValue(v, "FLOAT")
			}
			return Value{Kind: KindFloat, Float: float32To64(f)}, nil
		}, nil
	case parquet.Type_DOUBLE:
		return func(v any) (Value, error) {
			f, ok := v.(float64)
			if !ok {
				return badValue(v, "DOUBLE")
			}
			return Value{Kind: KindFloat, Float: f}, nil
		}, nil
	case parquet.Type_BYTE_ARRAY, parquet.Type_FIXED_LEN_BYTE_ARRAY:
		physical := el.GetType().String()
		switch {
		case decimal:
			return func(v any) (Value, error) {
				s, ok := v.(string)
				if !ok {
					return badValue(v, physical)
				}
				return Value{Kind: KindDecimal, Str: decimalText(twosText([]byte(s)), scale)}, nil
			}, nil
		case lt != nil && lt.IsSetUUID() && el.GetType() == parquet.Type_FIXED_LEN_BYTE_ARRAY:
			return func(v any) (Value, error) {
				s, ok := v.(string)
				if !ok || len(s) != 16 {
					return badValue(v, "UUID")
				}
				return Value{Kind: KindString, Str: formatUUID([]byte(s))}, nil
			}, nil
		}
		return func(v any) (Value, error) {
			s, ok := v.(string)
			if !ok {
				return badValue(v, physical)
			}
			return StringValue(s), nil
		}, nil
	}
	return nil, fmt.Errorf("unsupported physical type %s", el.GetType())
}

func badValue(v any, typ string) (Value, error) {
	return Value{}, fmt.Errorf("corrupt value: %T in a %s column", v, typ)
}

func timeUnit(u *parquet.TimeUnit) time.Duration {
	switch {
	case u == nil:
		return time.Millisecond
	case u.IsSetNANOS():
		return time.Nanosecond
	case u.IsSetMICROS():
		return time.Microsecond
	}
	return time.Millisecond
}

// unixTime converts a count of units since the epoch to a UTC time. A
// timestamp not adjusted to UTC (a wall-clock time) is read as if it were
// UTC, which keeps its fields.
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

package readers

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// DefaultMaxRecordBytes bounds one CSV record (all its lines, as written)
// when Options.MaxRecordBytes is zero.
const DefaultMaxRecordBytes = 4 << 20

// csvSplitReadSize is the read buffer: a line longer than it is parsed in
// pieces, never held whole.
const csvSplitReadSize = 256 << 10

// csvSplitter cuts CSV text into records with the rules of encoding/csv
// (RFC 4180: quoted fields, "" for a quote, \r\n read as \n, blank lines
// skipped), but it never holds more than max bytes of one record: a longer
// record is read past, tracking its quotes, and reported as too long. It
// also knows where each field starts in the input, so a bad byte can be
// named by its offset.
type csvSplitter struct {
	br    *bufio.Reader
	comma []byte // the delimiter as UTF-8
	max   int
	// maxFields bounds the fields kept of one record (the rest are only
	// counted); 0 keeps all, up to what max bytes allows.
	maxFields int
	// stopOver returns a record over max bytes as soon as it is, without
	// reading past it (for the header, which is fatal then anyway).
	stopOver bool

	off       int64 // bytes consumed, from where the splitter started
	line      int64 // newlines consumed
	pendingCR bool  // a '\r' ended the last piece of a long line

	buf    []byte  // unescaped text of the record's fields
	ends   []int   // end of each field in buf
	starts []int64 // offset of each field's first content byte
	// text holds every byte of the record's fields, for checkText: the
	// fields' text joined, or the whole line as written when splitLine cut
	// the record. Either is valid UTF-8 without NUL when every field is;
	// the converse needs every field to start on a rune (runeAligned).
	text string
	// noFast turns splitLine off, to test it against the general path.
	noFast bool
	// dialect, when set, reads another text dialect (see nextDialect).
	dialect *csvDialect
	// textN reads an unquoted \N as the text it is, not as null.
	textN bool

	// The field being cut by the general paths: where its text starts in
	// buf, whether it was quoted, whether it began with an escaped \N
	// (dialects: esc is a backslash waiting for its character).
	fieldAt                int
	fieldQuoted, fieldNull bool
	esc                    bool

	// Records' texts and field slices are cut from blocks shared by the
	// records that follow (see slabText): two allocations per record cost
	// more than the mapping of most cells, and feed the collector.
	textSlab  strings.Builder
	fieldSlab []string
	// Their sizes: csvTextSlab and csvFieldsSlab, or less for a small file.
	textSlabSize, fieldsSlabSize int

	// The record being cut.
	rec     csvRecord
	state   int
	over    bool  // longer than max: read past, keep nothing
	lineOff int64 // offset of the current line's first byte
}

// csvRecord is one record the splitter cut.
type csvRecord struct {
	fields []string
	off    int64 // offset of the record's first byte
	line   int64 // 1-based line, counted from where the splitter started
	// nfields counts every field, kept or not.
	nfields int
	// bad, if set, makes the record a reject: a quote out of place, or a
	// record over max bytes.
	bad *csvProblem
}

// csvProblem is what is wrong with one record.
type csvProblem struct {
	rule string // csv.quote, csv.size, ...
	line int64  // line of the problem, counted like csvRecord.line
	col  int    // 1-based byte column in that line, 0 when not known
	err  error
}

func newCSVSplitter(r io.Reader, comma rune, max int) *csvSplitter {
	return newCSVSplitterSize(r, comma, max, csvSplitReadSize)
}

// newCSVSplitterSize is newCSVSplitter with a read buffer of size bytes
// (for a small file, its size).
func newCSVSplitterSize(r io.Reader, comma rune, max, size int) *csvSplitter {
	if comma == 0 {
		comma = ','
	}
	if max <= 0 {
		max = DefaultMaxRecordBytes
	}
	// A file smaller than a block holds fewer bytes than its size, and
	// fewer fields (a record that does not fit takes a new block).
	return &csvSplitter{br: bufio.NewReaderSize(r, size), comma: utf8.AppendRune(nil, comma), max: max,
		textSlabSize: min(size, csvTextSlab), fieldsSlabSize: min(size/8+16, csvFieldsSlab)}
}

// Parse states.
const (
	stFieldStart = iota
	stUnquoted
	stQuoted
	stQuoteSeen // a quote inside a quoted field: "" or the field's end
	stSkipLine  // after a quote error: the rest of the line is dropped
)

// next returns the next record, io.EOF after the last, or the error that
// stopped reading (sticky in the caller).
func (s *csvSplitter) next() (csvRecord, error) {
	if s.dialect != nil {
		return s.nextDialect()
	}
	s.reset()
	for {
		seg, segOff, err := s.piece()
		full, eof := err == bufio.ErrBufferFull, err == io.EOF
		if err != nil && !full && !eof {
			return csvRecord{}, err
		}
		if s.carriedCR(seg, segOff) {
			s.feed([]byte{'\r'}, segOff-1)
		}
		content, nl := s.lineContent(seg, full, eof, false)
		if s.rec.off < 0 {
			if s.blank(content, nl) {
				continue
			}
			if eof && len(content) == 0 {
				return csvRecord{}, io.EOF
			}
			s.rec.off, s.rec.line, s.lineOff = segOff, s.line+1, segOff
			// Most records are one line that fits the read buffer and
			// holds no quote that needs unescaping: their fields are cut
			// from one copy of the line.
			if !full && !s.noFast && len(seg) <= s.max && len(s.comma) == 1 && s.splitLine(content, segOff) {
				if nl {
					s.line++
				}
				return s.rec, nil
			}
		}
		s.feed(content, segOff)
		if s.overMax() {
			return s.stoppedOver(), nil
		}
		if full {
			continue
		}
		if nl {
			s.line++
		}
		// The line ended (or the input did).
		if s.quotedGoesOn(eof) {
			continue
		}
		switch s.state {
		case stFieldStart:
			s.startField(s.off)
			s.endField()
		case stUnquoted:
			s.endUnquoted()
		case stQuoteSeen:
			s.endField()
		}
		return s.cut(), nil
	}
}

// carriedCR reports whether a '\r' that ended the last piece of a long
// line is data: it is, unless this piece, seg at offset segOff, starts
// the "\n" of a "\r\n" or nothing follows (a final '\r' is dropped, as
// encoding/csv does). A '\r' that is data and comes before any record
// (the one it ended was returned over max bytes, stopOver) starts one.
func (s *csvSplitter) carriedCR(seg []byte, segOff int64) bool {
	if !s.pendingCR {
		return false
	}
	s.pendingCR = false
	if len(seg) == 0 || seg[0] == '\n' {
		return false
	}
	if s.rec.off < 0 {
		s.rec.off, s.rec.line, s.lineOff = segOff-1, s.line+1, segOff-1
	}
	return true
}

// lineContent is seg, a line or a piece of one, without its line end: the
// "\n" or "\r\n" of a whole line (nl), a final '\r' of the input (dropped,
// as encoding/csv does), or a '\r' ending a piece of a long line, held in
// pendingCR until the next piece says whether a '\n' follows. An escaped
// '\r' (escapedCR) is data, not a line end.
func (s *csvSplitter) lineContent(seg []byte, full, eof, escapedCR bool) (content []byte, nl bool) {
	content = seg
	if !full && !eof {
		nl = true
		content = content[:len(content)-1]
	}
	if n := len(content); n > 0 && content[n-1] == '\r' && !escapedCR {
		content = content[:n-1]
		s.pendingCR = full
	}
	return content, nl
}

// blank reports whether content, read before a record starts, is a blank
// line between records, and counts it.
func (s *csvSplitter) blank(content []byte, nl bool) bool {
	if nl && len(content) == 0 {
		s.line++
		return true
	}
	return false
}

// quotedGoesOn reports whether a line ended inside a quoted field that
// goes on on the next line, its line end read as '\n'; at the input's end
// the field is left open, a quote error.
func (s *csvSplitter) quotedGoesOn(eof bool) bool {
	if s.state != stQuoted {
		return false
	}
	if !eof {
		s.lineGoesOn()
		return true
	}
	s.fail("csv.quote", int(s.off-s.lineOff)+1, csv.ErrQuote)
	return false
}

// lineGoesOn reads a line end inside a field as the '\n' it stands for.
func (s *csvSplitter) lineGoesOn() {
	s.add([]byte{'\n'})
	s.lineOff = s.off
}

// overMax marks the record as over max bytes once it is, dropping what
// was kept of it, and reports whether to return it at once (stopOver).
func (s *csvSplitter) overMax() bool {
	if s.over || int(s.off-s.rec.off) <= s.max {
		return false
	}
	s.over = true
	s.buf, s.ends, s.starts = s.buf[:0], s.ends[:0], s.starts[:0]
	return s.stopOver
}

// stoppedOver is the record cut short when stopOver is set: longer than
// max.
func (s *csvSplitter) stoppedOver() csvRecord {
	rec := s.rec
	rec.bad = &csvProblem{rule: "csv.size", line: rec.line, err: fmt.Errorf("longer than source.csv.max_record_bytes (%d)", s.max)}
	return rec
}

// cut returns the record whose fields the general path has read into buf.
func (s *csvSplitter) cut() csvRecord {
	rec := s.rec
	if s.over {
		rec.bad = &csvProblem{rule: "csv.size", line: rec.line, err: fmt.Errorf("the record is %d bytes, longer than source.csv.max_record_bytes (%d); it was read past, not kept", s.off-rec.off, s.max)}
		if cap(s.buf) > 2*s.max {
			s.buf = nil
		}
		return rec
	}
	str := s.slabText(s.buf)
	s.text = str
	rec.fields = s.slabFields(len(s.ends))
	pre := 0
	for i, end := range s.ends {
		rec.fields[i] = str[pre:end]
		pre = end
	}
	return rec
}

// endUnquoted ends an unquoted field of the default dialect: one that is
// exactly \N is null, the empty text.
func (s *csvSplitter) endUnquoted() {
	if !s.over && !s.textN && len(s.buf)-s.fieldAt == 2 && string(s.buf[s.fieldAt:]) == nullMarker {
		s.buf = s.buf[:s.fieldAt]
	}
	s.endField()
}

// reset starts a new record.
func (s *csvSplitter) reset() {
	s.buf, s.ends, s.starts, s.text = s.buf[:0], s.ends[:0], s.starts[:0], ""
	s.rec = csvRecord{off: -1}
	s.state, s.over, s.lineOff, s.esc = stFieldStart, false, 0, false
}

// piece reads the next line, or the next piece of a line longer than the
// read buffer (err bufio.ErrBufferFull), which starts at offset segOff.
func (s *csvSplitter) piece() (seg []byte, segOff int64, err error) {
	seg, err = s.br.ReadSlice('\n')
	segOff = s.off
	s.off += int64(len(seg))
	return seg, segOff, err
}

// Slab sizes: a block holds the text or the field slices of about 200
// records of the usual width. A record keeps its whole block alive, so
// blocks stay small (a rejected row held until it is written keeps 32 KiB,
// not megabytes).
const (
	csvTextSlab   = 32 << 10
	csvFieldsSlab = 2 << 10
)

// slabText returns p, a record's text, as a string cut from the current
// text block. The block is a strings.Builder that is only ever appended
// to, so the strings handed out before never change; a record that does
// not fit starts a new block, and a long one gets its own.
func (s *csvSplitter) slabText(p []byte) string {
	n := len(p)
	switch {
	case n == 0:
		return ""
	case n > csvTextSlab/8:
		return string(p)
	case s.textSlab.Cap()-s.textSlab.Len() < n:
		s.textSlab = strings.Builder{}
		s.textSlab.Grow(max(s.textSlabSize, n))
	}
	start := s.textSlab.Len()
	s.textSlab.Write(p)
	return s.textSlab.String()[start:]
}

// splitLine cuts the record that is the whole of line, a line without its
// end that starts at offset at, when it is the usual kind: a one-byte
// delimiter, fields unquoted or quoted without a "" or a line end inside,
// no more fields than maxFields. Its fields are cut from one copy of the
// line, quotes and delimiters left in between, with the starts the
// general path (feed) gives them. It returns false, changing nothing the
// general path reads, for any other line, and for a line with a quote
// error, which that path reports.
func (s *csvSplitter) splitLine(line []byte, at int64) bool {
	ends, starts, marker, ok := s.fieldBounds(line)
	if !ok {
		s.ends, s.starts = ends[:0], starts[:0]
		return false
	}
	s.ends, s.starts = ends, starts
	text := s.slabText(line)
	fields := s.slabFields(len(ends))
	fields, starts = fields[:len(ends)], starts[:len(ends)]
	for i, end := range ends {
		fields[i] = text[starts[i]:end]
		starts[i] += at
	}
	if marker && !s.textN {
		s.nullMarkers(line, at, fields, starts)
	}
	if n := len(ends); n > 1 && ends[n-1] == len(line) && line[len(line)-1] == s.comma[0] {
		// An empty last field after a delimiter starts, for feed, where
		// the next line does.
		starts[n-1] = s.off
	}
	s.text = text
	s.rec.fields, s.rec.nfields = fields, len(fields)
	return true
}

// fieldBounds finds, for splitLine, where each field of line begins
// (starts, an index in line) and ends (ends), and whether an unquoted one
// may be \N (marker). ok is false for a line splitLine leaves to the
// general path; the slices are s.ends and s.starts, kept for their
// capacity, grown only when a line has more fields than any before.
func (s *csvSplitter) fieldBounds(line []byte) (ends []int, starts []int64, marker, ok bool) {
	c := s.comma[0]
	q := bytes.IndexByte(line, '"') // the next quote at or after pos
	if q < 0 {
		q = len(line)
	}
	limit := s.maxFields // the general path counts the fields it drops
	if limit == 0 {
		limit = -1
	}
	// Each field is stored at its index n in the room the slices have.
	ends, starts = s.ends[:cap(s.ends)], s.starts[:cap(s.starts)]
	n := 0
	pos := 0
	for n != limit {
		if n >= len(ends) || n >= len(starts) {
			ends, starts = append(ends[:n], 0), append(starts[:n], 0)
			ends, starts = ends[:cap(ends)], starts[:cap(starts)]
		}
		if pos == q && pos < len(line) {
			// A quoted field: it must close on this line, before the
			// delimiter or the line's end.
			j := bytes.IndexByte(line[pos+1:], '"')
			if j < 0 {
				break
			}
			end := pos + 1 + j
			starts[n], ends[n] = int64(pos+1), end
			n++
			if end+1 == len(line) {
				ok = true
				break
			}
			if line[end+1] != c {
				break // "" or a quote error
			}
			pos = end + 2
			if q = bytes.IndexByte(line[pos:], '"'); q < 0 {
				q = len(line)
			} else {
				q += pos
			}
			continue
		}
		end := indexFrom(line, pos, c)
		if q < end {
			break // a bare quote
		}
		starts[n], ends[n] = int64(pos), end
		n++
		if end-pos == 2 && line[pos] == '\\' {
			marker = true
		}
		if end == len(line) {
			ok = true
			break
		}
		pos = end + 1
	}
	return ends[:n], starts[:n], marker, ok
}

// nullMarkers empties the unquoted fields of a line cut by splitLine that
// are exactly \N: they are null.
func (s *csvSplitter) nullMarkers(line []byte, at int64, fields []string, starts []int64) {
	for i, f := range fields {
		if f == nullMarker && (starts[i] == at || line[starts[i]-at-1] != '"') {
			fields[i] = ""
		}
	}
}

// slabFields returns a slice of n strings cut from the current field
// block, capped at n so that appending to it cannot reach the next
// record's fields.
func (s *csvSplitter) slabFields(n int) []string {
	if n > csvFieldsSlab/8 {
		return make([]string, n)
	}
	if cap(s.fieldSlab)-len(s.fieldSlab) < n {
		s.fieldSlab = make([]string, 0, max(s.fieldsSlabSize, n))
	}
	start := len(s.fieldSlab)
	s.fieldSlab = s.fieldSlab[:start+n]
	return s.fieldSlab[start : start+n : start+n]
}

func (s *csvSplitter) fail(rule string, col int, err error) {
	if s.rec.bad == nil {
		s.rec.bad = &csvProblem{rule: rule, line: s.line + 1, col: col, err: err}
	}
	s.state = stSkipLine
}

func (s *csvSplitter) endField() {
	s.rec.nfields++
	if s.over || (s.maxFields > 0 && len(s.ends) >= s.maxFields) {
		return
	}
	s.ends = append(s.ends, len(s.buf))
}

func (s *csvSplitter) startField(at int64) {
	if !s.over && (s.maxFields == 0 || len(s.starts) < s.maxFields) {
		s.starts = append(s.starts, at)
	}
}

func (s *csvSplitter) add(p []byte) {
	if !s.over {
		s.buf = append(s.buf, p...)
	}
}

// feed parses content, the bytes of one line (or a piece of a long one)
// without its line end, which starts at offset at. It works on local
// copies of the record's slices, stored back once: appending through s on
// every field costs a GC write barrier each. Its steps are inlined
// helpers that take and return those copies.
func (s *csvSplitter) feed(content []byte, at int64) {
	buf, ends, starts, state := s.buf, s.ends, s.starts, s.state
	keep := !s.over
	// Most lines hold no quote at all: one look for it over the line
	// instead of one in every unquoted field.
	quotes := bytes.IndexByte(content, '"') >= 0
	defer func() { s.buf, s.ends, s.starts = buf, ends, starts }()
	for len(content) > 0 {
		switch state {
		case stFieldStart:
			quoted := content[0] == '"'
			if quoted {
				content, at = content[1:], at+1
			}
			starts = s.keepStart(starts, at, len(ends), keep)
			s.fieldAt = len(buf)
			state = stUnquoted
			if quoted {
				state = stQuoted
			}
		case stUnquoted:
			var i int
			if len(s.comma) == 1 {
				i = bytes.IndexByte(content, s.comma[0])
			} else {
				i = bytes.Index(content, s.comma)
			}
			field := content
			if i >= 0 {
				field = content[:i]
			}
			if j := bareQuote(field, quotes); j >= 0 {
				s.state = state
				s.fail("csv.quote", int(at-s.lineOff)+j+1, csv.ErrBareQuote)
				return
			}
			buf = keepBytes(buf, field, keep)
			if i < 0 {
				s.state = state
				return
			}
			if keep && !s.textN {
				buf = trimNull(buf, s.fieldAt)
			}
			ends = s.keepEnd(ends, len(buf), keep)
			content, at = content[i+len(s.comma):], at+int64(i+len(s.comma))
			state = stFieldStart
		case stQuoted:
			i := bytes.IndexByte(content, '"')
			if i < 0 {
				buf = keepBytes(buf, content, keep)
				s.state = state
				return
			}
			buf = keepBytes(buf, content[:i], keep)
			content, at = content[i+1:], at+int64(i+1)
			state = stQuoteSeen
		case stQuoteSeen:
			switch {
			case content[0] == '"':
				buf = keepBytes(buf, content[:1], keep)
				content, at = content[1:], at+1
				state = stQuoted
			case bytes.HasPrefix(content, s.comma):
				ends = s.keepEnd(ends, len(buf), keep)
				content, at = content[len(s.comma):], at+int64(len(s.comma))
				state = stFieldStart
			default:
				s.state = state
				s.fail("csv.quote", int(at-s.lineOff), csv.ErrQuote)
				return
			}
		default: // stSkipLine
			s.state = state
			return
		}
	}
	s.state = state
}

// keepStart appends at, a field's start, to starts (feed's copy) when the
// record is kept and has room for the field: ends holds n fields.
func (s *csvSplitter) keepStart(starts []int64, at int64, n int, keep bool) []int64 {
	if keep && (s.maxFields == 0 || n < s.maxFields) {
		starts = append(starts, at)
	}
	return starts
}

// keepEnd counts a field that ends at end in buf and appends end to ends
// (feed's copy) when the record is kept and has room for it.
func (s *csvSplitter) keepEnd(ends []int, end int, keep bool) []int {
	s.rec.nfields++
	if keep && (s.maxFields == 0 || len(ends) < s.maxFields) {
		ends = append(ends, end)
	}
	return ends
}

// keepBytes appends p to buf when the record is kept.
func keepBytes(buf, p []byte, keep bool) []byte {
	if keep {
		buf = append(buf, p...)
	}
	return buf
}

// bareQuote returns the index of a quote in field, an unquoted field, or
// -1; it looks only when the line holds quotes.
func bareQuote(field []byte, quotes bool) int {
	if !quotes {
		return -1
	}
	return bytes.IndexByte(field, '"')
}

// trimNull empties the field that starts at fieldAt in buf when it is
// exactly \N, null.
func trimNull(buf []byte, fieldAt int) []byte {
	if len(buf)-fieldAt == 2 && string(buf[fieldAt:]) == nullMarker {
		return buf[:fieldAt]
	}
	return buf
}

// checkText finds the first field of rec holding invalid UTF-8 or a NUL
// byte: its index, and the offset of the bad byte in the input.
func (s *csvSplitter) checkText(rec *csvRecord) (field int, off int64, b byte, ok bool) {
	if utf8.ValidString(s.text) && strings.IndexByte(s.text, 0) < 0 && runeAligned(rec.fields) {
		return 0, 0, 0, true
	}
	for i, f := range rec.fields {
		j := strings.IndexByte(f, 0)
		if !utf8.ValidString(f) {
			k := invalidUTF8At(f)
			if j < 0 || k < j {
				j = k
			}
		}
		if j >= 0 {
			// Quotes written "" stand for one byte each.
			at := s.starts[i] + int64(j) + int64(strings.Count(f[:j], `"`))
			return i, at, f[j], false
		}
	}
	return 0, 0, 0, true
}

// runeAligned reports whether every field begins at a rune's first byte.
// Fields joined without their delimiters can make valid UTF-8 of two bad
// ends ("\xc8" then "\xb0" is "Ȱ"), so a valid text says every field is
// valid only when no field starts inside a rune.
func runeAligned(fields []string) bool {
	for _, f := range fields {
		if f != "" && !utf8.RuneStart(f[0]) {
			return false
		}
	}
	return true
}

// indexFrom returns the index of the first c in p at or after from, or
// len(p). It reads eight bytes a step, which for the short fields of most
// lines beats a call of bytes.IndexByte per field.
func indexFrom(p []byte, from int, c byte) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	cc := lo * uint64(c)
	i := from
	for ; i+8 <= len(p); i += 8 {
		// The lowest byte of v that is 0 is the first c (a borrow can
		// only mark bytes above it).
		v := binary.LittleEndian.Uint64(p[i:]) ^ cc
		if m := (v - lo) &^ v & hi; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p) && p[i] != c; i++ {
	}
	return i
}

func invalidUTF8At(p string) int {
	for i := 0; i < len(p); {
		if p[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

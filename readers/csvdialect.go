package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"unicode/utf8"
)

// csvDialect is a text dialect other than RFC 4180's, read by nextDialect
// (the default dialect keeps its own fast path):
//   - quote: the quote character, or none (quotes are data);
//   - escape '\\': backslash escapes as PostgreSQL's text format and
//     MySQL/MariaDB write them: \\ \t \n \r \0 \b \f \v \Z \" and a
//     backslash before any other character (a delimiter, a raw tab or
//     line end, as MariaDB writes them inside a value) stands for that
//     character; an unescaped \N is null.
//
// In every dialect, an unquoted field that is exactly \N is null (read as
// the empty text, which is null), unless Options.TextNullMarker says it is
// text.
type csvDialect struct {
	quote  byte // 0: no quoting
	escape byte // 0: no escapes
}

// nullMarker is the NULL of PostgreSQL's text format, MySQL and MariaDB,
// Hive and Snowflake unloads.
const nullMarker = `\N`

// nextDialect is next for a csvDialect.
func (s *csvSplitter) nextDialect() (csvRecord, error) {
	s.reset()
	plain := true // every byte as written is UTF-8 without NUL
	for {
		seg, segOff, err := s.piece()
		full, eof := err == bufio.ErrBufferFull, err == io.EOF
		if err != nil && !full && !eof {
			return csvRecord{}, err
		}
		if s.carriedCR(seg, segOff) {
			s.feedDialect([]byte{'\r'}, segOff-1)
		}
		// A line's "\r\n" end is its end; an escaped '\r' is data.
		content, nl := s.lineContent(seg, full, eof, s.escapedCR(seg, !full && !eof))
		if s.rec.off < 0 {
			if s.blank(content, nl) {
				continue
			}
			if eof && len(content) == 0 {
				return csvRecord{}, io.EOF
			}
			s.rec.off, s.rec.line, s.lineOff = segOff, s.line+1, segOff
		}
		if plain && (!utf8.Valid(content) || bytes.IndexByte(content, 0) >= 0) {
			plain = false
		}
		s.feedDialect(content, segOff)
		if s.overMax() {
			return s.stoppedOver(), nil
		}
		if full {
			continue
		}
		if nl {
			s.line++
		}
		if s.esc && !eof {
			// A backslash and a raw line end: the line end is data.
			s.esc = false
			s.lineGoesOn()
			continue
		}
		if s.quotedGoesOn(eof) {
			continue
		}
		if s.esc { // a backslash ends the input: itself
			s.add([]byte{'\\'})
		}
		switch s.state {
		case stFieldStart:
			s.startField(s.off)
			s.fieldAt, s.fieldQuoted, s.fieldNull = len(s.buf), false, false
			s.endDialectField()
		case stUnquoted, stQuoteSeen:
			s.endDialectField()
		}
		break
	}
	rec := s.cut()
	if plain {
		s.text = "" // checkText: nothing to look for
	}
	return rec, nil
}

// escapedCR reports whether seg, a line or a piece of one (nl: ending in
// its '\n'), ends in a '\r' that an escape makes data: one after an odd
// run of escapes, counting one left waiting by the piece before (`x\\`
// then "\r\n" is x\ and a line end; `x\` then "\r\n" is "x\r").
func (s *csvSplitter) escapedCR(seg []byte, nl bool) bool {
	esc, n := s.dialect.escape, len(seg)
	if nl {
		n--
	}
	if esc == 0 || n < 1 || seg[n-1] != '\r' {
		return false
	}
	i := n - 1
	for i > 0 && seg[i-1] == esc {
		i--
	}
	run := n - 1 - i
	if i == 0 && s.esc {
		run++
	}
	return run%2 == 1
}

// feedDialect is feed for a csvDialect: content is one line (or a piece
// of a long one) without its line end, starting at offset at.
func (s *csvSplitter) feedDialect(content []byte, at int64) {
	d := s.dialect
	comma := s.comma
	for i := 0; i < len(content); {
		if s.esc {
			i = s.unescape(content, i)
			continue
		}
		switch s.state {
		case stFieldStart:
			s.fieldAt, s.fieldQuoted, s.fieldNull = len(s.buf), false, false
			s.state = stUnquoted
			if d.quote != 0 && content[i] == d.quote {
				s.fieldQuoted, s.state = true, stQuoted
				i++
			}
			s.startField(at + int64(i))
		case stUnquoted:
			// The run up to the next delimiter or escape is text.
			i = s.addRun(content, i, comma[0])
			switch {
			case i == len(content):
			case content[i] == d.escape && d.escape != 0:
				s.esc = true
				i++
			case bytes.HasPrefix(content[i:], comma):
				s.endDialectField()
				s.state = stFieldStart
				i += len(comma)
			default: // the first byte of a longer delimiter, not all of it
				s.add(content[i : i+1])
				i++
			}
		case stQuoted:
			i = s.addRun(content, i, d.quote)
			switch {
			case i == len(content):
			case content[i] == d.quote:
				s.state = stQuoteSeen
				i++
			default:
				s.esc = true
				i++
			}
		case stQuoteSeen:
			switch {
			case content[i] == d.quote:
				s.add(content[i : i+1])
				s.state = stQuoted
				i++
			case bytes.HasPrefix(content[i:], comma):
				s.endDialectField()
				s.state = stFieldStart
				i += len(comma)
			default:
				s.fail("csv.quote", int(at-s.lineOff)+i, csv.ErrQuote)
				return
			}
		default: // stSkipLine
			return
		}
	}
}

// unescape adds what the backslash before content[i] and the character
// at i stand for (a delimiter of more than one byte stands for itself
// whole), marks an escaped \N as null, and returns where the text after
// them starts.
func (s *csvSplitter) unescape(content []byte, i int) int {
	s.esc = false
	b := content[i]
	i++
	switch b {
	case 'N':
		s.fieldNull = !s.fieldQuoted && !s.textN && len(s.buf) == s.fieldAt
	case 't':
		b = '\t'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case '0':
		b = 0
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'v':
		b = '\v'
	case 'Z':
		b = 0x1a
	default:
		if comma := s.comma; len(comma) > 1 && bytes.HasPrefix(content[i-1:], comma) {
			s.add(comma)
			return i + len(comma) - 1
		}
	}
	s.add([]byte{b})
	return i
}

// addRun adds the text of content from i up to the first stop byte or
// escape, and returns where that is (len(content) if nowhere).
func (s *csvSplitter) addRun(content []byte, i int, stop byte) int {
	j := i
	for esc := s.dialect.escape; j < len(content) && content[j] != stop && (content[j] != esc || esc == 0); j++ {
	}
	s.add(content[i:j])
	return j
}

// endDialectField ends a field; an unquoted \N (escaped, or as written
// where there are no escapes) is null: the empty text.
func (s *csvSplitter) endDialectField() {
	if !s.over && !s.fieldQuoted {
		f := s.buf[s.fieldAt:]
		if s.fieldNull && len(f) == 1 || s.dialect.escape == 0 && !s.textN && string(f) == nullMarker {
			s.buf = s.buf[:s.fieldAt]
		}
	}
	s.endField()
}

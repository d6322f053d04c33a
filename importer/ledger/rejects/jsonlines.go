package rejects

import (
	"strconv"
	"unicode/utf8"

	"github.com/insider-import/insider-import/readers"
)

// Record is one rejected row as the files write it.
type Record struct {
	Pos      readers.Position // where the row was read
	Cells    []string         // its cells as text, in the input's order
	Reason   string           // one line: why it was rejected
	Problems []Problem        // what the importer found, if it was
	Messages []string         // Insider's messages, if Insider rejected it
}

// Problem is one reason found in a row: the importer's Problem, converted
// field for field.
type Problem struct {
	Column, Field, Rule, Msg string
}

// appendJSONLines appends one JSON line a reject to b: file, row, line,
// reason, problems, Insider's messages, and the cells by column (cols).
func appendJSONLines(b []byte, file string, cols []string, recs []Record) []byte {
	for _, rr := range recs {
		b = append(b, `{"file":`...)
		b = appendString(b, file)
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, rr.Pos.Row(), 10)
		if rr.Pos.Line > 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, rr.Pos.Line, 10)
		}
		b = append(b, `,"reason":`...)
		b = appendString(b, rr.Reason)
		if len(rr.Problems) > 0 {
			b = append(b, `,"problems":[`...)
			for i, p := range rr.Problems {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				first := true
				for _, kv := range [][2]string{{"column", p.Column}, {"field", p.Field}, {"rule", p.Rule}, {"message", p.Msg}} {
					if kv[1] == "" {
						continue
					}
					b = appendKey(b, first, kv[0])
					b = appendString(b, kv[1])
					first = false
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		if len(rr.Messages) > 0 {
			b = append(b, `,"insider_messages":[`...)
			for i, m := range rr.Messages {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, m)
			}
			b = append(b, ']')
		}
		b = append(b, `,"cells":{`...)
		for i, v := range rr.Cells {
			name := "column_" + strconv.Itoa(i+1)
			if i < len(cols) {
				name = cols[i]
			}
			b = appendKey(b, i == 0, name)
			b = appendString(b, v)
		}
		b = append(b, "}}\n"...)
	}
	return b
}

// appendString appends s as a JSON string, byte for byte as the importer's
// payload encoder does (one byte a step, as its reference test does:
// rejects are few). Invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are
// escaped.
func appendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendKey appends "key": to an object, preceded by a comma unless it is
// the object's first member.
func appendKey(dst []byte, first bool, key string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = appendString(dst, key)
	return append(dst, ':')
}

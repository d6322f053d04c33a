package importer

import (
	"strconv"
	"unicode/utf8"
)

// The payload is written with a small appender into reused buffers rather
// than encoding/json: it decides the pipeline's ceiling (PERFORMANCE.md),
// and its output is deterministic, so the same rows always give the same
// bytes and a re-sent batch is byte-identical.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	i := plainPrefix(s)
	dst = append(dst, '"')
	dst = append(dst, s[:i]...) // most cells are plain ASCII: all of s
	if i < len(s) {
		dst = appendStringRest(dst, s[i:])
	}
	return append(dst, '"')
}

// plainPrefix returns how many bytes at the start of s need no escaping
// or decoding in a JSON string (see plainASCII8): len(s) for most cells.
// It tests eight bytes a step; the end of a long cell in one step too (its
// last eight bytes, overlapping the step before), and a cell of four to
// seven bytes as two overlapping four-byte loads.
func plainPrefix(s string) int {
	n := len(s)
	i := 0
	switch {
	case n < 4:
	case n < 8:
		if plainASCII8(uint64(load32(s)) | uint64(load32(s[n-4:]))<<32) {
			return n
		}
	default:
		for ; i+8 <= n; i += 8 {
			if !plainASCII8(load64(s[i:])) {
				break
			}
		}
		if i == n || (i+8 > n && plainASCII8(load64(s[n-8:]))) {
			return n
		}
	}
	for i < n && jsonPlain[s[i]] {
		i++
	}
	return i
}

// jsonPlain tells the bytes that stand for themselves in a JSON string:
// ASCII but control characters, '"' and '\\'.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// load32 and load64 read the first four or eight bytes of s, little
// endian, in one load.
func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendStringRest appends the JSON string content of s, from the first
// byte that needs escaping or decoding on.
func appendStringRest(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
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
	return append(dst, s[start:]...)
}

// plainASCII8 reports whether none of the eight bytes of w needs escaping
// in a JSON string: each is ASCII, not a control character, '"' or '\\'.
// (The zero-byte tests below can flag a byte next to a real hit, never one
// where there is none.)
func plainASCII8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	special := w & highs                    // >= 0x80
	special |= (w - ones*0x20) & ^w & highs // < 0x20
	q, b := w^(ones*'"'), w^(ones*'\\')
	special |= (q - ones) & ^q & highs // '"'
	special |= (b - ones) & ^b & highs // '\\'
	return special == 0
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

// appendFieldKey is appendKey for a field's name, encoded once (f.key).
func appendFieldKey(dst []byte, first bool, f *Field) []byte {
	if f.key == "" {
		return appendKey(dst, first, f.Name)
	}
	if !first {
		dst = append(dst, ',')
	}
	return append(dst, f.key...)
}

func appendInt(dst []byte, i int64) []byte { return strconv.AppendInt(dst, i, 10) }

func appendFloat(dst []byte, f float64) []byte { return strconv.AppendFloat(dst, f, 'f', -1, 64) }

// isJSONNumber reports whether s is a number literal as JSON writes it.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

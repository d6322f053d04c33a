package jsonstr

import (
	"testing"
	"unicode/utf8"
)

// appendStringRef is AppendString as it was before its fast paths (one
// byte a step past the eight-byte loop): the tests hold the fast paths to
// its exact bytes.
func appendStringRef(dst []byte, s string) []byte {
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

// TestAppendStringEveryPosition puts each byte that needs escaping or
// decoding (and some that do not) at every position of strings of 0 to
// 20 bytes, one or two of them, so that each falls at every offset of the
// one-load steps (four and eight bytes, overlapping at the end).
func TestAppendStringEveryPosition(t *testing.T) {
	specials := []string{"\"", "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", " ", "~", "é", "€", "\U0001F600",
		"\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80"}
	for n := 0; n <= 20; n++ {
		base := []byte("abcdefghijklmnopqrstuvwxyz"[:n])
		check := func(s string) {
			t.Helper()
			got, want := AppendString([]byte("x"), s), appendStringRef([]byte("x"), s)
			if string(got) != string(want) {
				t.Fatalf("%q: %s, want %s", s, got, want)
			}
		}
		check(string(base))
		for pos := 0; pos <= n; pos++ {
			for _, sp := range specials {
				one := string(base[:pos]) + sp + string(base[pos:])
				check(one)
				for pos2 := pos; pos2 <= n; pos2++ {
					check(string(base[:pos]) + sp + string(base[pos:pos2]) + "\"" + string(base[pos2:]))
				}
			}
		}
	}
}

// FuzzAppendStringSame: AppendString writes the bytes it wrote before its
// fast paths, whatever the text.
func FuzzAppendStringSame(f *testing.F) {
	for _, s := range []string{"", "abc", "abcd", "abcdefg\"", "abcdefgh\\", "Schröder", "a\u2028b", "12345678901\xff", "\x7f\x7f\x7f\x7f\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString(nil, s), appendStringRef(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	})
}

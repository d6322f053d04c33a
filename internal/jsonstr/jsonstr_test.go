package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppendString: the JSON string AppendString writes decodes to the text
// given (each invalid byte as U+FFFD), whatever bytes it holds and wherever
// they fall against the eight-byte steps of its fast path.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", "12345678\"", "1234567\\8", "abcdefgh\x1f", "abcdefghé", "\u2028 line", "abcdefg\xffhij", "~~~~~~~~\x7f\x7f", "tab\tnew\nline\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString([]byte("x"), s)
		if out[0] != 'x' {
			t.Fatalf("prefix lost: %q", out)
		}
		var got string
		if err := json.Unmarshal(out[1:], &got); err != nil {
			t.Fatalf("%q gave %s: %v", s, out[1:], err)
		}
		var want strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r) // RuneError for an invalid byte
			i += n
		}
		if got != want.String() {
			t.Fatalf("%q gave %s, which decodes to %q", s, out[1:], got)
		}
		for _, c := range out[1:] {
			if c < 0x20 {
				t.Fatalf("%q gave a raw control byte: %q", s, out)
			}
		}
		if strings.ContainsAny(string(out), "\u2028\u2029") {
			t.Fatalf("%q: U+2028/2029 left raw: %q", s, out)
		}
	})
}

func TestPlainASCII8(t *testing.T) {
	word := func(s string) uint64 {
		var w uint64
		for i := 7; i >= 0; i-- {
			w = w<<8 | uint64(s[i])
		}
		return w
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			want := c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
			if got := plainASCII8(word(string(b))); got != want {
				t.Fatalf("byte %#x at %d: plain %v, want %v", c, pos, got, want)
			}
		}
	}
}

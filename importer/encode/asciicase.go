package encode

import "encoding/binary"

func upperInPlace(b []byte) {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
}

// lowerInPlace lower-cases the ASCII letters of b (emails, about 25
// bytes), eight bytes a step; the last step overlaps the one before, which
// lower-casing twice does not change.
func lowerInPlace(b []byte) {
	if len(b) < 8 {
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c - 'A' + 'a'
			}
		}
		return
	}
	for i := 0; i < len(b); i += 8 {
		i = min(i, len(b)-8)
		binary.LittleEndian.PutUint64(b[i:], lower8(binary.LittleEndian.Uint64(b[i:])))
	}
}

// lower8 lower-cases the ASCII letters among the eight bytes of w: a byte
// whose low seven bits are 'A' to 'Z' and whose high bit is clear gets
// 0x20 added. (Each sum stays within its byte: seven bits plus 0x3f.)
func lower8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	low7 := w &^ highs
	upper := (low7 + ones*(0x80-'A')) ^ (low7 + ones*(0x80-'Z'-1))
	return w | (upper&^w&highs)>>2
}

// lowerASCII lower-cases ASCII letters, allocating only when s has an
// upper-case one. (strings.ToLower would also fold non-ASCII letters, which
// Insider's email check does not.)
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			lowerInPlace(b[i:])
			return string(b)
		}
	}
	return s
}

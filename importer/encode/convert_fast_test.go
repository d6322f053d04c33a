package encode

import (
	"strconv"
	"testing"
)

// Number text that plainDecimal or plainInteger lets through unread is
// what reading it gives; the rest goes the long way.
func TestPlainNumbers(t *testing.T) {
	for s, plain := range map[string]bool{"0": true, "7": true, "930.07": true, "-12.50": true, "0.5": true, "-0": true, "-0.0": true,
		"007": false, "00.5": false, ".5": false, "5.": false, "+7": false, "1e3": false, "-": false, "": false, "1,5": false, "1.2.3": false, "١": false} {
		if got := plainDecimal(s); got != plain {
			t.Errorf("plainDecimal(%q) = %v", s, got)
		}
		samePlainNumber(t, s)
	}
	for s, plain := range map[string]bool{"0": true, "1": true, "123456789012345678": true, "1234567890123456789": false, "00": false, "01": false,
		"-1": false, "+1": false, "1.0": false, "": false, "9223372036854775807": false} {
		if got := plainInteger(s); got != plain {
			t.Errorf("plainInteger(%q) = %v", s, got)
		}
		samePlainNumber(t, s)
	}
}

func samePlainNumber(t *testing.T, s string) {
	t.Helper()
	if plainDecimal(s) {
		if out, err := appendNumberAny(nil, s, "."); err != nil || string(out) != s {
			t.Fatalf("%q is plain, but reads as %q, %v", s, out, err)
		}
	}
	if plainInteger(s) {
		v := str(s)
		for _, dec := range []string{".", ","} {
			if i, err := toInteger(&v, dec); err != nil || strconv.FormatInt(i, 10) != s {
				t.Fatalf("%q is a plain integer, but reads as %d, %v", s, i, err)
			}
		}
	}
}

// FuzzPlainNumbers: no text is plain that reads otherwise.
func FuzzPlainNumbers(f *testing.F) {
	for _, s := range []string{"0", "-0.5", "930.07", "007", "123456789012345678", "5."} {
		f.Add(s)
	}
	f.Fuzz(samePlainNumber)
}

// lowerInPlace lower-cases what the byte-a-step loop did: every byte
// value at every position of 0 to 24 bytes, next to upper-case letters.
func TestLowerInPlace(t *testing.T) {
	ref := func(b []byte) {
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c - 'A' + 'a'
			}
		}
	}
	for n := 1; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte("ZAbY@EXAMPLE.com\xc3\x84Z[`@{QRSTUVW"[:n])
				b[pos] = byte(c)
				in := string(b)
				want := []byte(in)
				ref(want)
				lowerInPlace(b)
				if string(b) != string(want) {
					t.Fatalf("%q: %q, want %q", in, b, want)
				}
			}
		}
	}
}

package importer

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

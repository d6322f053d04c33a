package encode

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/insider-import/insider-import/importer/upsert"
)

// FuzzNumberText: number text converts to a JSON number, or is refused;
// it never panics, and what it gives is a JSON number.
func FuzzNumberText(f *testing.F) {
	for _, s := range []string{"0", "-12.50", "+7", ".5", "5.", "1e3", "1,5", "007", "1e400", "-", "", "1..2", "١٢"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		dec := "."
		if comma {
			dec = ","
		}
		out, err := appendNumberText(nil, s, dec)
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("%q: error %v but wrote %q", s, err, out)
			}
			return
		}
		if !isJSONNumber(string(out)) || !json.Valid(out) {
			t.Fatalf("%q gave %q, not a JSON number", s, out)
		}
	})
}

// FuzzIdentifierChecks holds the loop-based email and phone checks to the
// regular expressions Insider reports.
func FuzzIdentifierChecks(f *testing.F) {
	for _, s := range []string{"a@b.c", "@b.c", "a@b.", "a@b\n.c", "\xff@\xff.\xff", "+6598765432", "+0123456", "+1234567890123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := upsert.ValidEmail(s), emailRe.MatchString(s); got != want {
			t.Fatalf("ValidEmail(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := upsert.ValidPhone(s), phoneRe.MatchString(s); got != want {
			t.Fatalf("ValidPhone(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}

func TestValidatorsMatchInsiderPatterns(t *testing.T) {
	emails := []string{"a@b.c", "jane.doe@example.com", "@b.c", "a@.c", "a@b.", "a@b", "ab.c", "a@@b.c", "a@b..c", "a.b@c", "a@b.c\n", "\na@b.c",
		"a@b\n.c", "a b@c d.e", "é@ü.ö", "\xff@\xff.\xff", "a@b.c.d", "a.@b", ".@..", "@@.", "a@.", "a@b.c@", "x@y.z\r", "0@0.00\xa8.", "a@b.c.", "a@bc."}
	for _, s := range emails {
		assert.Equal(t, emailRe.MatchString(s), upsert.ValidEmail(s), "%q", s)
	}
	phones := []string{"+6598765432", "+1234567", "+123456", "+123456789012345", "+1234567890123456", "+0123456789", "6598765432", "+65 98765432", "+65987654３2", "++6598765432", ""}
	for _, s := range phones {
		assert.Equal(t, phoneRe.MatchString(s), upsert.ValidPhone(s), "%q", s)
	}
}

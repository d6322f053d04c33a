package encode

import (
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// type: integer reads whole numbers written as floats, to every digit, and
// refuses a fraction.
func TestIntegerFromFloatText(t *testing.T) {
	for in, want := range map[string]string{
		"1000001": "1000001", "1000001.0": "1000001", "1000001.000": "1000001", "1.000001E6": "1000001", "1.000001e+06": "1000001",
		"1e6": "1000000", "-3.0": "-3", "+7": "7", "007": "7", "0.0": "0", "-0": "0", "12345678901234567890.0": "12345678901234567890",
		"1.2345678901234567890123E22": "12345678901234567890123", "10E-1": "1", "1500e-3": "1.5x",
	} {
		got, err := idInteger(&readers.Value{Kind: readers.KindString, Str: in}, ".")
		if strings.HasSuffix(want, "x") {
			assert.ErrorContains(t, err, "it has a fraction", in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"1000001.5", "1.0000015E6", "1e-1", "abc", "1e", "e5", ".", "1e999", "1.0.0", "1,0", "", "1 000"} {
		_, err := idInteger(&readers.Value{Kind: readers.KindString, Str: in}, ".")
		assert.Error(t, err, in)
	}
	got, err := idInteger(&readers.Value{Kind: readers.KindString, Str: "1000001,0"}, ",")
	require.NoError(t, err)
	assert.Equal(t, "1000001", got)
	got, err = idInteger(&readers.Value{Kind: readers.KindFloat, Float: 1000001}, ".")
	require.NoError(t, err)
	assert.Equal(t, "1000001", got)
	_, err = idInteger(&readers.Value{Kind: readers.KindFloat, Float: 0.5}, ".")
	assert.Error(t, err)
	got, err = idInteger(&readers.Value{Kind: readers.KindDecimal, Str: "1000001.00"}, ".")
	require.NoError(t, err)
	assert.Equal(t, "1000001", got)

	// Fields of type integer read exponents too.
	for in, want := range map[string]string{"1.000001E6": "1000001", "3e2": "300", "2.0": "2"} {
		got, err := appendValue(nil, &Field{Field: config.Field{Type: config.TypeInteger, Decimal: "."}}, str(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, string(got), in)
	}
	_, err = appendValue(nil, &Field{Field: config.Field{Type: config.TypeInteger, Decimal: "."}}, str("3.5e0"))
	assert.Error(t, err)
}

// FuzzWholeText: wholeText reads what math/big reads as the same whole
// number, and refuses what is not one.
func FuzzWholeText(f *testing.F) {
	for _, s := range []string{"1000001.0", "1.000001E6", "1e+16", "-3.0", "007", "2.5", "1e-1", "10E-1", ".5e1", "1.", "e5", "+0.0e0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := wholeText(s, ".")
		plain := s != "" && strings.Trim(s, "0123456789.eE+-") == "" && !strings.Contains(s, "..")
		if err == nil {
			// Accepted: the exponent is within maxExponent, so big.Rat
			// reads it quickly.
			var r big.Rat
			_, ok := r.SetString(s)
			require.True(t, ok && plain, "%q read as %s, but big.Rat does not read it", s, got)
			require.True(t, r.IsInt(), "%q read as %s, but it is not whole", s, got)
			require.Equal(t, r.Num().String(), got, "%q", s)
			return
		}
		// Refused without an exponent: big.Rat finds no whole number.
		if plain && !strings.ContainsAny(s, "eE") && !strings.ContainsAny(s[1:], "+-") {
			var r big.Rat
			if _, ok := r.SetString(s); ok && r.IsInt() && s != "." && !strings.HasSuffix(s, ".") && !strings.HasPrefix(strings.TrimLeft(s, "+-"), ".") {
				t.Fatalf("%q is the whole number %s, refused: %v", s, r.Num(), err)
			}
		}
	})
}

package encode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Whole numbers written as floats, as pandas and polars write an integer
// column that held a null, are told from ids that are only digits and
// from real fractions.
func TestLooksFloatID(t *testing.T) {
	for s, want := range map[string]bool{
		"1000001.0": true, "-7.00": true, "1.000001E6": true, "1e+06": true, "1e6": true,
		"1000001": false, "1.5": false, "1.": false, ".0": false, "1e": false, "1e+": false,
		"abc": false, "": false, "-": false, "1.0x": false, "12-34": false,
	} {
		assert.Equal(t, want, looksFloatID(s), s)
	}
}

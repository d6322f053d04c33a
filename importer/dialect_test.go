package importer

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With source.columns_case: insensitive, a mapping in lower case binds to
// Snowflake's upper-case header; without it, the hint says to set it.
func TestColumnsCaseInsensitive(t *testing.T) {
	y := "source: {paths: [x.csv]%s}\nmapping:\n  identifiers: {email: email}\n  attributes: {name: Name}\n"
	cfg, err := ParseConfig("t.yaml", []byte(fmt.Sprintf(y, "")))
	require.NoError(t, err)
	_, err = newMapper(cfg, "x.csv", []string{"EMAIL", "NAME"}, testRef)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Hints, `column "email" is in the header in another case; set source.columns_case: insensitive`)

	cfg, err = ParseConfig("t.yaml", []byte(fmt.Sprintf(y, ", columns_case: insensitive")))
	require.NoError(t, err)
	mp, err := newMapper(cfg, "x.csv", []string{"EMAIL", "NAME"}, testRef)
	require.NoError(t, err)
	assert.Equal(t, 0, mp.m.Identifiers[0].col)
	assert.Equal(t, 1, mp.m.Attributes[0].col)

	// Two columns that differ only in case are ambiguous.
	_, err = newMapper(cfg, "x.csv", []string{"EMAIL", "email", "NAME"}, testRef)
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), `column "email" (for email) appears 2 times in the header of x.csv`)
}

// A mapped column written in NFC that the header writes in NFD (or the
// other way round) is named with the form of each and the name to write.
func TestColumnsNormalizationHint(t *testing.T) {
	nfc, nfd := "pr\u00e9nom", "pre\u0301nom" // "prénom" both ways
	const msg = "column %q differs from the header's %q only in Unicode normalization (the config writes it in %s, the header in %s: the same letters as other code points); write it as the header does: %s"
	for _, tc := range []struct{ mapped, header, want string }{
		{nfc, nfd, fmt.Sprintf(msg, nfc, nfd, "NFC", "NFD", `"pre\u0301nom"`)},
		{nfd, nfc, fmt.Sprintf(msg, nfd, nfc, "NFD", "NFC", `"pr\u00e9nom"`)},
	} {
		for _, cs := range []string{"", ", columns_case: insensitive"} {
			y := fmt.Sprintf("source: {paths: [x.csv]%s}\nmapping:\n  identifiers: {email: email}\n  attributes: {name: %q}\n", cs, tc.mapped)
			cfg, err := ParseConfig("t.yaml", []byte(y))
			require.NoError(t, err)
			header := []string{"email", tc.header}
			if cs != "" {
				header[1] = strings.ToUpper(tc.header)
			}
			_, err = newMapper(cfg, "x.csv", header, testRef)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce, cs)
			if cs == "" {
				assert.Contains(t, ce.Hints, tc.want)
				continue
			}
			// Insensitive: the header's upper case does not matter; the
			// name to write is still the header's.
			joined := strings.Join(ce.Hints, "\n")
			assert.Contains(t, joined, "only in Unicode normalization", cs)
			assert.Contains(t, joined, "write it as the header does: "+strconv.QuoteToASCII(header[1]), cs)
		}
	}
	// A column bound as written gets no hint.
	cfg, err := ParseConfig("t.yaml", []byte("source: {paths: [x.csv]}\nmapping:\n  identifiers: {email: email}\n  attributes: {name: \""+nfd+"\", surname: nope}\n"))
	require.NoError(t, err)
	_, err = newMapper(cfg, "x.csv", []string{"email", nfd}, testRef)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.NotContains(t, strings.Join(ce.Hints, "\n"), "normalization")
}

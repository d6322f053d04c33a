package importer

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
)

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
			_, err = encode.NewMapper(cfg, "x.csv", header, testRef)
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
	_, err = encode.NewMapper(cfg, "x.csv", []string{"email", nfd}, testRef)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.NotContains(t, strings.Join(ce.Hints, "\n"), "normalization")
}

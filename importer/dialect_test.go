package importer

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// The text dialect keys of source.csv, and the mistakes in them.
func TestConfigCSVDialect(t *testing.T) {
	base := "mapping:\n  identifiers: {email: email}\n  attributes: {name: name}\n"
	cfg, err := ParseConfig("c.yaml", []byte("source:\n  paths: [a.txt]\n  csv: {delimiter: \"\\t\", quote: \"\", escape: \"\\\\\", header: false, columns: [email, name]}\n"+base))
	require.NoError(t, err)
	s := cfg.Source
	assert.Equal(t, '\t', s.Delimiter)
	assert.Equal(t, readers.NoQuote, s.Quote)
	assert.Equal(t, '\\', s.Escape)
	assert.True(t, s.NoHeader)
	assert.Equal(t, []string{"email", "name"}, s.Columns)

	plain, err := ParseConfig("c.yaml", []byte("source:\n  paths: [a.txt]\n"+base))
	require.NoError(t, err)
	assert.NotEqual(t, plain.Hash(), cfg.Hash(), "the dialect changes the cells")
	assert.Zero(t, plain.Source.Quote)
	assert.False(t, plain.Source.NoHeader)

	assert.Equal(t, []string{
		"3:17: source.csv.header: false needs source.csv.columns, the files' columns in order",
	}, configProblems(t, "source:\n  paths: [a.txt]\n  csv: {header: false}\n"+base))
	assert.Equal(t, []string{
		"3:8: source.csv.columns names the columns of files without a header row; set source.csv.header: false too",
	}, configProblems(t, "source:\n  paths: [a.txt]\n  csv: {columns: [email]}\n"+base))
	assert.Equal(t, []string{
		`3:16: source.csv.quote must be one ASCII character, or "" for no quoting, not "«"`,
		`3:29: source.csv.escape must be "\\" (backslash escapes, as PostgreSQL's text format and MySQL write them) or "", not "/"`,
	}, configProblems(t, "source:\n  paths: [a.txt]\n  csv: {quote: \"«\", escape: \"/\"}\n"+base))
	assert.Equal(t, []string{
		`3:17: source.columns_case must be sensitive or insensitive, not "upper"`,
	}, configProblems(t, "source:\n  paths: [a.txt]\n  columns_case: upper\n"+base))
}

// source.csv.null_marker: "" reads an unquoted \N as text.
func TestConfigNullMarker(t *testing.T) {
	base := "mapping:\n  identifiers: {email: email}\n  attributes: {name: name}\n"
	cfg, err := ParseConfig("c.yaml", []byte("source:\n  paths: [a.csv]\n  csv: {null_marker: \"\"}\n"+base))
	require.NoError(t, err)
	assert.True(t, cfg.Source.TextNullMarker)
	cfg, err = ParseConfig("c.yaml", []byte("source:\n  paths: [a.csv]\n  csv: {null_marker: '\\N'}\n"+base))
	require.NoError(t, err)
	assert.False(t, cfg.Source.TextNullMarker)
	assert.Equal(t, []string{
		`3:22: source.csv.null_marker must be "\\N" (an unquoted \N is null, the default) or "" (it is text), not "NA"; other null texts go in source.null_values`,
	}, configProblems(t, "source:\n  paths: [a.csv]\n  csv: {null_marker: NA}\n"+base))
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

package importer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/readers"
)

// The text dialect keys of source.csv, and the mistakes in them.
func TestConfigCSVDialect(t *testing.T) {
	base := "mapping:\n  identifiers: {email: email}\n  attributes: {name: name}\n"
	cfg, err := Parse("c.yaml", []byte("source:\n  paths: [a.txt]\n  csv: {delimiter: \"\\t\", quote: \"\", escape: \"\\\\\", header: false, columns: [email, name]}\n"+base))
	require.NoError(t, err)
	s := cfg.Source
	assert.Equal(t, '\t', s.Delimiter)
	assert.Equal(t, readers.NoQuote, s.Quote)
	assert.Equal(t, '\\', s.Escape)
	assert.True(t, s.NoHeader)
	assert.Equal(t, []string{"email", "name"}, s.Columns)

	plain, err := Parse("c.yaml", []byte("source:\n  paths: [a.txt]\n"+base))
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
	cfg, err := Parse("c.yaml", []byte("source:\n  paths: [a.csv]\n  csv: {null_marker: \"\"}\n"+base))
	require.NoError(t, err)
	assert.True(t, cfg.Source.TextNullMarker)
	cfg, err = Parse("c.yaml", []byte("source:\n  paths: [a.csv]\n  csv: {null_marker: '\\N'}\n"+base))
	require.NoError(t, err)
	assert.False(t, cfg.Source.TextNullMarker)
	assert.Equal(t, []string{
		`3:22: source.csv.null_marker must be "\\N" (an unquoted \N is null, the default) or "" (it is text), not "NA"; other null texts go in source.null_values`,
	}, configProblems(t, "source:\n  paths: [a.csv]\n  csv: {null_marker: NA}\n"+base))
}

package encode

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
)

// With source.columns_case: insensitive, a mapping in lower case binds to
// Snowflake's upper-case header; without it, the hint says to set it.
func TestColumnsCaseInsensitive(t *testing.T) {
	y := "source: {paths: [x.csv]%s}\nmapping:\n  identifiers: {email: email}\n  attributes: {name: Name}\n"
	cfg, err := parseConfig("t.yaml", []byte(fmt.Sprintf(y, "")))
	require.NoError(t, err)
	_, err = NewMapper(cfg, "x.csv", []string{"EMAIL", "NAME"}, testRef)
	var ce *config.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Hints, `column "email" is in the header in another case; set source.columns_case: insensitive`)

	cfg, err = parseConfig("t.yaml", []byte(fmt.Sprintf(y, ", columns_case: insensitive")))
	require.NoError(t, err)
	mp, err := NewMapper(cfg, "x.csv", []string{"EMAIL", "NAME"}, testRef)
	require.NoError(t, err)
	assert.Equal(t, 0, mp.m.Identifiers[0].col)
	assert.Equal(t, 1, mp.m.Attributes[0].col)

	// Two columns that differ only in case are ambiguous.
	_, err = NewMapper(cfg, "x.csv", []string{"EMAIL", "email", "NAME"}, testRef)
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), `column "email" (for email) appears 2 times in the header of x.csv`)
}

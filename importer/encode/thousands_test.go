package encode

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// thousands: takes a digit group separator out of numbers, where it groups
// by three, and refuses it anywhere else.
func TestThousandsSeparator(t *testing.T) {
	tests := []struct {
		typ                config.FieldType
		thousands, decimal string
		in, want, errHas   string
	}{
		{config.TypeNumber, ".", ",", "1.234,05", "1234.05", ""},
		{config.TypeNumber, ".", ",", "1.234.567,5", "1234567.5", ""},
		{config.TypeNumber, ".", ",", "-1.234,05", "-1234.05", ""},
		{config.TypeNumber, ".", ",", "234,05", "234.05", ""},
		{config.TypeNumber, ".", ",", "1234,05", "1234.05", ""},
		{config.TypeNumber, ".", ",", "1.234", "1234", ""},
		{config.TypeNumber, ",", ".", "1,234,567.89", "1234567.89", ""},
		{config.TypeNumber, " ", ",", "1 234 567,89", "1234567.89", ""},
		{config.TypeNumber, "'", ".", "1'234.5", "1234.5", ""},
		{config.TypeInteger, ".", ",", "1.234.567", "1234567", ""},
		{config.TypeInteger, ",", ".", "1,234.00", "1234", ""},

		{config.TypeNumber, ".", ",", "1.23,4", "", `not a number: "1.23,4" (thousands: "." groups the digits by three, as in 1.234.567)`},
		{config.TypeNumber, ".", ",", "1.2345,4", "", "groups the digits by three"},
		{config.TypeNumber, ".", ",", "1234.567,4", "", "groups the digits by three"},
		{config.TypeNumber, ".", ",", ".234,4", "", "groups the digits by three"},
		{config.TypeNumber, ",", ".", "1,234.5,6", "", "groups the digits by three"},
		{config.TypeNumber, ".", ",", "1.234,5x", "", `not a number: "1.234,5x"`},
		{config.TypeInteger, ".", ",", "1.234,5", "", `not a whole number: "1.234,5"`},
	}
	for _, tt := range tests {
		f := &Field{Field: config.Field{Type: tt.typ, Thousands: tt.thousands, Decimal: tt.decimal}}
		got, err := appendValue(nil, f, str(tt.in))
		if tt.errHas != "" {
			assert.ErrorContains(t, err, tt.errHas, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, string(got), tt.in)
	}
	// An integer identifier takes the separator out too.
	id, err := fieldIDInteger(&Field{Field: config.Field{Type: config.TypeInteger, Thousands: ".", Decimal: ","}}, &readers.Value{Kind: readers.KindString, Str: "1.000.001,0"})
	require.NoError(t, err)
	assert.Equal(t, "1000001", id)
	_, err = fieldIDInteger(&Field{Field: config.Field{Type: config.TypeInteger, Thousands: ".", Decimal: ","}}, &readers.Value{Kind: readers.KindString, Str: "1.0001"})
	assert.ErrorContains(t, err, "groups the digits by three")

	// Without thousands the message says which key reads them.
	_, err = appendValue(nil, &Field{Field: config.Field{Type: config.TypeNumber, Decimal: ","}}, str("1.234,05"))
	assert.ErrorContains(t, err, `for 1.234,05 set thousands: "." too`)
	_, err = appendValue(nil, &Field{Field: config.Field{Type: config.TypeNumber, Decimal: "."}}, str("1,234,567"))
	assert.ErrorContains(t, err, `set thousands: "," on the field`)
}

func TestThousandsConfig(t *testing.T) {
	_, err := parseConfig("t.yaml", []byte(`source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id}
  attributes:
    custom:
      a: {column: a, type: number, decimal: ",", thousands: "."}
      b: {column: b, type: number, thousands: "."}
      c: {column: c, type: string, thousands: ","}
      d: {column: d, type: integer, thousands: "-"}
`))
	var ce *config.ConfigError
	require.ErrorAs(t, err, &ce)
	var msgs []string
	for _, p := range ce.Problems {
		msgs = append(msgs, p.String())
	}
	assert.Equal(t, []string{
		`t.yaml:7:7: mapping.attributes.custom.b: thousands and decimal are both "."; for 1.234,05 set thousands: "." and decimal: ","`,
		`t.yaml:8:7: mapping.attributes.custom.c: thousands applies to number and integer only, not string`,
		`t.yaml:9:48: mapping.attributes.custom.d.thousands must be ".", ",", " " or "'" (what groups the digits of 1.234.567), not "-"`,
	}, msgs, strings.Join(msgs, "\n"))

	cfg, err := parseConfig("t.yaml", []byte(`source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id}
  attributes: {custom: {a: {column: a, type: number, decimal: ",", thousands: "."}}}
`))
	require.NoError(t, err)
	plain := *cfg
	plain.Mapping.Attributes = []config.Field{cfg.Mapping.Attributes[0]}
	plain.Mapping.Attributes[0].Thousands = ""
	assert.NotEqual(t, cfg.Hash(), plain.Hash(), "thousands shapes the payloads, so the checkpoint's hash")
}

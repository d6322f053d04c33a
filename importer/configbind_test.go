package importer

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
)

// configProblems parses y and returns its problems as "line:col: message".
func configProblems(t *testing.T, y string) []string {
	t.Helper()
	_, err := ParseConfig("c.yaml", []byte(y))
	if err == nil {
		return nil
	}
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	out := make([]string, len(ce.Problems))
	for i, p := range ce.Problems {
		out[i] = strings.TrimSpace(strings.TrimPrefix(p.String(), "c.yaml:"))
	}
	return out
}

// A constant (value:) is converted as a row's cell would be when the
// config is loaded (CheckValue), so that a constant no row could send is
// a config problem with its line, not a million rejects.
func TestConfigConstantsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "constants no row could send",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id, email: {value: "not-an-email"}}
  attributes:
    email_optin: {value: maybe}
    age: {value: "1,5"}
    custom:
      source: {value: import}
  events:
    - name_column: {value: Import Done}
      timestamp: {value: "2025-01-01T00:00:00Z"}
`,
			want: []string{
				"3:27: mapping.identifiers.email.value: not a valid email address",
				`5:5: mapping.attributes.email_optin.value: not a boolean: "maybe" (use true/false, 1/0, yes/no or y/n)`,
				`6:5: mapping.attributes.age.value: not a number: "1,5" (a decimal comma? set decimal: "," on the field)`,
				`10:7: mapping.events[0].name_column.value: "Import Done" is not an event name Insider accepts (lowercase letters, digits and _)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, configProblems(t, tt.yaml))
		})
	}
}

// A column missing from the header of any input stops the run before a
// row is read, naming the YAML line of the field.
func TestMissingColumnFoundBeforeAnyRow(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "a.csv", dryHeader+"\n1,a@example.com,1990-04-12,yes,gold,O-1,EUR,1,1,2025-06-01T10:00:00Z\n")
	bad := writeFile(t, dir, "b.csv", strings.Replace(dryHeader, "optin", "opt_in", 1)+"\n2,b@example.com,1990-04-12,yes,gold,O-2,EUR,1,1,2025-06-01T10:00:00Z\n")
	cfg := dryRunConfig(t, []string{good, bad}, "")
	batches := 0
	rep, err := Run(context.Background(), cfg, Options{DryRun: true, OnBatch: func([]byte) { batches++ }})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 1)
	assert.Equal(t, `dry.yaml:11:5: column "optin" (for email_optin) is not in the header of `+bad, ce.Problems[0].String())
	assert.Zero(t, batches)
	assert.Zero(t, rep.RowsRead)
}

// A column missing from the header comes with the header found, and a
// header that is one column holding ';' says to set the delimiter.
func TestMissingColumnListsTheHeader(t *testing.T) {
	cfg, err := ParseConfig("t.yaml", []byte("source: {paths: [x.csv]}\nmapping:\n  identifiers: {email: email}\n  attributes: {name: name}\n"))
	require.NoError(t, err)
	_, err = encode.NewMapper(cfg, "x.csv", []string{"email;name;city"}, testRef)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{
		`the header of x.csv has 1 column(s): "email;name;city"`,
		`the header is one column holding ";": the file looks ";"-separated; set source.csv.delimiter: ";"`,
	}, ce.Hints)
	assert.Contains(t, err.Error(), "set source.csv.delimiter")

	_, err = encode.NewMapper(cfg, "x.csv", []string{"mail", "name"}, testRef)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{`the header of x.csv has 2 column(s): "mail", "name"`}, ce.Hints)
}

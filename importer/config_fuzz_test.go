package importer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// FuzzParseConfig decodes arbitrary YAML: it never panics; a config it
// refuses comes back as a *ConfigError listing at least one problem, and
// one it accepts binds to a header of its columns and maps a row.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../testdata/demo/import.yaml", "../testdata/golden/crm/import.yaml", "../testdata/golden/purchases/import.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		fuzzMapping,
		"source: {paths: [a.csv]}\nmapping: {identifiers: {uuid: id}, attributes: {name: n}}\n",
		"source: {paths: [a.csv]}\nmapping:\n  identifiers: {uuid: id}\n  events:\n    - name: purchase\n",
		"a: &x [1, *x]\n",
		"source: !!map {paths: [a]}\n---\nmore: 1\n",
		"mapping:\n  attributes:\n    custom:\n      ? [a, b]\n      : c\n",
		"source: {paths: [a.csv], null_values: [NULL, ~, '\\N']}\nmapping: {identifiers: {email: {value: null}}, attributes: {age: {value: '1,5', decimal: ','}}}\n",
		"\t\x00: {\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig("fuzz.yaml", b)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("not a *ConfigError with problems: %v", err)
			}
			_ = err.Error()
			return
		}
		_ = cfg.Hash()
		_ = cfg.JobID(0, 1)
		var header []string
		seen := map[string]bool{}
		addCol := func(fs ...config.Field) {
			for _, f := range fs {
				if f.Column != "" && !seen[f.Column] {
					seen[f.Column] = true
					header = append(header, f.Column)
				}
			}
		}
		addCol(cfg.Mapping.Identifiers...)
		addCol(cfg.Mapping.Attributes...)
		for _, e := range cfg.Mapping.Events {
			addCol(e.Timestamp)
			if e.NameColumn != nil {
				addCol(*e.NameColumn)
			}
			addCol(e.Params...)
		}
		mp, err := encode.NewMapper(cfg, filepath.Join("in", "x.csv"), header, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("a header of every mapped column is refused: %v", err)
		}
		rec := readers.Record{Values: make([]readers.Value, len(header))}
		for i := range rec.Values {
			rec.Values[i] = readers.StringValue("1")
		}
		mp.MapRecord(rec)
		mp.MapRecord(readers.Record{Values: make([]readers.Value, len(header))})
	})
}

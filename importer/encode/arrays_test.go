package encode

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Array cells written as JSON, PostgreSQL array text or DuckDB's bracketed
// list text are read item by item, brackets and quotes not sent.
func TestArrayFormats(t *testing.T) {
	tests := []struct {
		name, format, in string
		wants            upsert.Type
		want, err        string
	}{
		{name: "json", format: "json", in: `["a","b"]`, want: `["a","b"]`},
		{name: "json with spaces, nulls and escapes", format: "json", in: ` [ "a, b" , null, "say \"hi\"", "\u00e7" ] `, want: `["a, b","say \"hi\"","ç"]`},
		{name: "json numbers and booleans as text", format: "json", in: `[12, 1.50, true]`, want: `["12","1.50","true"]`},
		{name: "json number array", format: "json", wants: upsert.TypeNumberArray, in: `[12, "7", 1.50]`, want: `[12,7,1.50]`},
		{name: "json empty", format: "json", in: `[]`, err: errNoItems.Error()},
		{name: "json only nulls and empties", format: "json", in: `[null, ""]`, err: errNoItems.Error()},
		{name: "json not an array", format: "json", in: `a|b`, err: `not a JSON array: "a|b" (written ["a","b"])`},
		{name: "json object", format: "json", in: `{"a":1}`, err: "not a JSON array"},
		{name: "json trailing text", format: "json", in: `["a"] x`, err: "text after the closing ]"},
		{name: "json nested", format: "json", in: `["a",["b"]]`, err: "item 2: a list inside a list"},
		{name: "json object item", format: "json", in: `[{"a":1}]`, err: "item 1: an object is not an array item"},

		{name: "postgres", format: "postgres", in: `{a,b}`, want: `["a","b"]`},
		{name: "postgres quoted", format: "postgres", in: `{"a,b",c,"d \"e\"","f\\g"}`, want: `["a,b","c","d \"e\"","f\\g"]`},
		{name: "postgres NULL", format: "postgres", in: `{a,NULL,null,"NULL"}`, want: `["a","NULL"]`},
		{name: "postgres spaces", format: "postgres", in: `{ a , "b c" ,d}`, want: `["a","b c","d"]`},
		{name: "postgres unicode", format: "postgres", in: `{İstanbul,çay}`, want: `["İstanbul","çay"]`},
		{name: "postgres empty", format: "postgres", in: `{}`, err: errNoItems.Error()},
		{name: "postgres number array", format: "postgres", wants: upsert.TypeNumberArray, in: `{3,4}`, want: `[3,4]`},
		{name: "postgres without braces", format: "postgres", in: `a,b`, err: `not a PostgreSQL array: "a,b" (it must start with { and end with }; written {a,b,"c d"})`},
		{name: "postgres multi-dimensional", format: "postgres", in: `{{a,b},{c,d}}`, err: "item 1: a list inside a list"},
		{name: "postgres unclosed quote", format: "postgres", in: `{"a,b}`, err: "a quote is not closed"},
		{name: "postgres empty item", format: "postgres", in: `{a,,b}`, err: "item 2 is empty"},
		{name: "postgres quote inside", format: "postgres", in: `{a"b}`, err: `item 1 has a " inside; quote it`},
		{name: "postgres text after quote", format: "postgres", in: `{"a"b}`, err: "a comma is missing after item 1"},

		{name: "brackets", format: "brackets", in: `[a, b]`, want: `["a","b"]`},
		{name: "brackets DuckDB quoted", format: "brackets", in: `['a, b', c, 'it''s', "d"]`, want: `["a, b","c","it's","d"]`},
		{name: "brackets NULL", format: "brackets", in: `[a, NULL]`, want: `["a"]`},
		{name: "brackets apostrophe inside", format: "brackets", in: `[O'Brien, x]`, want: `["O'Brien","x"]`},
		{name: "brackets empty", format: "brackets", in: `[]`, err: errNoItems.Error()},
		{name: "brackets without brackets", format: "brackets", in: `a, b`, err: "not a bracketed list"},
		{name: "brackets nested", format: "brackets", in: `[[a], b]`, err: "item 1: a list inside a list"},

		{name: "separator is the default", format: "", in: `[a, b]`, want: `["[a, b]"]`},
		{name: "separator", format: "separator", in: `a|b`, want: `["a","b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Field{Field: config.Field{Type: config.TypeArray, Separator: "|", Format: tt.format, Decimal: ".", Wants: tt.wants}}
			got, err := appendValue([]byte("x"), f, str(tt.in))
			if tt.err != "" {
				require.Error(t, err, "got %s", got)
				assert.Contains(t, err.Error(), tt.err)
				assert.Equal(t, "x", string(got), "nothing appended on error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "x"+tt.want, string(got))
		})
	}
}

// A Parquet list or timestamp written into a rejects CSV reads back, with
// the same field, as the same JSON.
func TestCellTextReadsBack(t *testing.T) {
	list := readers.Value{Kind: readers.KindList, List: []readers.Value{str("Apparel"), str("T-Shirts, Men"), {}, str(`say "hi" \ o/`), str("İ")}}
	ts := readers.TimeValue(time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC))
	old := readers.TimeValue(time.Date(1969, 12, 31, 23, 59, 58, 250000000, time.UTC))
	day := readers.DateValue(time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC))
	ist := mustZone(t, "Europe/Istanbul")
	tests := []struct {
		f    Field
		v    readers.Value
		text string
	}{
		{f: Field{Field: config.Field{Type: config.TypeArray, Separator: ">", Format: arraySeparator}}, v: readers.Value{Kind: readers.KindList, List: []readers.Value{str("Apparel"), str("T-Shirts"), str("Men")}}, text: "Apparel>T-Shirts>Men"},
		{f: Field{Field: config.Field{Type: config.TypeArray, Separator: "|"}}, v: readers.Value{Kind: readers.KindList, List: []readers.Value{str("a"), {}, str("b")}}, text: "a||b"},
		{f: Field{Field: config.Field{Type: config.TypeArray, Separator: "|", Format: arrayJSON}}, v: list, text: `["Apparel","T-Shirts, Men",null,"say \"hi\" \\ o/","İ"]`},
		{f: Field{Field: config.Field{Type: config.TypeArray, Separator: "|", Format: arrayPostgres}}, v: list, text: `{"Apparel","T-Shirts, Men",NULL,"say \"hi\" \\ o/","İ"}`},
		{f: Field{Field: config.Field{Type: config.TypeArray, Separator: "|", Format: arrayBrackets}}, v: list, text: `["Apparel", "T-Shirts, Men", NULL, "say \"hi\" \\ o/", "İ"]`},
		{f: Field{Field: config.Field{Type: config.TypeArray, Separator: ",", Format: arrayPostgres, Wants: upsert.TypeNumberArray}}, v: readers.Value{Kind: readers.KindList, List: []readers.Value{num(3), num(-4)}}, text: `{"3","-4"}`},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: layoutUnix}}, v: ts, text: "1709294400.123456789"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: layoutUnixMs}}, v: ts, text: "1709294400123.456789"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: layoutUnixNs}}, v: ts, text: "1709294400123456789"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: layoutUnix}}, v: old, text: "-1.75"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: layoutUnixMs}}, v: old, text: "-1750"},
		{f: Field{Field: config.Field{Type: config.TypeDate, Layout: layoutUnix}}, v: day, text: "639878400"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: "02/01/2006 15:04:05.000000000", Timezone: ist}}, v: ts, text: "01/03/2024 15:00:00.123456789"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: "2006-01-02T15:04:05.999999999Z07:00"}}, v: ts, text: "2024-03-01T12:00:00.123456789Z"},
		{f: Field{Field: config.Field{Type: config.TypeDate, Layout: "02.01.2006", Timezone: ist}}, v: day, text: "12.04.1990"},
		{f: Field{Field: config.Field{Type: config.TypeDateTime, Layout: layoutRFC3339}}, v: ts, text: "2024-03-01T12:00:00.123456789Z"},
		{f: Field{Field: config.Field{Type: config.TypeDate}}, v: day, text: "1990-04-12"},
	}
	for _, tt := range tests {
		f := tt.f
		f.Decimal = "."
		text := cellText(&f, tt.v)
		assert.Equal(t, tt.text, text)
		direct, err := appendValue(nil, &f, tt.v)
		require.NoError(t, err)
		again, err := appendValue(nil, &f, str(text))
		require.NoError(t, err, "%s", text)
		assert.Equal(t, string(direct), string(again), "%s", text)
	}
}

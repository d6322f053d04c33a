package encode

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

func str(s string) readers.Value { return readers.StringValue(s) }

func TestNumberConversion(t *testing.T) {
	tests := []struct {
		in      string
		decimal string
		want    string // JSON; "" means refused
		errHas  string
	}{
		{in: "0", want: "0"},
		{in: "42", want: "42"},
		{in: "-42", want: "-42"},
		{in: "+42", want: "42"},
		{in: "1830.50", want: "1830.50"}, // digits kept, trailing zero too
		{in: "0.1", want: "0.1"},
		{in: ".5", want: "0.5"},
		{in: "5.", want: "5"},
		{in: "007", want: "7"},
		{in: "-0.0", want: "-0.0"},
		{in: "1e3", want: "1e3"},
		{in: "1.5E-2", want: "1.5E-2"},
		{in: "12345678901234567890.123456789", want: "12345678901234567890.123456789"}, // never through float64
		{in: "1e400", errHas: "out of range"},
		{in: "12,5", errHas: `set decimal: ","`},
		{in: "1,234.5", errHas: "thousands"},
		{in: "1 000", errHas: "not a number"},
		{in: "abc", errHas: "not a number"},
		{in: "NaN", errHas: "not a number"},
		{in: "Inf", errHas: "not a number"},
		{in: "0x10", errHas: "not a number"},
		{in: "1_000", errHas: "not a number"},
		{in: "-", errHas: "not a number"},
		{in: ".", errHas: "not a number"},
		{in: "1e", errHas: "not a number"},
		{in: "1e5x", errHas: "not a number"},
		{in: "1..2", errHas: "not a number"},
		// Decimal comma, opt in per field.
		{in: "12,5", decimal: ",", want: "12.5"},
		{in: "-0,75", decimal: ",", want: "-0.75"},
		{in: "1830", decimal: ",", want: "1830"},
		{in: ",5", decimal: ",", want: "0.5"},
		{in: "1.234,5", decimal: ",", errHas: "has a '.'"},
		{in: "12.5", decimal: ",", errHas: "has a '.'"},
	}
	for _, tt := range tests {
		t.Run(tt.decimal+tt.in, func(t *testing.T) {
			dec := tt.decimal
			if dec == "" {
				dec = "."
			}
			f := &Field{Field: config.Field{Type: config.TypeNumber, Decimal: dec}}
			got, err := appendValue([]byte("x"), f, str(tt.in))
			if tt.errHas != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "x"+tt.want, string(got))
		})
	}
}

func TestNumberFromTypedValues(t *testing.T) {
	f := &Field{Field: config.Field{Type: config.TypeNumber, Decimal: "."}}
	tests := []struct {
		v    readers.Value
		want string
		err  bool
	}{
		{v: readers.Value{Kind: readers.KindInt, Int: -7}, want: "-7"},
		{v: readers.Value{Kind: readers.KindFloat, Float: 0.1}, want: "0.1"},
		{v: readers.Value{Kind: readers.KindFloat, Float: 1e21}, want: "1000000000000000000000"},
		{v: readers.Value{Kind: readers.KindDecimal, Str: "12.50"}, want: "12.50"},
		{v: readers.BoolValue(true), err: true},
		{v: readers.Value{Kind: readers.KindTime}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.v.Kind.String()+tt.want, func(t *testing.T) {
			got, err := appendValue(nil, f, tt.v)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestIntegerConversion(t *testing.T) {
	tests := []struct {
		v       readers.Value
		decimal string
		want    string
		errHas  string
	}{
		{v: str("3"), want: "3"},
		{v: str("+3"), want: "3"},
		{v: str("-3"), want: "-3"},
		{v: str("003"), want: "3"},
		{v: str("3.0"), want: "3"},
		{v: str("3.00"), want: "3"},
		{v: str("3,0"), decimal: ",", want: "3"},
		{v: str("9223372036854775807"), want: "9223372036854775807"},
		{v: str("3.5"), errHas: "not a whole number"},
		{v: str("3,5"), decimal: ",", errHas: "not a whole number"},
		{v: str("3."), errHas: "not a whole number"},
		{v: str("1e3"), want: "1000"},
		{v: str("1.000001E6"), want: "1000001"},
		{v: str("1.5e0"), errHas: "not a whole number"},
		{v: str("three"), errHas: "not a whole number"},
		{v: str("++3"), errHas: "not a whole number"},
		{v: str("+-3"), errHas: "not a whole number"},
		{v: str("1e++3"), errHas: "not a whole number"},
		{v: str("99999999999999999999"), errHas: "out of range"},
		{v: readers.Value{Kind: readers.KindInt, Int: 12}, want: "12"},
		{v: readers.Value{Kind: readers.KindFloat, Float: 12}, want: "12"},
		{v: readers.Value{Kind: readers.KindFloat, Float: 12.5}, errHas: "not a whole number"},
		{v: readers.Value{Kind: readers.KindDecimal, Str: "12.00"}, want: "12"},
		{v: readers.Value{Kind: readers.KindDecimal, Str: "12.01"}, errHas: "not a whole number"},
		{v: readers.Value{Kind: readers.KindBool}, errHas: "not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.v.String(), func(t *testing.T) {
			dec := tt.decimal
			if dec == "" {
				dec = "."
			}
			got, err := appendValue(nil, &Field{Field: config.Field{Type: config.TypeInteger, Decimal: dec}}, tt.v)
			if tt.errHas != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestBooleanConversion(t *testing.T) {
	for _, in := range []string{"true", "TRUE", "True", "1", "yes", "YES", "Yes", "y", "Y", "t", "T"} {
		got, err := appendValue(nil, &Field{Field: config.Field{Type: config.TypeBoolean}}, str(in))
		require.NoError(t, err, in)
		assert.Equal(t, "true", string(got), in)
	}
	for _, in := range []string{"false", "FALSE", "False", "0", "no", "NO", "No", "n", "N", "f", "F"} {
		got, err := appendValue(nil, &Field{Field: config.Field{Type: config.TypeBoolean}}, str(in))
		require.NoError(t, err, in)
		assert.Equal(t, "false", string(got), in)
	}
	for _, in := range []string{"2", "on", "off", "si", "truee", "-1", "0.0"} {
		_, err := appendValue(nil, &Field{Field: config.Field{Type: config.TypeBoolean}}, str(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), "not a boolean", in)
	}
	got, err := appendValue(nil, &Field{Field: config.Field{Type: config.TypeBoolean}}, readers.BoolValue(true))
	require.NoError(t, err)
	assert.Equal(t, "true", string(got))
	got, err = appendValue(nil, &Field{Field: config.Field{Type: config.TypeBoolean}}, readers.Value{Kind: readers.KindInt, Int: 0})
	require.NoError(t, err)
	assert.Equal(t, "false", string(got))
	_, err = appendValue(nil, &Field{Field: config.Field{Type: config.TypeBoolean}}, readers.Value{Kind: readers.KindInt, Int: 2})
	assert.Error(t, err)
}

func TestTimeConversion(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name   string
		typ    config.FieldType
		layout string
		tz     *time.Location
		v      readers.Value
		want   string
		errHas string
	}{
		{name: "rfc3339 Z", typ: config.TypeDateTime, layout: "rfc3339", v: str("2025-06-01T14:32:10Z"), want: `"2025-06-01T14:32:10Z"`},
		{name: "rfc3339 offset to UTC", typ: config.TypeDateTime, layout: "rfc3339", v: str("2025-07-14T09:00:00+08:00"), want: `"2025-07-14T01:00:00Z"`},
		{name: "rfc3339 millis kept", typ: config.TypeDateTime, layout: "rfc3339", v: str("2021-02-01T00:00:00.120Z"), want: `"2021-02-01T00:00:00.12Z"`},
		{name: "rfc3339 default layout", typ: config.TypeDateTime, v: str("2025-06-01T14:32:10Z"), want: `"2025-06-01T14:32:10Z"`},
		{name: "RFC3339 any case", typ: config.TypeDateTime, layout: "RFC3339", v: str("2025-06-01T14:32:10Z"), want: `"2025-06-01T14:32:10Z"`},
		{name: "zone-less in timezone UTC", typ: config.TypeDateTime, layout: "rfc3339", tz: time.UTC, v: str("2025-06-01T14:32:10"), want: `"2025-06-01T14:32:10Z"`},
		{name: "zone-less with space", typ: config.TypeDateTime, layout: "rfc3339", tz: time.UTC, v: str("2025-06-01 14:32:10"), want: `"2025-06-01T14:32:10Z"`},
		{name: "zone-less in timezone", typ: config.TypeDateTime, layout: "rfc3339", tz: berlin, v: str("2025-06-01T14:32:10"), want: `"2025-06-01T12:32:10Z"`},
		{name: "zone in value beats timezone", typ: config.TypeDateTime, layout: "rfc3339", tz: berlin, v: str("2025-06-01T14:32:10Z"), want: `"2025-06-01T14:32:10Z"`},
		{name: "Go layout in timezone, winter", typ: config.TypeDateTime, layout: "02/01/2006 15:04", tz: newYork, v: str("15/01/2025 09:30"), want: `"2025-01-15T14:30:00Z"`},
		{name: "Go layout in timezone, summer", typ: config.TypeDateTime, layout: "02/01/2006 15:04", tz: newYork, v: str("15/07/2025 09:30"), want: `"2025-07-15T13:30:00Z"`},
		{name: "Go layout with zone", typ: config.TypeDateTime, layout: "2006-01-02 15:04:05 -0700", tz: newYork, v: str("2025-01-15 09:30:00 +0100"), want: `"2025-01-15T08:30:00Z"`},
		{name: "date default layout", typ: config.TypeDate, v: str("1990-04-12"), want: `"1990-04-12T00:00:00Z"`},
		{name: "date Go layout", typ: config.TypeDate, layout: "02.01.2006", v: str("12.04.1990"), want: `"1990-04-12T00:00:00Z"`},
		{name: "date keeps its day in timezone", typ: config.TypeDate, layout: "2006-01-02", tz: berlin, v: str("1990-04-12"), want: `"1990-04-12T00:00:00Z"`},
		{name: "date from datetime: day in timezone", typ: config.TypeDate, layout: "rfc3339", tz: berlin, v: str("1990-04-11T23:30:00Z"), want: `"1990-04-12T00:00:00Z"`},
		{name: "date rfc3339 plain date", typ: config.TypeDate, layout: "rfc3339", v: str("1990-04-12"), want: `"1990-04-12T00:00:00Z"`},
		{name: "parquet time", typ: config.TypeDateTime, v: readers.TimeValue(time.Date(2025, 1, 2, 3, 4, 5, 0, berlin)), want: `"2025-01-02T02:04:05Z"`},
		{name: "parquet date", typ: config.TypeDate, tz: berlin, v: readers.DateValue(time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC)), want: `"1990-04-12T00:00:00Z"`},
		{name: "bad rfc3339", typ: config.TypeDateTime, layout: "rfc3339", v: str("01/06/2025"), errHas: "not an RFC 3339 datetime"},
		{name: "layout mismatch", typ: config.TypeDate, layout: "2006-01-02", v: str("12/04/1990"), errHas: `does not match layout "2006-01-02"`},
		{name: "impossible date", typ: config.TypeDate, layout: "2006-01-02", v: str("1990-02-30"), errHas: "does not match"},
		{name: "year zero", typ: config.TypeDateTime, v: str("0000-01-01T00:00:00Z"), errHas: "outside 1-9999"},
		{name: "number is not a date", typ: config.TypeDate, v: readers.Value{Kind: readers.KindInt, Int: 19900412}, errHas: "not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tz := tt.tz
			if tz == nil {
				tz = time.UTC
			}
			f := &Field{Field: config.Field{Type: tt.typ, Layout: tt.layout, Timezone: tz}}
			got, err := appendValue(nil, f, tt.v)
			if tt.errHas != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestArrayConversion(t *testing.T) {
	tests := []struct {
		name  string
		sep   string
		wants upsert.Type
		v     readers.Value
		want  string
		err   string
	}{
		{name: "split and trim", sep: "|", v: str("running | outdoor|  hiking "), want: `["running","outdoor","hiking"]`},
		{name: "one item", sep: "|", v: str("music"), want: `["music"]`},
		{name: "empty items dropped", sep: "|", v: str("a||b|"), want: `["a","b"]`},
		{name: "multi-char separator", sep: " > ", v: str("Footwear > Running"), want: `["Footwear","Running"]`},
		{name: "numbers stay strings", sep: ",", v: str("007,12"), want: `["007","12"]`},
		{name: "quotes escaped", sep: "|", v: str(`a"b|c\d`), want: `["a\"b","c\\d"]`},
		{name: "number array", sep: ",", wants: upsert.TypeNumberArray, v: str("12, 7"), want: `[12,7]`},
		{name: "number array refuses text", sep: ",", wants: upsert.TypeNumberArray, v: str("12,x"), err: `item 2: not a number: "x"`},
		{name: "parquet list", sep: "|", v: readers.Value{Kind: readers.KindList, List: []readers.Value{str("a"), {}, {Kind: readers.KindInt, Int: 3}}}, want: `["a","3"]`},
		{name: "parquet int list as numbers", sep: "|", wants: upsert.TypeNumberArray, v: readers.Value{Kind: readers.KindList, List: []readers.Value{{Kind: readers.KindInt, Int: 3}}}, want: `[3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Field{Field: config.Field{Type: config.TypeArray, Separator: tt.sep, Decimal: ".", Wants: tt.wants}}
			got, err := appendValue(nil, f, tt.v)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestStringConversionKeepsText(t *testing.T) {
	f := &Field{Field: config.Field{Type: config.TypeString}}
	tests := []struct {
		v    readers.Value
		want string
	}{
		{v: str("10000000000000000001"), want: `"10000000000000000001"`},
		{v: str("00123"), want: `"00123"`},
		{v: str("1.50"), want: `"1.50"`},
		{v: str("1e5"), want: `"1e5"`},
		{v: readers.Value{Kind: readers.KindInt, Int: 9007199254740993}, want: `"9007199254740993"`},
		{v: readers.Value{Kind: readers.KindDecimal, Str: "12.50"}, want: `"12.50"`},
		{v: str("tab\there \"quoted\" \u2028"), want: `"tab\there \"quoted\" \u2028"`},
	}
	for _, tt := range tests {
		got, err := appendValue(nil, f, tt.v)
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(got))
	}
	_, err := appendValue(nil, f, readers.Value{Kind: readers.KindList, List: []readers.Value{str("a")}})
	assert.ErrorContains(t, err, "declare type: array")
}

// The patterns Insider reports, for holding the loop-based checks to them.
var (
	emailRe = regexp.MustCompile(upsert.EmailPattern)
	phoneRe = regexp.MustCompile(upsert.PhonePattern)
)

package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configProblems parses y and returns its problems as "line:col: message".
func configProblems(t *testing.T, y string) []string {
	t.Helper()
	_, err := Parse("c.yaml", []byte(y))
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

// Each config mistake is found before any row is read, and names the YAML
// line and column; every problem is listed at once, in file order.
func TestConfigMistakesNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "custom attribute at the root",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers: {email: email}
  attributes:
    loyalty_tier: tier
`,
			want: []string{"5:5: mapping.attributes.loyalty_tier is not one of Insider's default attributes; custom attributes go under mapping.attributes.custom"},
		},
		{
			name: "custom names Insider refuses",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers:
    email: email
    custom: {Loyalty-ID: card}
  attributes:
    custom:
      "Lifetime Value": ltv
      _hidden: h
  events:
    - name: store_visit
      timestamp: ts
      params:
        custom: {storeId: store}
`,
			want: []string{
				`5:14: mapping.identifiers.custom.Loyalty-ID: "Loyalty-ID" is not a name Insider accepts for a custom field (lowercase letters, digits and _)`,
				`8:7: mapping.attributes.custom.Lifetime Value: "Lifetime Value" is not a name Insider accepts for a custom field (lowercase letters, digits and _)`,
				`9:7: mapping.attributes.custom._hidden: "_hidden" is not a name Insider accepts for a custom field (lowercase letters, digits and _)`,
				`14:18: mapping.events[0].params.custom.storeId: "storeId" is not a name Insider accepts for a custom field (lowercase letters, digits and _)`,
			},
		},
		{
			name: "types that do not fit the field",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers:
    email: {column: email, type: integer}
    uuid: {column: id, type: boolean}
    custom: {card: {column: card, type: number}}
  attributes:
    email_optin: {column: optin, type: date}
    birthday: {column: dob, type: string}
    age: {column: age, type: boolean}
    list_id: {column: lists, type: number}
    country: {column: c, type: array}
  events:
    - name_column: event
      timestamp: {column: ts, type: integer}
      params:
        quantity: {column: q, type: number}
        taxonomy: {column: cat, type: string}
`,
			want: []string{
				"4:5: mapping.identifiers.email: type integer is for ids (uuid and custom identifiers), not email",
				"5:5: mapping.identifiers.uuid: identifiers are strings; remove type boolean (or declare type: integer for ids written as floats, 1000001.0)",
				"6:14: mapping.identifiers.custom.card: identifiers are strings; remove type number (or declare type: integer for ids written as floats, 1000001.0)",
				"8:5: mapping.attributes.email_optin: Insider expects a boolean here, which type date cannot give",
				"9:5: mapping.attributes.birthday: Insider expects an RFC 3339 date-time in UTC (ending in Z) here, which type string cannot give",
				"10:5: mapping.attributes.age: Insider expects a number here, which type boolean cannot give",
				"11:5: mapping.attributes.list_id: Insider expects an array of numbers here, which type number cannot give",
				"12:5: mapping.attributes.country: Insider expects a string here, which type array cannot give",
				"15:7: mapping.events[0].timestamp: type must be datetime or date, not integer",
				"17:9: mapping.events[0].params.quantity: Insider expects an integer here, which type number cannot give",
				"18:9: mapping.events[0].params.taxonomy: Insider expects an array of strings here, which type string cannot give",
			},
		},
		{
			name: "event spec without timestamp, and other event mistakes",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id}
  events:
    - name: purchase
      params: {event_group_id: order, currency: cur, unit_sale_price: price, quantity: qty}
    - name: PageView
      timestamp: ts
    - name: visit
      name_column: kind
      timestamp: ts
    - timestamp: ts
    - name: cart_page_view
      timestamp: ts
      params: {event_group_id: order, unit_price: price, sku: sku}
`,
			want: []string{
				"5:7: mapping.events[0]: timestamp is required (the column holding when the event happened)",
				`7:13: mapping.events[1].name: "PageView" is not an event name Insider accepts (lowercase letters, digits and _)`,
				"9:7: mapping.events[2]: give either name or name_column",
				"12:7: mapping.events[3]: give either name or name_column",
				"13:7: mapping.events[4]: Insider requires param currency on cart_page_view events; map it under params",
				"13:7: mapping.events[4]: Insider requires param unit_sale_price on cart_page_view events; map it under params",
				"15:58: mapping.events[4].params.sku is not one of Insider's default event params; custom params go under params.custom",
			},
		},
		{
			name: "options that do not apply, and bad layouts",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id}
  attributes:
    name: {column: n, layout: "2006-01-02"}
    birthday: {column: dob, layout: "YYYY-MM-DD"}
    custom:
      signup: {column: s, type: date, layout: "15:04"}
      score: {column: sc, type: number, decimal: ";"}
      tags: {column: t, separator: ","}
      seen: {column: seen, type: datetime, timezone: Mars/Base}
      lucky: {column: l, type: integer, timezone: UTC}
`,
			want: []string{
				"5:5: mapping.attributes.name: layout applies to date and datetime only, not string",
				`6:5: mapping.attributes.birthday: layout "YYYY-MM-DD" has no date or time in it: Go layouts are written with the reference time, e.g. "2006-01-02" for YYYY-MM-DD or "02/01/2006 15:04" for DD/MM/YYYY hh:mm; or use rfc3339`,
				`8:7: mapping.attributes.custom.signup: layout "15:04" does not give a full date (year, month and day): write it with Go's reference time 2006-01-02 15:04:05, e.g. "2006-01-02"`,
				`9:50: mapping.attributes.custom.score.decimal must be "." or ","`,
				"10:7: mapping.attributes.custom.tags: separator applies to arrays only, not string",
				`11:54: mapping.attributes.custom.seen.timezone: unknown time zone "Mars/Base" (an IANA name such as Europe/Berlin, or UTC)`,
				"12:7: mapping.attributes.custom.lucky: timezone applies to date and datetime only, not integer",
			},
		},
		{
			name: "identifiers twice, unknown keys, missing sections",
			yaml: `source: {paths: [a.csv], colums: x}
mapping:
  identifiers: {email: mail, user_id: id}
  attributes:
    email: mail
    email_optin: {column: o, typ: boolean}
`,
			want: []string{
				"1:26: source: unknown key \"colums\" (known: paths, format, csv, s3, null_values, on_change, min_age, columns_case)",
				"3:30: mapping.identifiers: unknown key \"user_id\" (known: email, phone_number, uuid, custom)",
				"5:5: mapping.attributes.email: email is mapped under identifiers already, and Insider wants identifiers only there; remove one",
				"6:30: mapping.attributes.email_optin: unknown key \"typ\" (known: column, type, layout, timezone, dst, separator, format, decimal, thousands, value)",
			},
		},
		{
			name: "limits",
			yaml: `source: {paths: [a.csv]}
delivery: {batch_users: 1001, batch_bytes: 6000000}
mapping:
  identifiers: {uuid: id}
  attributes: {name: n}
`,
			want: []string{
				"2:25: delivery.batch_users must be between 1 and 1000",
				"2:44: delivery.batch_bytes must be between 1000 and 5000000",
			},
		},
		{
			name: "nothing to send",
			yaml: `source: {paths: [a.csv]}
mapping:
  identifiers: {}
`,
			want: []string{
				"mapping.identifiers: map at least one identifier (email, phone_number, uuid or custom)",
				"mapping: map at least one attribute or event; Insider needs one of them for every user",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, configProblems(t, tt.yaml))
		})
	}
}

func TestConfigDefaultsAndNaturalTypes(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`source: {paths: [a.csv], null_values: [NULL, '\N', ~, null]}
mapping:
  identifiers: {uuid: id}
  attributes:
    birthday: {column: dob, layout: "02.01.2006", timezone: Europe/Berlin}
    email_optin: optin
    age: age
    list_id: lists
    custom:
      tags: {column: tags, type: array}
      ltv: {column: ltv, type: number, decimal: ","}
  events:
    - name: purchase
      timestamp: {column: ts, layout: RFC3339}
      params: {event_group_id: o, currency: c, unit_sale_price: p, quantity: q}
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"NULL", `\N`, "~", "null"}, cfg.Source.NullValues, "YAML's nulls are the texts meant")
	types := map[string]FieldType{}
	for _, f := range cfg.Mapping.Attributes {
		types[f.Name] = f.Type
	}
	assert.Equal(t, map[string]FieldType{"birthday": TypeDate, "email_optin": TypeBoolean, "age": TypeNumber, "list_id": TypeArray, "tags": TypeArray, "ltv": TypeNumber}, types)
	for _, f := range cfg.Mapping.Attributes {
		switch f.Name {
		case "birthday":
			assert.Equal(t, "Europe/Berlin", f.Timezone.String())
		case "tags", "list_id":
			assert.Equal(t, "|", f.Separator)
		case "ltv":
			assert.Equal(t, ",", f.Decimal)
		}
	}
	ev := cfg.Mapping.Events[0]
	assert.Equal(t, TypeDateTime, ev.Timestamp.Type)
	assert.Equal(t, "rfc3339", ev.Timestamp.Layout)
	assert.Nil(t, ev.Timestamp.Timezone, "no timezone by default: text without a zone is refused, not read as UTC")
	for _, p := range ev.Params {
		if p.Name == "quantity" {
			assert.Equal(t, TypeInteger, p.Type)
		}
	}
}

func TestConfigCSVEncodingAndRecordLimit(t *testing.T) {
	base := "mapping:\n  identifiers: {email: email}\n  attributes: {name: name}\n"
	cfg, err := Parse("c.yaml", []byte("source:\n  paths: [a.csv]\n  csv: {encoding: windows-1252, max_record_bytes: 65536}\n"+base))
	require.NoError(t, err)
	assert.Equal(t, "windows-1252", cfg.Source.Encoding)
	assert.Equal(t, 65536, cfg.Source.MaxRecordBytes)
	plain, err := Parse("c.yaml", []byte("source:\n  paths: [a.csv]\n"+base))
	require.NoError(t, err)
	assert.NotEqual(t, plain.Hash(), cfg.Hash(), "the encoding changes the payloads")

	assert.Equal(t, []string{
		`3:19: source.csv.encoding: unknown text encoding "ebcdic-klingon" (try utf-8, utf-16, windows-1252, iso-8859-1)`,
		"3:53: source.csv.max_record_bytes must be between 1024 and 1073741824",
	}, configProblems(t, "source:\n  paths: [a.csv]\n  csv: {encoding: ebcdic-klingon, max_record_bytes: 10}\n"+base))
}

// The cell-format options are checked where they are written: dst and
// format values, and options on types they do not apply to.
func TestCellFormatOptionsNameTheLine(t *testing.T) {
	got := configProblems(t, `source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id}
  attributes:
    custom:
      a: {column: a, type: datetime, timezone: Europe/Istanbul, dst: first}
      b: {column: b, type: array, format: csv}
      c: {column: c, type: string, format: json}
      d: {column: d, type: array, format: postgres, separator: ";"}
      e: {column: e, type: string, dst: later}
      f: {column: f, type: datetime, dst: earlier}
      g: {column: g, type: datetime, layout: Unix_MS}
`)
	assert.Equal(t, []string{
		`6:70: mapping.attributes.custom.a.dst must be earlier or later (which instant a local time at a daylight-saving change means), not "first"`,
		`7:43: mapping.attributes.custom.b.format must be one of separator, json, postgres, brackets (how an array cell is written), not "csv"`,
		"8:7: mapping.attributes.custom.c: format applies to arrays only, not string (a date's form is its layout)",
		"9:7: mapping.attributes.custom.d: separator applies to format: separator only, not postgres",
		"10:7: mapping.attributes.custom.e: dst applies to date and datetime only, not string",
		"11:7: mapping.attributes.custom.f: dst applies to local times in a timezone; set timezone too",
	}, got)

	cfg, err := Parse("c.yaml", []byte(`source: {paths: [a.csv]}
mapping:
  identifiers: {uuid: id}
  attributes:
    custom:
      g: {column: g, type: datetime, layout: Unix_MS, timezone: UTC, dst: later}
      h: {column: h, type: array, format: brackets}
      i: {column: i, type: array}
`))
	require.NoError(t, err)
	fs := cfg.Mapping.Attributes
	assert.Equal(t, "unix_ms", fs[0].Layout)
	assert.Equal(t, "later", fs[0].DST)
	assert.Equal(t, "brackets", fs[1].Format)
	assert.Equal(t, "separator", fs[2].Format)
	assert.Equal(t, "|", fs[2].Separator)
}

// delivery.give_up_after bounds the retries max_attempts does not count;
// 30 minutes unless set, and never 0.
func TestConfigGiveUpAfter(t *testing.T) {
	const rest = "\nmapping:\n  identifiers: {uuid: id}\n  attributes: {name: n}\n"
	cfg, err := Parse("c.yaml", []byte("source: {paths: [a.csv]}"+rest))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Minute, cfg.Delivery.GiveUpAfter)
	cfg, err = Parse("c.yaml", []byte("source: {paths: [a.csv]}\ndelivery: {give_up_after: 5m}"+rest))
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, cfg.Delivery.GiveUpAfter)
	assert.Equal(t, []string{"2:27: delivery.give_up_after must be above 0"},
		configProblems(t, "source: {paths: [a.csv]}\ndelivery: {give_up_after: 0s}"+rest))
}

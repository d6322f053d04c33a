package encode

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// testMapper parses a config (source and events sections are supplied when
// missing) and binds it to header.
func testMapper(t testing.TB, yaml string, header ...string) *Mapper {
	t.Helper()
	if !strings.Contains(yaml, "source:") {
		yaml = "source: {paths: [x.csv]}\n" + yaml
	}
	cfg, err := parseConfig("t.yaml", []byte(yaml))
	require.NoError(t, err)
	mp, err := NewMapper(cfg, "x.csv", header, testRef)
	require.NoError(t, err)
	return mp
}

// userJSON is the user object the importer would send for rows of one user.
func userJSON(mp *Mapper, rows ...*Row) string {
	return string(AppendUser(nil, KeyedFields(mp.cfg.Mapping.Attributes), rows, mp.cfg.Insider.NotAppend))
}

type ruleAt struct{ Column, Rule string }

func rulesOf(r *Row) []ruleAt {
	var out []ruleAt
	for _, p := range r.Problems {
		out = append(out, ruleAt{p.Column, p.Rule})
	}
	return out
}

const crmMapping = `
mapping:
  identifiers:
    email: email
    phone_number: phone
    uuid: id
    custom: {loyalty_id: loyalty}
  attributes:
    name: name
    birthday: {column: dob, type: date, layout: "2006-01-02"}
    age: age
    country: country
    email_optin: optin
    gdpr_optin: {value: "true"}
    list_id: {column: lists, separator: ","}
    custom:
      tier: tier
      ltv: {column: ltv, type: number, decimal: ","}
      interests: {column: interests, type: array}
`

var crmHeader = []string{"email", "phone", "id", "loyalty", "name", "dob", "age", "country", "optin", "lists", "tier", "ltv", "interests"}

func TestMapRecordAttributes(t *testing.T) {
	mp := testMapper(t, crmMapping, crmHeader...)
	tests := []struct {
		name  string
		cells []string
		user  string   // the user object when the row is valid
		rules []ruleAt // else the problems found
	}{
		{
			name:  "every type",
			cells: []string{" Jane.Doe@Example.COM ", "+447700900123", "10000000000000000001", "LOY-1", "Jane", "1990-04-12", "35", "gb", "Y", "12, 7", "gold", "1830,50", "running | outdoor"},
			user: `{"identifiers":{"email":"jane.doe@example.com","phone_number":"+447700900123","uuid":"10000000000000000001","custom":{"loyalty_id":"LOY-1"}},` +
				`"attributes":{"age":35,"birthday":"1990-04-12T00:00:00Z","country":"GB","email_optin":true,"gdpr_optin":true,"list_id":[12,7],"name":"Jane",` +
				`"custom":{"interests":["running","outdoor"],"ltv":1830.50,"tier":"gold"}}}`,
		},
		{
			name:  "empty cells are absent",
			cells: []string{"", "", "42", "", "", "", "", "", "", "", "", "", " | "},
			user:  `{"identifiers":{"uuid":"42"},"attributes":{"gdpr_optin":true}}`,
		},
		{
			name:  "one custom identifier is enough",
			cells: []string{"", "", "", "LOY-9", "Sam", "", "", "", "", "", "", "", ""},
			user:  `{"identifiers":{"custom":{"loyalty_id":"LOY-9"}},"attributes":{"gdpr_optin":true,"name":"Sam"}}`,
		},
		{
			name:  "no identifier",
			cells: []string{"", "", "", "", "Sam", "", "", "", "", "", "", "", ""},
			rules: []ruleAt{{"email, phone, id, loyalty", "identifiers.required"}},
		},
		{
			name:  "every problem listed, none invented",
			cells: []string{"jane.doe", "07700900456", "", "", "", "12/04/1990", "-3", "GBR", "maybe", "1,x", "", "1.830,50", ""},
			rules: []ruleAt{
				{"email", "regexp(" + upsert.EmailPattern + ")"},
				{"phone", "regexp(" + upsert.PhonePattern + ")"},
				{"age", "min(0)"},
				{"dob", "type(date)"},
				{"country", "format(iso3166-1-alpha-2)"},
				{"optin", "type(boolean)"},
				{"lists", "type(array)"},
				{"ltv", "type(number)"},
			},
		},
		{
			name:  "age must be a number",
			cells: []string{"", "", "1", "", "", "", "thirty", "", "", "", "", "", ""},
			rules: []ruleAt{{"age", "type(number)"}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mp.MapRecord(record(int64(i+1), tt.cells...))
			if tt.rules != nil {
				assert.Equal(t, tt.rules, rulesOf(r), "%v", r.Problems)
				return
			}
			require.Empty(t, r.Problems)
			user := userJSON(mp, r)
			assert.Equal(t, tt.user, user)
			requireAccepted(t, user)
		})
	}
}

func TestMapRecordNullTokens(t *testing.T) {
	mp := testMapper(t, `source: {paths: [x.csv], null_values: [NULL, '\N', "n/a"]}
mapping:
  identifiers: {uuid: id}
  attributes: {name: name, age: age, custom: {note: note}}
`, "id", "name", "age", "note")
	r := mp.MapRecord(record(1, "7", "NULL", `\N`, "n/a"))
	assert.Equal(t, []ruleAt{{"", "attributes_or_events.required"}}, rulesOf(r))
	r = mp.MapRecord(record(2, "7", "null", " NULL ", "N/A"))
	require.Empty(t, r.Problems, "null tokens are exact, after trimming: %v", r.Problems)
	assert.Equal(t, `{"identifiers":{"uuid":"7"},"attributes":{"name":"null","custom":{"note":"N/A"}}}`, userJSON(mp, r))
}

func TestMapRecordEvents(t *testing.T) {
	mp := testMapper(t, purchaseMapping, purchaseHeader...)
	tests := []struct {
		name            string
		cells           []string
		user            string
		rules           []ruleAt
		expired, future int32
	}{
		{
			name:  "purchase",
			cells: []string{"1", "purchase", "2025-06-01 16:32:10", "O-1", "gbp", "9.90", "2", "A > B", "S1"},
			user: `{"identifiers":{"uuid":"1"},"events":[{"event_name":"purchase","timestamp":"2025-06-01T14:32:10Z","event_params":` +
				`{"currency":"GBP","event_group_id":"O-1","quantity":2,"taxonomy":["A","B"],"unit_sale_price":9.90,"custom":{"channel":"pos","store_id":"S1"}}}]}`,
		},
		{
			name:  "custom event needs no params",
			cells: []string{"1", "store_visit", "2025-06-01T10:00:00Z", "", "", "", "", "", ""},
			user:  `{"identifiers":{"uuid":"1"},"events":[{"event_name":"store_visit","timestamp":"2025-06-01T10:00:00Z","event_params":{"custom":{"channel":"pos"}}}]}`,
		},
		{
			name:  "purchase params required",
			cells: []string{"1", "purchase", "2025-06-01T10:00:00Z", "", "", "", "", "", ""},
			rules: []ruleAt{{"order", "event_params.required"}, {"currency", "event_params.required"}, {"price", "event_params.required"}, {"qty", "event_params.required"}},
		},
		{
			name:  "cart_page_view params required, quantity not",
			cells: []string{"1", "cart_page_view", "2025-06-01T10:00:00Z", "O-1", "", "", "", "", ""},
			rules: []ruleAt{{"currency", "event_params.required"}, {"price", "event_params.required"}},
		},
		{
			name:  "bad currency reported once",
			cells: []string{"1", "purchase", "2025-06-01T10:00:00Z", "O-1", "EURO", "1", "1", "", ""},
			rules: []ruleAt{{"currency", "format(iso4217)"}},
		},
		{
			name:  "quantity refuses fractions",
			cells: []string{"1", "purchase", "2025-06-01T10:00:00Z", "O-1", "EUR", "1", "1.5", "", ""},
			rules: []ruleAt{{"qty", "type(integer)"}},
		},
		{
			name:  "event name from a column is checked",
			cells: []string{"1", "Purchase Completed", "2025-06-01T10:00:00Z", "", "", "", "", "", ""},
			rules: []ruleAt{{"event", "event_name.regexp(^[a-z0-9_]+$)"}},
		},
		{
			name:  "timestamp without name",
			cells: []string{"1", "", "2025-06-01T10:00:00Z", "", "", "", "", "", ""},
			rules: []ruleAt{{"event", "event_name.required"}},
		},
		{
			name:  "timestamp must parse",
			cells: []string{"1", "store_visit", "yesterday", "", "", "", "", "", ""},
			rules: []ruleAt{{"at", "timestamp"}},
		},
		{
			name:    "expired purchase is dropped, not rejected",
			cells:   []string{"1", "purchase", "2023-06-01T10:00:00Z", "O-1", "EUR", "1", "1", "", ""},
			expired: 1,
		},
		{
			name:    "custom event has the default ttl",
			cells:   []string{"1", "store_visit", "2025-03-01T10:00:00Z", "", "", "", "", "", ""},
			expired: 1,
		},
		{
			name:   "future event is dropped",
			cells:  []string{"1", "store_visit", "2025-07-01T02:10:00+02:00", "", "", "", "", "", ""},
			future: 1,
		},
		{
			name:  "within future tolerance",
			cells: []string{"1", "store_visit", "2025-07-01T00:04:00Z", "", "", "", "", "", ""},
			user:  `{"identifiers":{"uuid":"1"},"events":[{"event_name":"store_visit","timestamp":"2025-07-01T00:04:00Z","event_params":{"custom":{"channel":"pos"}}}]}`,
		},
		{
			name:  "no timestamp, no event, nothing to send",
			cells: []string{"1", "purchase", "", "", "", "", "", "", ""},
			rules: []ruleAt{{"", "attributes_or_events.required"}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mp.MapRecord(record(int64(i+1), tt.cells...))
			if tt.rules != nil {
				assert.Equal(t, tt.rules, rulesOf(r), "%v", r.Problems)
				assert.Empty(t, r.Evs)
				return
			}
			require.Empty(t, r.Problems)
			assert.Equal(t, tt.expired, r.Expired, "expired")
			assert.Equal(t, tt.future, r.Future, "future")
			if tt.expired+tt.future > 0 {
				assert.Empty(t, r.Evs)
				return
			}
			user := userJSON(mp, r)
			assert.Equal(t, tt.user, user)
			requireAccepted(t, user)
		})
	}
}

func TestMapRecordProblemMessages(t *testing.T) {
	mp := testMapper(t, purchaseMapping, purchaseHeader...)
	r := mp.MapRecord(record(3, "1", "purchase", "2025-06-01T10:00:00Z", "O-1", "", "1,5", "x", "", ""))
	require.Len(t, r.Problems, 3)
	assert.Equal(t, `column qty (quantity): type(integer): not a whole number: "x"`, r.Problems[0].String())
	assert.Equal(t, `column price (unit_sale_price): type(number): not a number: "1,5" (a decimal comma? set decimal: "," on the field)`, r.Problems[1].String())
	assert.Equal(t, `column currency: event_params.required: currency parameter is required on purchase event`, r.Problems[2].String())
}

func TestNewMapperColumns(t *testing.T) {
	cfg, err := parseConfig("t.yaml", []byte(`source: {paths: [x.csv]}
mapping:
  identifiers:
    email: email
  attributes:
    name: first_name
`))
	require.NoError(t, err)
	_, err = NewMapper(cfg, "x.csv", []string{"email", "email", "name"}, testRef)
	var ce *config.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 2)
	assert.Equal(t, `t.yaml:4:5: column "email" (for email) appears 2 times in the header of x.csv; which one is meant is not clear`, ce.Problems[0].String())
	assert.Equal(t, `t.yaml:6:5: column "first_name" (for name) is not in the header of x.csv`, ce.Problems[1].String())

	// Extra columns, such as reject_reason in a rejects CSV, are fine.
	_, err = NewMapper(cfg, "x.csv", []string{"reject_reason", "first_name", "email", "other"}, testRef)
	assert.NoError(t, err)
}

// BenchmarkMapRecord maps the demo's purchase row: the per-row cost of
// the mapper, allocations included (PERFORMANCE.md).
func BenchmarkMapRecord(b *testing.B) {
	y := `source: {paths: [x.csv]}
events: {ttl: {default: 3650d, purchase: 3650d}}
mapping:
  identifiers:
    email: customer_email
    phone_number: phone
    uuid: customer_id
  attributes:
    name: first_name
    surname: last_name
    birthday: {column: dob, type: date, layout: "2006-01-02"}
    email_optin: {column: optin, type: boolean}
    country: country
    custom:
      tier: tier
      lifetime_value: {column: ltv, type: number}
      interests: {column: interests, type: array, separator: "|"}
  events:
    - name: purchase
      timestamp: {column: purchased_at, layout: rfc3339}
      params:
        event_group_id: order_id
        product_id: sku
        name: product_name
        taxonomy: {column: category, type: array, separator: ">"}
        currency: currency
        unit_price: {column: price, type: number}
        unit_sale_price: {column: sale_price, type: number}
        quantity: {column: qty, type: integer}
        custom: {store_id: store}
`
	cfg, err := parseConfig("b.yaml", []byte(y))
	if err != nil {
		b.Fatal(err)
	}
	header := []string{"customer_id", "customer_email", "phone", "first_name", "last_name", "dob", "optin", "country", "tier", "ltv", "interests", "order_id", "sku", "product_name", "category", "currency", "price", "sale_price", "qty", "store", "purchased_at"}
	cells := []string{"10000000000000000001", "Jane.Doe@Example.com", "+447700900123", "Jane", "Doe", "1990-04-12", "yes", "GB", "gold", "1830.50", "running|outdoor", "POS-0042", "SKU-RUN-001", "Trail Running Shoe", "Footwear>Running", "GBP", "120.00", "99.00", "1", "LDN-03", "2025-06-01T14:32:10Z"}
	ref := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	mp, err := NewMapper(cfg, "x.csv", header, ref)
	if err != nil {
		b.Fatal(err)
	}
	rec := readers.Record{Values: make([]readers.Value, len(cells))}
	for i, c := range cells {
		rec.Values[i] = readers.StringValue(c)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := mp.MapRecord(rec)
		if len(r.Problems) > 0 {
			b.Fatal(r.Problems)
		}
	}
}

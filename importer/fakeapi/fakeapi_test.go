package fakeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
)

// answer is one HTTP exchange with the fake.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errorBody(t *testing.T) upsert.ErrorBody {
	t.Helper()
	var e upsert.ErrorBody
	require.NoError(t, json.Unmarshal(a.body, &e), "body: %s", a.body)
	return e
}

func (a answer) response(t *testing.T) upsert.Response {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "body: %s", a.body)
	var r upsert.Response
	require.NoError(t, json.Unmarshal(a.body, &r), "body: %s", a.body)
	return r
}

// start serves srv on loopback for the test.
func start(t *testing.T, srv *fakeapi.Server) string {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// request sends one request; hdr overrides (or, with "", removes) the
// default headers.
func request(t *testing.T, method, url string, body []byte, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(upsert.HeaderPartner, "acme")
	req.Header.Set(upsert.HeaderToken, "secret")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t *testing.T, base string, body string) answer {
	t.Helper()
	return request(t, http.MethodPost, base+upsert.Path, []byte(body), nil)
}

// validUser is a user that passes every rule.
const validUser = `{"identifiers":{"email":"a@example.com"},"attributes":{"name":"A"},
	"events":[{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z",
	"event_params":{"event_group_id":"O1","currency":"EUR","unit_sale_price":9.5,"quantity":1}}]}`

func TestWholeRequestErrors(t *testing.T) {
	users := func(n int) string {
		return `{"users":[` + strings.TrimSuffix(strings.Repeat(`{"uuid_":1},`, n), ",") + `]}`
	}
	tests := []struct {
		name    string
		opts    fakeapi.Options
		method  string
		hdr     map[string]string
		body    string
		status  int
		want    string // exact error text; or, with contains, a part of it
		contain bool
	}{
		{name: "GET", method: http.MethodGet, status: 405, want: "not allowed", contain: true},
		{name: "missing partner", hdr: map[string]string{upsert.HeaderPartner: ""}, status: 403, want: "forbidden", contain: true},
		{name: "wrong partner", opts: fakeapi.Options{Partner: "acme"}, hdr: map[string]string{upsert.HeaderPartner: "other"}, status: 403, want: "partner is invalid: forbidden"},
		{name: "partner not lowercase", hdr: map[string]string{upsert.HeaderPartner: "Acme"}, status: 403, want: "forbidden", contain: true},
		{name: "missing token", hdr: map[string]string{upsert.HeaderToken: ""}, status: 401, want: "unauthorized", contain: true},
		{name: "wrong token", opts: fakeapi.Options{Token: "right"}, status: 403, want: "request token is invalid for this partner: forbidden"},
		{name: "content type", hdr: map[string]string{"Content-Type": "text/plain"}, body: validUser, status: 400, want: "Content-Type must be application/json: bad request"},
		{name: "single quotes", body: `{'users': []}`, status: 400, want: "request data is not in valid JSON format", contain: true},
		{name: "trailing data", body: `{"users":[` + validUser + `]} {}`, status: 400, want: "not in valid JSON format", contain: true},
		{name: "not an object", body: `[1]`, status: 400, want: "request body must be a JSON object: bad request"},
		{name: "users missing", body: `{"skip_hook":true}`, status: 400, want: "users must be defined: bad request"},
		{name: "users null", body: `{"users":null}`, status: 400, want: "users must be defined: bad request"},
		{name: "users not array", body: `{"users":{}}`, status: 400, want: "users must be an array: bad request"},
		{name: "users empty", body: `{"users":[]}`, status: 400, want: "users must contain at least 1 user: bad request"},
		{name: "too many users", body: users(1001), status: 400, want: "users must contain at most 1000 users, got 1001: bad request"},
		{name: "MaxUsers option", opts: fakeapi.Options{MaxUsers: 2}, body: users(3), status: 400, want: "users must contain at most 2 users, got 3: bad request"},
		{name: "skip_hook not boolean", body: `{"skip_hook":"true","users":[` + validUser + `]}`, status: 400, want: "skip_hook must be boolean: bad request"},
		{name: "not_append not boolean", body: `{"not_append":1,"users":[` + validUser + `]}`, status: 400, want: "not_append must be boolean: bad request"},
		{name: "callback not a URL", body: `{"error_callback_endpoint":"nope","users":[` + validUser + `]}`, status: 400, want: "error_callback_endpoint must be an http(s) URL: bad request"},
		{name: "MaxBytes option", opts: fakeapi.Options{MaxBytes: 1000}, body: `{"users":[` + validUser + `],"x":"` + strings.Repeat("x", 1000) + `"}`, status: 400, want: "request body is bigger than maximum allowed size 1,000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeapi.New(tt.opts)
			base := start(t, srv)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			a := request(t, method, base+upsert.Path, []byte(tt.body), tt.hdr)
			require.Equal(t, tt.status, a.status, "body: %s", a.body)
			assert.Equal(t, "application/json", a.header.Get("Content-Type"))
			e := a.errorBody(t)
			if tt.contain {
				assert.Contains(t, e.Error, tt.want)
			} else {
				assert.Equal(t, tt.want, e.Error)
			}
			assert.NotContains(t, string(a.body), "secret", "the token must never be echoed")

			st := srv.Stats()
			assert.EqualValues(t, 1, st.Requests)
			assert.Zero(t, st.Accepted)
			switch tt.status {
			case 400:
				assert.EqualValues(t, 1, st.BadRequests)
			case 401, 403:
				assert.EqualValues(t, 1, st.Forbidden)
			case 405:
				assert.EqualValues(t, 1, st.OtherErrors)
			}
		})
	}
}

func TestExactInsiderBodies(t *testing.T) {
	base := start(t, fakeapi.New(fakeapi.Options{}))
	a := post(t, base, `{"skip_hook":true}`)
	assert.Equal(t, 400, a.status)
	assert.JSONEq(t, `{"error":"users must be defined: bad request"}`, string(a.body))

	// A body over the real 5,000,000-byte limit.
	big := `{"users":[` + validUser + `],"pad":"` + strings.Repeat("x", upsert.MaxBytes) + `"}`
	a = post(t, base, big)
	assert.Equal(t, 400, a.status)
	assert.JSONEq(t, `{"error":"request body is bigger than maximum allowed size 5,000,000 bytes"}`, string(a.body))
}

func TestDocExamples(t *testing.T) {
	base := start(t, fakeapi.New(fakeapi.Options{}))
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		require.NoError(t, err)
		return string(b)
	}

	// §9 request → §10 partial failure, byte for byte as JSON.
	a := post(t, base, read("doc_request.json"))
	require.Equal(t, 200, a.status, "body: %s", a.body)
	assert.JSONEq(t, read("doc_response_partial.json"), string(a.body))

	// §10 "everything rejected": purchase without required params, bad email.
	a = post(t, base, `{"users":[{"identifiers":{"email":"jane.doe"},"events":[{"event_name":"purchase",
		"timestamp":"2025-06-01T14:32:10Z","event_params":{"currency":"USD","quantity":1}}]}]}`)
	require.Equal(t, 200, a.status, "body: %s", a.body)
	assert.JSONEq(t, read("doc_response_all_rejected.json"), string(a.body))

	// All accepted: "fail" is {}.
	a = post(t, base, `{"users":[`+validUser+`,`+validUser+`,`+validUser+`]}`)
	require.Equal(t, 200, a.status, "body: %s", a.body)
	assert.JSONEq(t, `{"data":{"successful":{"count":3},"fail":{}}}`, string(a.body))
}

func TestUserErrors(t *testing.T) {
	const ev = `"events":[{"event_name":"login","timestamp":"2025-06-01T10:00:00Z"}]`
	const id = `"identifiers":{"uuid":"u1"}`
	tests := []struct {
		name string
		user string
		want map[string][]string // keys without the "users.0." prefix; nil = valid
	}{
		{name: "valid", user: validUser},
		{name: "valid insider_id only", user: `{"insider_id":"abc",` + ev + `}`},
		{name: "valid custom identifier, all default attributes", user: `{"identifiers":{"custom":{"loyalty_id":"L1"}},"attributes":{
			"email":"a@b.co","phone_number":"+6598765432","uuid":"u","name":"n","surname":"s","birthday":"1980-01-01T00:00:00Z",
			"gender":"F","age":35,"language":"en_US","country":"SG","city":"c","email_optin":true,"sms_optin":false,
			"whatsapp_optin":true,"gdpr_optin":true,"list_id":[1,2],"static_segment_id":[3],"lo":"x",
			"custom":{"tier":"gold","ltv":1.5,"vip":true,"seen":"2023-11-29T23:00:00Z","colors":["green"],"ids":[1]}}}`},
		{name: "valid event with all default params", user: `{` + id + `,"events":[{"event_name":"cart_page_view","timestamp":"2025-06-01T10:00:00.123+03:00",
			"event_params":{"event_group_id":"g","product_id":"p","name":"n","taxonomy":["a","b"],"url":"https://x.example","currency":"USD",
			"quantity":2,"unit_price":10,"unit_sale_price":9.9,"locale":"en","color":"red","size":"M","shipping_cost":"1",
			"promotion_name":"p","promotion_discount":0.5,"product_image_url":"u","stock":3,"session_id":"s","custom":{"store_id":"S1","n":2}}}]}`},
		{name: "valid attributes and empty events", user: `{` + id + `,"attributes":{"age":3},"events":[],"not_append":true,"append":false}`},

		{name: "user not an object", user: `"x"`, want: map[string][]string{"type(object)": {"user must be an object: x"}}},
		{name: "no identity", user: `{` + ev + `}`, want: map[string][]string{
			"identifiers.required": {"either insider_id or idenifiers must be specified"},
			"insider_id.required":  {"either insider_id or idenifiers must be specified"}}},
		{name: "empty identifiers and insider_id", user: `{"identifiers":{},"insider_id":"",` + ev + `}`, want: map[string][]string{
			"identifiers.required": {"either insider_id or idenifiers must be specified"},
			"insider_id.required":  {"either insider_id or idenifiers must be specified"}}},
		{name: "identifiers not an object", user: `{"identifiers":[1],` + ev + `}`, want: map[string][]string{
			"identifiers.type(object)": {"identifiers must be an object: [1]"}}},
		{name: "insider_id not a string", user: `{"insider_id":5,` + ev + `}`, want: map[string][]string{
			"insider_id.type(string)": {"insider_id must be string: 5"}}},
		{name: "bad email", user: `{"identifiers":{"email":"jane.doe"},` + ev + `}`, want: map[string][]string{
			`identifiers.*.regexp(^.+@.+\..+$)`: {"not a valid email address: jane.doe"}}},
		{name: "bad phone", user: `{"identifiers":{"phone_number":"07700900456"},` + ev + `}`, want: map[string][]string{
			`identifiers.*.regexp(^\+[1-9]\d{6,14}$)`: {"user has an invalid phone number: 07700900456"}}},
		{name: "phone too short", user: `{"identifiers":{"phone_number":"+123456"},` + ev + `}`, want: map[string][]string{
			`identifiers.*.regexp(^\+[1-9]\d{6,14}$)`: {"user has an invalid phone number: +123456"}}},
		{name: "uuid number", user: `{"identifiers":{"uuid":12345},` + ev + `}`, want: map[string][]string{
			"identifiers.*.type(string)": {"uuid must be string: 12345"}}},
		{name: "uuid empty", user: `{"identifiers":{"uuid":""},` + ev + `}`, want: map[string][]string{
			"identifiers.*.min(1)": {"uuid must not be empty"}}},
		{name: "unknown identifier", user: `{"identifiers":{"uuid":"u","pn":"+6598765432"},` + ev + `}`, want: map[string][]string{
			"identifiers.*.in(defaults_column)": {"key must be one of phone_number(pn), email(em) or uuid"}}},
		{name: "custom identifier not a string", user: `{"identifiers":{"custom":{"loyalty_id":7}},` + ev + `}`, want: map[string][]string{
			"identifiers.custom.*.type(string)": {"custom identifier loyalty_id must be string: 7"}}},
		{name: "custom identifier bad name", user: `{"identifiers":{"custom":{"Loyalty":"x"}},` + ev + `}`, want: map[string][]string{
			"identifiers.custom.*.regexp(^[a-z0-9][a-z0-9_]*$)": {"invalid custom identifier name: Loyalty"}}},
		{name: "custom identifiers empty", user: `{"identifiers":{"custom":{}},` + ev + `}`, want: map[string][]string{
			"identifiers.custom.min(1)": {"custom identifiers must not be empty"}}},

		{name: "neither attributes nor events", user: `{` + id + `,"not_append":true}`, want: map[string][]string{
			"attributes.required": {"either attributes or events must be specified"},
			"events.required":     {"either attributes or events must be specified"}}},
		{name: "attributes empty", user: `{` + id + `,"attributes":{}}`, want: map[string][]string{
			"attributes.min(1)": {"attributes must contain at least one attribute"}}},
		{name: "attributes only empty custom", user: `{` + id + `,"attributes":{"custom":{}}}`, want: map[string][]string{
			"attributes.min(1)": {"attributes must contain at least one attribute"}}},
		{name: "attributes not an object", user: `{` + id + `,"attributes":[]}`, want: map[string][]string{
			"attributes.type(object)": {"attributes must be an object: []"}}},
		{name: "opt-in as string", user: `{` + id + `,"attributes":{"email_optin":"true"}}`, want: map[string][]string{
			"attributes.*.type(boolean)": {"email_optin must be boolean: true"}}},
		{name: "birthday not UTC", user: `{` + id + `,"attributes":{"birthday":"1980-01-01T00:00:00+02:00"}}`, want: map[string][]string{
			"attributes.*.type(utc-date-time)": {"birthday must be RFC 3339 date-time in UTC (ending in Z): 1980-01-01T00:00:00+02:00"}}},
		{name: "birthday a date", user: `{` + id + `,"attributes":{"birthday":"1980-01-01"}}`, want: map[string][]string{
			"attributes.*.type(utc-date-time)": {"birthday must be RFC 3339 date-time in UTC (ending in Z): 1980-01-01"}}},
		{name: "age as string", user: `{` + id + `,"attributes":{"age":"35"}}`, want: map[string][]string{
			"attributes.*.type(number)": {"age must be number: 35"}}},
		{name: "list_id strings", user: `{` + id + `,"attributes":{"list_id":["12"]}}`, want: map[string][]string{
			"attributes.*.type(number-array)": {`list_id must be array of numbers: ["12"]`}}},
		{name: "name null", user: `{` + id + `,"attributes":{"name":null}}`, want: map[string][]string{
			"attributes.*.type(string)": {"name must be string: null"}}},
		{name: "attribute phone not E.164", user: `{` + id + `,"attributes":{"phone_number":"0770"}}`, want: map[string][]string{
			`attributes.*.regexp(^\+[1-9]\d{6,14}$)`: {"user has an invalid phone number: 0770"}}},
		{name: "custom attribute at root", user: `{` + id + `,"attributes":{"tier":"gold"}}`, want: map[string][]string{
			"attributes.*.in(default_attributes)": {"unknown default attribute: tier (custom attributes belong under attributes.custom)"}}},
		{name: "custom attribute bad name and value", user: `{` + id + `,"attributes":{"custom":{"Tier":"g","obj":{"a":1}}}}`, want: map[string][]string{
			"attributes.custom.*.regexp(^[a-z0-9][a-z0-9_]*$)": {"invalid custom attribute name: Tier (lowercase letters, digits and _)"},
			"attributes.custom.*.type(value)":                  {`custom attribute obj must be a string, number, boolean or an array of strings or numbers: {"a":1}`}}},
		{name: "unknown user key", user: `{` + id + `,"attributes":{"age":1},"platform":"x"}`, want: map[string][]string{
			"*.in(user_keys)": {"unknown user key: platform (allowed: identifiers, insider_id, attributes, events, not_append, append)"}}},
		{name: "not_append not boolean", user: `{` + id + `,"attributes":{"age":1},"not_append":"yes"}`, want: map[string][]string{
			"not_append.type(boolean)": {"not_append must be boolean: yes"}}},

		{name: "events not an array", user: `{` + id + `,"events":{}}`, want: map[string][]string{
			"events.type(array)": {"events must be an array: {}"}}},
		{name: "event not an object", user: `{` + id + `,"events":[1]}`, want: map[string][]string{
			"events.0.type(object)": {"event must be an object: 1"}}},
		{name: "event name camelCase", user: `{` + id + `,"events":[{"event_name":"homepageView","timestamp":"2025-06-01T10:00:00Z"}]}`, want: map[string][]string{
			"events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)": {"invalid event name: homepageView"}}},
		{name: "event name missing, timestamp missing", user: `{` + id + `,"events":[{"event_params":{}}]}`, want: map[string][]string{
			"events.0.event_name.required": {"event_name is required"},
			"events.0.timestamp.required":  {"timestamp is required"}}},
		{name: "timestamp not RFC 3339", user: `{` + id + `,"events":[{"event_name":"login","timestamp":"2025-06-01 10:00:00"}]}`, want: map[string][]string{
			"events.0.timestamp.*.date(RFC3339)": {"invalid timestamp: 2025-06-01 10:00:00"}}},
		{name: "timestamp a number", user: `{` + id + `,"events":[{"event_name":"login","timestamp":1717236000}]}`, want: map[string][]string{
			"events.0.timestamp.*.date(RFC3339)": {"invalid timestamp: 1717236000"}}},
		{name: "purchase without params", user: `{` + id + `,"events":[{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z"}]}`, want: map[string][]string{
			"events.0.event_params.*.required": {
				"event_group_id parameter is required on purchase event",
				"currency parameter is required on purchase event",
				"unit_sale_price parameter is required on purchase event",
				"quantity parameter is required on purchase event"}}},
		{name: "cart_page_view empty group id", user: `{` + id + `,"events":[{"event_name":"cart_page_view","timestamp":"2025-06-01T10:00:00Z",
			"event_params":{"event_group_id":"","currency":"EUR","unit_sale_price":1}}]}`, want: map[string][]string{
			"events.0.event_params.*.required": {"event_group_id parameter is required on cart_page_view event"}}},
		{name: "param types", user: `{` + id + `,"events":[{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z",
			"event_params":{"event_group_id":"g","currency":"EUR","unit_sale_price":"9.9","quantity":1.5,"taxonomy":"a>b"}}]}`, want: map[string][]string{
			"events.0.event_params.*.type(number)":       {"unit_sale_price must be number: 9.9"},
			"events.0.event_params.*.type(integer)":      {"quantity must be integer: 1.5"},
			"events.0.event_params.*.type(string-array)": {"taxonomy must be array of strings: a>b"}}},
		{name: "custom param at root, bad custom value", user: `{` + id + `,"events":[{"event_name":"login","timestamp":"2025-06-01T10:00:00Z",
			"event_params":{"store_id":"S1","custom":{"tags":[1,"a"]}}}]}`, want: map[string][]string{
			"events.0.event_params.*.in(default_params)": {"unknown default event param: store_id (custom params belong under event_params.custom)"},
			"events.0.event_params.custom.*.type(value)": {`custom event param tags must be a string, number, boolean or an array of strings or numbers: [1,"a"]`},
		}},
		{name: "unknown event key, second event", user: `{` + id + `,"events":[{"event_name":"login","timestamp":"2025-06-01T10:00:00Z"},
			{"event_name":"login","timestamp":"2025-06-01T10:00:00Z","params":{}}]}`, want: map[string][]string{
			"events.1.*.in(event_keys)": {"unknown event key: params (allowed: event_name, timestamp, event_params)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeapi.New(fakeapi.Options{})
			base := start(t, srv)
			r := post(t, base, `{"skip_hook":true,"users":[`+tt.user+`]}`).response(t)
			st := srv.Stats()
			if tt.want == nil {
				assert.Equal(t, 1, r.Data.Successful.Count)
				assert.Zero(t, r.Data.Fail.Count)
				assert.Empty(t, r.Data.Fail.Errors)
				assert.EqualValues(t, 1, st.UsersAccepted)
				return
			}
			want := map[string][]string{}
			for k, v := range tt.want {
				want["users.0."+k] = v
			}
			assert.Equal(t, want, r.Data.Fail.Errors)
			assert.Equal(t, 1, r.Data.Fail.Count)
			assert.Zero(t, r.Data.Successful.Count)
			assert.EqualValues(t, 1, st.UsersRejected)
			assert.Zero(t, st.UsersAccepted)
			assert.Zero(t, st.Events, "a rejected user's events are not stored")
		})
	}
}

func TestMixedUsersCountsAndIndexes(t *testing.T) {
	srv := fakeapi.New(fakeapi.Options{})
	base := start(t, srv)
	body := `{"skip_hook":true,"users":[` + validUser + `,{"identifiers":{"uuid":1},"attributes":{"age":1}},` + validUser +
		`,{"identifiers":{"email":"x"},"events":[{"event_name":"BAD","timestamp":"2025-06-01T10:00:00Z"}]}]}`
	r := post(t, base, body).response(t)
	assert.Equal(t, 2, r.Data.Successful.Count)
	assert.Equal(t, 2, r.Data.Fail.Count)
	assert.Equal(t, map[string][]string{
		"users.1.identifiers.*.type(string)":                              {"uuid must be string: 1"},
		`users.3.identifiers.*.regexp(^.+@.+\..+$)`:                       {"not a valid email address: x"},
		"users.3.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)": {"invalid event name: BAD"},
	}, r.Data.Fail.Errors)

	st := srv.Stats()
	assert.EqualValues(t, 2, st.UsersAccepted)
	assert.EqualValues(t, 2, st.UsersRejected)
	assert.EqualValues(t, 2, st.Events)
	assert.EqualValues(t, 1, st.DistinctEvents, "validUser twice is the same event")
	assert.EqualValues(t, 1, st.Accepted)
}

func TestThrottle(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := fakeapi.New(fakeapi.Options{Throttle: 3, Now: clock})
	base := start(t, srv)
	body := `{"skip_hook":true,"users":[` + validUser + `]}`

	for i := range 3 {
		assert.Equal(t, 200, post(t, base, body).status, "request %d", i)
	}
	a := post(t, base, body)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	assert.JSONEq(t, `{"error":"rejected: too many requests"}`, string(a.body))
	// A big body is answered too, not cut off.
	big := `{"users":[` + validUser + `],"pad":"` + strings.Repeat("x", upsert.MaxBytes-1000) + `"}`
	assert.Equal(t, http.StatusTooManyRequests, post(t, base, big).status)

	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	for i := range 3 {
		assert.Equal(t, 200, post(t, base, body).status, "request %d after a second", i)
	}
	assert.Equal(t, 429, post(t, base, body).status)

	st := srv.Stats()
	assert.EqualValues(t, 9, st.Requests)
	assert.EqualValues(t, 6, st.Accepted)
	assert.EqualValues(t, 3, st.Throttled)
	assert.EqualValues(t, 6, st.Events, "throttled requests store nothing")
}

func TestFailRate(t *testing.T) {
	run := func(opts fakeapi.Options) []int {
		srv := fakeapi.New(opts)
		base := start(t, srv)
		var got []int
		for range 40 {
			a := post(t, base, `{"skip_hook":true,"users":[`+validUser+`]}`)
			if a.status == 500 {
				assert.JSONEq(t, `{"success":false,"message":"internal error"}`, string(a.body))
			}
			got = append(got, a.status)
		}
		st := srv.Stats()
		assert.EqualValues(t, 40, st.Accepted+st.Failed)
		assert.Equal(t, st.Accepted, st.Events, "failed requests store nothing")
		return got
	}
	count := func(codes []int, code int) (n int) {
		for _, c := range codes {
			if c == code {
				n++
			}
		}
		return n
	}

	a := run(fakeapi.Options{FailRate: 0.3, Seed: 7})
	b := run(fakeapi.Options{FailRate: 0.3, Seed: 7})
	assert.Equal(t, a, b, "same seed, same failures")
	assert.NotZero(t, count(a, 500))
	assert.NotZero(t, count(a, 200))
	assert.NotEqual(t, a, run(fakeapi.Options{FailRate: 0.3, Seed: 8}), "another seed, other failures")
	assert.Equal(t, 40, count(run(fakeapi.Options{FailRate: 1}), 500))
	assert.Equal(t, 40, count(run(fakeapi.Options{FailRate: 0}), 200))
}

func TestCountsDedupAndSkipHook(t *testing.T) {
	var recMu sync.Mutex
	var recorded []upsert.Response
	srv := fakeapi.New(fakeapi.Options{Record: func(body []byte, r upsert.Response) {
		recMu.Lock()
		defer recMu.Unlock()
		assert.True(t, json.Valid(body))
		recorded = append(recorded, r)
	}})
	base := start(t, srv)

	batch := `"users":[
		{"identifiers":{"uuid":"u1","email":"a@example.com"},"events":[
			{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z","event_params":{"event_group_id":"O1","currency":"EUR","unit_sale_price":9.50,"quantity":1}},
			{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z","event_params":{"event_group_id":"O1","currency":"EUR","unit_sale_price":2,"quantity":3}},
			{"event_name":"login","timestamp":"2025-06-01T10:00:00Z"}]},
		{"insider_id":"ins-9","events":[{"event_name":"login","timestamp":"2025-06-01T10:00:00Z","event_params":null}]},
		{"identifiers":{"uuid":"u2"},"attributes":{"age":4}}]`
	require.Equal(t, 200, post(t, base, `{"skip_hook":true,`+batch+`}`).status)
	require.Equal(t, 200, post(t, base, `{"skip_hook":true,`+batch+`}`).status) // a retry: same events again
	require.Equal(t, 200, post(t, base, `{`+batch+`}`).status)                  // no skip_hook
	require.Equal(t, 200, post(t, base, `{"skip_hook":false,`+batch+`}`).status)
	require.Equal(t, 400, post(t, base, `{"skip_hook":true}`).status)

	st := srv.Stats()
	assert.Equal(t, fakeapi.Stats{
		Requests: 5, Accepted: 4, BadRequests: 1,
		UsersAccepted: 12, Events: 16, DistinctEvents: 4, RequestsWithoutSkipHook: 2,
		ExpiredEvents: st.ExpiredEvents, BytesAccepted: st.BytesAccepted, // depend on the real clock and the body
	}, st)
	assert.Positive(t, st.BytesAccepted)

	// The keys, built independently from the sent values (a struct for the
	// identity, with keys in another order: the key sorts them).
	type ids struct {
		UUID  string `json:"uuid"`
		Email string `json:"email"`
	}
	key := func(identity any, name string, params any) string {
		k, err := fakeapi.EventKey(identity, name, "2025-06-01T10:00:00Z", params)
		require.NoError(t, err)
		return k
	}
	u1 := ids{UUID: "u1", Email: "a@example.com"}
	want := map[string]int{
		key(u1, "purchase", json.RawMessage(`{"quantity":1,"event_group_id":"O1","currency":"EUR","unit_sale_price":9.50}`)): 4,
		key(u1, "purchase", map[string]any{"event_group_id": "O1", "currency": "EUR", "unit_sale_price": 2, "quantity": 3}):  4,
		key(u1, "login", nil): 4,
		key(map[string]string{"insider_id": "ins-9"}, "login", map[string]any{}): 4,
	}
	assert.Equal(t, want, srv.Events())
	assert.Contains(t, srv.Events(),
		`[{"email":"a@example.com","uuid":"u1"},"purchase","2025-06-01T10:00:00Z",{"currency":"EUR","event_group_id":"O1","quantity":1,"unit_sale_price":9.50}]`,
		"numbers stay as sent")

	recMu.Lock()
	assert.Len(t, recorded, 4)
	recMu.Unlock()

	// GET /stats and /events serve the same as JSON.
	a := request(t, http.MethodGet, base+"/stats", nil, nil)
	require.Equal(t, 200, a.status)
	var got fakeapi.Stats
	require.NoError(t, json.Unmarshal(a.body, &got))
	assert.Equal(t, st, got)
	assert.Contains(t, string(a.body), `"distinct_events":4`)
	a = request(t, http.MethodGet, base+"/events", nil, nil)
	require.Equal(t, 200, a.status)
	var events map[string]int
	require.NoError(t, json.Unmarshal(a.body, &events))
	assert.Equal(t, want, events)

	srv.Reset()
	assert.Equal(t, fakeapi.Stats{}, srv.Stats())
	assert.Empty(t, srv.Events())
}

func TestExpiredAndFutureEvents(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	srv := fakeapi.New(fakeapi.Options{Now: func() time.Time { return now }})
	base := start(t, srv)
	ev := func(name string, at time.Time) string {
		return fmt.Sprintf(`{"event_name":%q,"timestamp":%q,"event_params":{"event_group_id":"g","currency":"EUR","unit_sale_price":1,"quantity":1}}`,
			name, at.Format(time.RFC3339))
	}
	day := 24 * time.Hour
	body := `{"skip_hook":true,"users":[{"identifiers":{"uuid":"u"},"events":[` + strings.Join([]string{
		ev("login", now.Add(-89*day)),      // fresh
		ev("login", now.Add(-91*day)),      // expired (90 days)
		ev("purchase", now.Add(-700*day)),  // fresh (730 days)
		ev("purchase", now.Add(-731*day)),  // expired
		ev("login", now.Add(time.Minute)),  // future
		ev("purchase", now.Add(time.Hour)), // future
	}, ",") + `]}]}`
	require.Equal(t, 200, post(t, base, body).status)
	st := srv.Stats()
	assert.EqualValues(t, 6, st.Events)
	assert.EqualValues(t, 2, st.ExpiredEvents)
	assert.EqualValues(t, 2, st.FutureEvents)
}

func TestConcurrentUse(t *testing.T) {
	srv := fakeapi.New(fakeapi.Options{Throttle: 1e6})
	base := start(t, srv)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				body := fmt.Sprintf(`{"skip_hook":true,"users":[{"identifiers":{"uuid":"w%d"},"events":[
					{"event_name":"login","timestamp":"2025-06-01T10:00:00Z","event_params":{"custom":{"i":%d}}},
					{"event_name":"login","timestamp":"2025-06-01T10:00:00Z"}]}]}`, w, i)
				assert.Equal(t, 200, post(t, base, body).status)
				_ = srv.Stats()
				_ = srv.Events()
			}
		})
	}
	wg.Wait()
	st := srv.Stats()
	assert.EqualValues(t, 200, st.Accepted)
	assert.EqualValues(t, 400, st.Events)
	assert.EqualValues(t, 8*25+8, st.DistinctEvents)
	assert.Len(t, srv.Events(), 8*25+8)
}

func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := fakeapi.New(fakeapi.Options{Delay: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()

	// A request held back by Delay is counted before it is answered.
	reqDone := make(chan struct{})
	go func() {
		defer close(reqDone)
		req, _ := http.NewRequest(http.MethodPost, "http://"+l.Addr().String()+upsert.Path,
			strings.NewReader(`{"skip_hook":true,"users":[`+validUser+`]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(upsert.HeaderPartner, "acme")
		req.Header.Set(upsert.HeaderToken, "t")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return srv.Stats().Accepted == 1 }, 5*time.Second, 10*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	<-reqDone
	_, err = net.DialTimeout("tcp", l.Addr().String(), time.Second)
	assert.Error(t, err, "listener closed")
}

func TestEventKey(t *testing.T) {
	k1, err := fakeapi.EventKey(map[string]any{"uuid": "u", "custom": map[string]string{"b": "2", "a": "1"}}, "login", "2025-06-01T10:00:00Z", nil)
	require.NoError(t, err)
	assert.Equal(t, `[{"custom":{"a":"1","b":"2"},"uuid":"u"},"login","2025-06-01T10:00:00Z",{}]`, k1)

	k2, err := fakeapi.EventKey(json.RawMessage(`{"uuid":"u","custom":{"a":"1","b":"2"}}`), "login", "2025-06-01T10:00:00Z", json.RawMessage(`{}`))
	require.NoError(t, err)
	assert.Equal(t, k1, k2)

	k3, err := fakeapi.EventKey(map[string]any{"uuid": "u"}, "x", "t", map[string]any{"url": "https://a.example/?q=<b>&c"})
	require.NoError(t, err)
	assert.Equal(t, `[{"uuid":"u"},"x","t",{"url":"https://a.example/?q=<b>&c"}]`, k3, "no HTML escaping")

	// Strings are escaped as encoding/json escapes them (without HTML escaping).
	params := map[string]any{"name": "Çağ \u2028 \"q\" \\ \t \x01 <b>", "n": json.Number("1.50"), "ok": true, "l": []any{nil, "a"}}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(params))
	k4, err := fakeapi.EventKey(map[string]any{"uuid": "u"}, "x", "t", params)
	require.NoError(t, err)
	assert.Equal(t, `[{"uuid":"u"},"x","t",`+strings.TrimSpace(want.String())+`]`, k4)

	_, err = fakeapi.EventKey(func() {}, "x", "t", nil)
	assert.Error(t, err)
}

// RateLimit lets at most N requests through in any one second, with a
// Retry-After only when asked for.
func TestRateLimitSlidingWindow(t *testing.T) {
	for _, withHeader := range []bool{false, true} {
		var mu sync.Mutex
		now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		step := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		srv := fakeapi.New(fakeapi.Options{RateLimit: 3, RetryAfter: withHeader, Now: clock})
		base := start(t, srv)
		body := `{"skip_hook":true,"users":[` + validUser + `]}`
		for i := range 3 {
			assert.Equal(t, 200, post(t, base, body).status, "request %d", i)
			step(300 * time.Millisecond)
		}
		a := post(t, base, body) // at 0.9s: 3 in the last second
		require.Equal(t, http.StatusTooManyRequests, a.status)
		if withHeader {
			assert.Equal(t, "1", a.header.Get("Retry-After"))
		} else {
			assert.Empty(t, a.header.Get("Retry-After"))
		}
		step(150 * time.Millisecond) // 1.05s: the first has left the window
		assert.Equal(t, 200, post(t, base, body).status)
		assert.Equal(t, 429, post(t, base, body).status, "the window is full again")
		st := srv.Stats()
		assert.EqualValues(t, 4, st.Accepted)
		assert.EqualValues(t, 2, st.Throttled)
	}
}

// The maintenance page, a redirect and a bad user: what a client must not
// take for delivery.
func TestMaintenanceRedirectBadUser(t *testing.T) {
	body := `{"skip_hook":true,"users":[` + validUser + `]}`

	srv := fakeapi.New(fakeapi.Options{Maintenance: true})
	a := post(t, start(t, srv), body)
	assert.Equal(t, 200, a.status)
	assert.JSONEq(t, `{"message":"service under maintenance"}`, string(a.body))
	assert.EqualValues(t, fakeapi.Stats{Requests: 1, Maintenance: 1}, srv.Stats())

	srv = fakeapi.New(fakeapi.Options{RedirectTo: "http://127.0.0.1:1/elsewhere", RedirectStatus: 307})
	req, err := http.NewRequest(http.MethodPost, start(t, srv)+upsert.Path, strings.NewReader(body))
	require.NoError(t, err)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 307, resp.StatusCode)
	assert.Equal(t, "http://127.0.0.1:1/elsewhere", resp.Header.Get("Location"))
	assert.EqualValues(t, fakeapi.Stats{Requests: 1, Redirected: 1}, srv.Stats())

	srv = fakeapi.New(fakeapi.Options{BadUser: "a@example.com"})
	base := start(t, srv)
	a = post(t, base, body)
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "user a@example.com cannot be processed: bad request", a.errorBody(t).Text())
	assert.Equal(t, 200, post(t, base, strings.ReplaceAll(body, "a@example.com", "b@example.com")).status)
}

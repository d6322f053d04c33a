package fakeapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
)

func profile(t *testing.T, base, body string) answer {
	t.Helper()
	return request(t, http.MethodPost, base+upsert.ProfilePath, []byte(body), nil)
}

// TestProfileAnswersWhatWasStored: users merge by any shared identifier,
// attributes keep the last value (arrays appended to), identical events
// are stored once, custom attributes and params are asked with c_, and a
// user never sent is 404.
func TestProfileAnswersWhatWasStored(t *testing.T) {
	base := start(t, fakeapi.New(fakeapi.Options{}))
	r := post(t, base, `{"users":[`+validUser+`,
		{"identifiers":{"email":"a@example.com","uuid":"U1"},"attributes":{"name":"B","custom":{"tags":["x"],"tier":"gold"}}},
		{"identifiers":{"uuid":"U1"},"attributes":{"custom":{"tags":["y"]}},
		 "events":[{"event_name":"purchase","timestamp":"2025-06-01T10:00:00Z","event_params":{"event_group_id":"O1","currency":"EUR","unit_sale_price":9.5,"quantity":1}},
		           {"event_name":"visit","timestamp":"2025-06-02T10:00:00+02:00","event_params":{"custom":{"store":"S1"}}}]}]}`).response(t)
	require.Equal(t, 3, r.Data.Successful.Count)

	a := profile(t, base, `{"identifiers":{"uuid":"U1"},"attributes":["name","c_tags","c_tier","surname"],
		"events":{"start_date":1748736000,"end_date":1748908800,"wanted":[{"event_name":"purchase","params":["quantity","timestamp"]},{"event_name":"visit","params":["c_store"]}]},"quota":true}`)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var got struct {
		Attributes map[string]any              `json:"attributes"`
		Events     map[string][]map[string]any `json:"events"`
		Quota      upsert.ProfileQuotaReport   `json:"quota"`
	}
	require.NoError(t, json.Unmarshal(a.body, &got))
	assert.Equal(t, map[string]any{"name": "B", "c_tags": []any{"x", "y"}, "c_tier": "gold"}, got.Attributes)
	assert.Equal(t, []map[string]any{{"quantity": 1.0, "timestamp": "2025-06-01T10:00:00Z", "created_date": "2025-06-01T10:00:00Z"}}, got.Events["purchase"], "sent twice, stored once")
	assert.Equal(t, []map[string]any{{"c_store": "S1", "created_date": "2025-06-02T08:00:00Z"}}, got.Events["visit"])
	assert.Equal(t, upsert.ProfileQuotaReport{Cost: 3.02, Used: 3.02, Total: 1000}, got.Quota)

	a = profile(t, base, `{"identifiers":{"email":"nobody@example.com"},"attributes":["name"]}`)
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.JSONEq(t, `{"error":"no such user for these identifiers: no data"}`, string(a.body))
}

// TestProfileQuota: over the quota of a minute, 429.
func TestProfileQuota(t *testing.T) {
	base := start(t, fakeapi.New(fakeapi.Options{Profile: fakeapi.ProfileOptions{Quota: 3}}))
	require.Equal(t, 1, post(t, base, `{"users":[`+validUser+`]}`).response(t).Data.Successful.Count)
	for range 3 {
		assert.Equal(t, http.StatusOK, profile(t, base, `{"identifiers":{"email":"a@example.com"},"attributes":["name"]}`).status)
	}
	a := profile(t, base, `{"identifiers":{"email":"a@example.com"},"attributes":["name"]}`)
	assert.Equal(t, http.StatusTooManyRequests, a.status)
	assert.JSONEq(t, `{"message":"Too Many Requests","status":429}`, string(a.body))
}

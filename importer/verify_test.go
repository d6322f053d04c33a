package importer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// TestQuotaPacer: requests are spaced so that the costs Insider reports
// stay within the quota of any minute, and units other clients used (the
// reported "used" above this client's own) are left to them.
func TestQuotaPacer(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept []time.Duration
	p := quotaPacer{total: 1000, next: 1, now: func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }}
	ctx := context.Background()
	for i := range 3 {
		require.NoError(t, p.wait(ctx))
		p.record(&upsert.ProfileQuotaReport{Cost: 3, Used: float64(3 * (i + 1)), Total: 10})
		now = now.Add(time.Second)
	}
	assert.Empty(t, slept, "9 of 10 units: no wait yet")
	require.NoError(t, p.wait(ctx))
	require.Len(t, slept, 1, "a fourth request of 3 units waits")
	assert.Equal(t, 57*time.Second, slept[0], "until the first request is a minute old")

	// Another client used 8 units: this one waits until they are a minute old.
	now = now.Add(2 * time.Minute)
	slept = nil
	p.record(&upsert.ProfileQuotaReport{Cost: 1, Used: 9, Total: 10})
	p.next = 2
	require.NoError(t, p.wait(ctx))
	require.Len(t, slept, 1)
	assert.Equal(t, time.Minute, slept[0])
}

func TestSameJSON(t *testing.T) {
	for _, c := range []struct {
		sent, got    string
		appendArrays bool
		want         bool
	}{
		{`1830.50`, `1830.5`, false, true},
		{`12`, `"12"`, false, true},
		{`12`, `13`, false, false},
		{`"2025-06-01T14:32:10+01:00"`, `"2025-06-01T13:32:10Z"`, false, true},
		{`"2025-06-01T14:32:10Z"`, `"2025-06-01T14:32:11Z"`, false, false},
		{`"gold"`, `"Gold"`, false, false},
		{`true`, `true`, false, true},
		{`true`, `"true"`, false, false},
		{`["a","b"]`, `["b","a"]`, false, true},
		{`["a","b"]`, `["b","a","c"]`, false, false},
		{`["a","b"]`, `["b","a","c"]`, true, true},
		{`["a","b"]`, `["a"]`, true, false},
	} {
		assert.Equalf(t, c.want, sameJSON([]byte(c.sent), []byte(c.got), c.appendArrays), "%s vs %s (append %v)", c.sent, c.got, c.appendArrays)
	}
}

// TestSamplerKeepsLowestHashes: the sample is the n users of lowest hash
// under the seed, whatever the order rows come in.
func TestSamplerKeepsLowestHashes(t *testing.T) {
	keys := []string{}
	for i := range 200 {
		keys = append(keys, `{"uuid":"u`+string(rune('a'+i%26))+string(rune('a'+i/26))+`"}`)
	}
	pick := func(order []string, seed uint64) []string {
		s := &sampler{n: 5, seed: seed, users: map[string]*sampledUser{}}
		for _, k := range order {
			s.choose([]byte(k))
		}
		var out []string
		for k := range s.users {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	twice := append(append([]string{}, keys...), keys...)
	rev := slices.Clone(twice)
	slices.Reverse(rev)
	a := pick(twice, 9)
	assert.Len(t, a, 5)
	assert.Equal(t, a, pick(rev, 9), "the order of rows does not change the sample")
	assert.NotEqual(t, a, pick(twice, 10), "another seed, another sample")
	for _, k := range a {
		h := sampleHash(9, []byte(k))
		lower := 0
		for _, o := range keys {
			if sampleHash(9, []byte(o)) < h {
				lower++
			}
		}
		assert.Less(t, lower, 5, "%s is among the 5 lowest hashes", k)
	}
}

func TestIdentifierKeys(t *testing.T) {
	assert.Equal(t, []string{"custom.loyalty=L1", "email=a@example.com", "uuid=7"},
		identifierKeys(`{"email":"a@example.com","uuid":"7","custom":{"loyalty":"L1"}}`))
}

// TestProfileClientPacesByQuota: against the stand-in with a quota of 5
// units a minute and requests of 2, the client waits for the minute to
// free up instead of being refused, on one clock with the stand-in.
func TestProfileClientPacesByQuota(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var slept time.Duration
	srv := fakeapi.New(fakeapi.Options{Now: clock, Profile: fakeapi.ProfileOptions{Quota: 5}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	body := `{"users":[{"identifiers":{"uuid":"u1"},"attributes":{"name":"A"}}]}`
	req, _ := http.NewRequest(http.MethodPost, ts.URL+upsert.Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(upsert.HeaderPartner, "acme")
	req.Header.Set(upsert.HeaderToken, "k")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	cfg := &Config{Insider: config.InsiderConfig{Endpoint: ts.URL + upsert.Path, Partner: "acme"}, Delivery: config.DeliveryConfig{Timeout: 10 * time.Second}}
	cl := newProfileClient(cfg, VerifyOptions{APIKey: "k", Now: clock,
		Sleep: func(_ context.Context, d time.Duration) error { slept += d; now = now.Add(d); return nil }})
	q := upsert.ProfileRequest{Identifiers: map[string]any{"uuid": "u1"}, Attributes: []string{"name"},
		Events: &upsert.ProfileEvents{StartDate: 1, EndDate: 2, Wanted: []upsert.WantedEvent{{EventName: "purchase"}}}, Quota: true}
	for i := range 5 {
		a, err := cl.get(context.Background(), q)
		require.NoError(t, err, "request %d", i)
		require.NotNil(t, a)
		assert.Equal(t, 2.0, a.Quota.Cost)
		now = now.Add(time.Second)
	}
	assert.Equal(t, 5, cl.requests, "no request refused (429) and retried")
	assert.Equal(t, 10.0, cl.used)
	// Two requests a minute fit: request 3 (at 0:02) waits until request 1
	// (0:00) is a minute old, request 5 (1:02) until request 3 (1:00) is.
	assert.Equal(t, 58*time.Second+58*time.Second, slept)
}

// TestCompareMergedUser: a user whose rows came under several identifiers
// may hold the last value sent under any of them (those rows are sent in
// parallel); a value never sent is different.
func TestCompareMergedUser(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte("source: {paths: [a.csv]}\nmapping: {identifiers: {email: e, uuid: u}, attributes: {name: n}}\n"))
	require.NoError(t, err)
	u := &sampledUser{key: `{"email":"a@example.com","uuid":"1"}`}
	u.merge(&encode.Row{Key: []byte(u.key), Attrs: [][]byte{[]byte(`"Ann"`)}}, readers.Position{})
	u.merge(&encode.Row{Key: []byte(`{"email":"b@example.com","uuid":"1"}`), Attrs: [][]byte{[]byte(`"Bea"`)}}, readers.Position{})
	for _, c := range []struct{ got, status, text string }{
		{`"Bea"`, "equal", `name = "Bea"`},
		{`"Ann"`, "equal", `name = "Ann", as sent with {"email":"a@example.com","uuid":"1"} (rows under other identifiers of this user are sent in parallel)`},
		{`"Cat"`, "different", `name: sent "Bea", Insider has "Cat"`},
	} {
		got := &profileAnswer{Attributes: map[string]json.RawMessage{"name": json.RawMessage(c.got)}}
		assert.Equal(t, []line{{c.status, c.text}}, compareUser(cfg, u, got))
	}
}

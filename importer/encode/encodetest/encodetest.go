// Package encodetest holds what the tests of the encoder and of the importer
// share: the clock of mapping tests, CSV-like records, a purchase mapping,
// and the stand-in API's verdict on a request body (Insider's rules).
package encodetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Ref is the clock of mapping tests: TTLs count back from it.
var Ref = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// Record builds a CSV-like record from cells (all strings, "" is null).
func Record(row int64, cells ...string) readers.Record {
	rec := readers.Record{Pos: readers.Position{File: "x.csv", Index: row - 1, Line: row + 1}, Values: make([]readers.Value, len(cells))}
	for i, c := range cells {
		rec.Values[i] = readers.StringValue(c)
	}
	return rec
}

// Verdict posts body to the fake API in-process and returns its answer.
func Verdict(t testing.TB, body []byte) (int, upsert.Response) {
	t.Helper()
	srv := fakeapi.New(fakeapi.Options{Now: func() time.Time { return Ref }})
	req := httptest.NewRequest(http.MethodPost, upsert.Path, bytes.NewReader(body))
	req.Header.Set(upsert.HeaderPartner, "acme")
	req.Header.Set(upsert.HeaderToken, "k")
	req.Header.Set("Content-Type", "application/json")
	rr := httptest.NewRecorder()
	srv.ServeHTTP(rr, req)
	var resp upsert.Response
	if rr.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal(rr.Body.Bytes(), &resp))
	}
	return rr.Code, resp
}

// RequireAccepted checks that Insider's rules (the fake's validator) accept
// the user object.
func RequireAccepted(t testing.TB, user string) {
	t.Helper()
	body := `{"users":[` + user + `],"skip_hook":true}`
	require.True(t, json.Valid([]byte(body)), body)
	code, resp := Verdict(t, []byte(body))
	require.Equal(t, http.StatusOK, code, body)
	require.Zero(t, resp.Data.Fail.Count, "fake rejected %s: %v", user, resp.Data.Fail.Errors)
}

// PurchaseMapping maps purchase rows (PurchaseHeader): events named by a
// column, with every param a purchase takes.
const PurchaseMapping = `
events: {ttl: {default: 90d, purchase: 730d}, future_tolerance: 5m}
mapping:
  identifiers: {uuid: id}
  events:
    - name_column: event
      timestamp: {column: at, layout: rfc3339, timezone: Europe/Berlin}
      params:
        event_group_id: order
        currency: currency
        unit_sale_price: {column: price, type: number}
        quantity: qty
        taxonomy: {column: cat, separator: ">"}
        custom: {store_id: store, channel: {value: pos}}
`

// PurchaseHeader is the header PurchaseMapping binds to.
var PurchaseHeader = []string{"id", "event", "at", "order", "currency", "price", "qty", "cat", "store"}

// CellsConfig parses a config reading files with mapping, as the cells
// tests use it (array attributes overwrite, two users a batch, TTLs of ten
// years), checking constants with check (encode.CheckValue).
func CellsConfig(t testing.TB, files []string, mapping string, check config.ValueCheck) *config.Config {
	t.Helper()
	paths, err := json.Marshal(files)
	require.NoError(t, err)
	cfg, err := config.Parse("cells.yaml", []byte(fmt.Sprintf(`
source: {paths: %s}
insider: {endpoint: "http://127.0.0.1:1/unused", partner: acme, array_attributes: overwrite}
delivery: {batch_users: 2, workers: 2, requests_per_second: 1000, max_attempts: 3}
events: {ttl: {default: 3650d, purchase: 3650d}}
%s`, paths, mapping)), check)
	require.NoError(t, err)
	return cfg
}

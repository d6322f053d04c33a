package importer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validate reports the TTL in force for every event name it saw, and where
// it comes from: events.ttl.default does not cover purchase, which keeps
// its built-in 730 days.
func TestEventTTLsReported(t *testing.T) {
	in := writeFile(t, t.TempDir(), "ev.csv", `id,event,ts
1,page_view,2025-06-01T10:00:00Z
2,add_to_cart,2025-06-01T10:00:00Z
3,page_view,2025-06-01T10:00:00Z
`)
	cfgFor := func(ttl string) *Config {
		cfg, err := ParseConfig("ttl.yaml", []byte(fmt.Sprintf(`
source: {paths: [%q]}
insider: {endpoint: "http://127.0.0.1:1/never", partner: acme}
%s
mapping:
  identifiers: {uuid: id}
  events:
    - name_column: event
      timestamp: ts
    - name: login
      timestamp: ts
`, in, ttl)))
		require.NoError(t, err)
		return cfg
	}
	rep, err, _ := dryRun(t, cfgFor("events: {ttl: {default: 365d, add_to_cart: 30d}}"), Options{})
	require.NoError(t, err)
	assert.Equal(t, []EventTTL{
		{Name: "add_to_cart", TTL: "30d", From: "events.ttl.add_to_cart"},
		{Name: "login", TTL: "365d", From: "events.ttl.default"},
		{Name: "page_view", TTL: "365d", From: "events.ttl.default"},
	}, rep.EventTTLs)
	var b strings.Builder
	rep.WriteText(&b)
	assert.Contains(t, b.String(), "  event TTLs (older events are dropped as expired):\n    add_to_cart             30d  (events.ttl.add_to_cart)\n")

	purchase := writeFile(t, t.TempDir(), "p.csv", "id,event,ts\n1,purchase,2025-06-01T10:00:00Z\n")
	cfg := cfgFor("events: {ttl: {default: 3650d}}")
	cfg.Source.Paths = []string{purchase}
	rep, _, _ = dryRun(t, cfg, Options{})
	assert.Equal(t, []EventTTL{
		{Name: "login", TTL: "3650d", From: "events.ttl.default"},
		{Name: "purchase", TTL: "730d", From: "built-in for purchase; events.ttl.default does not cover it, set events.ttl.purchase"},
	}, rep.EventTTLs)

	rep, _, _ = dryRun(t, cfgFor(""), Options{})
	assert.Equal(t, []EventTTL{
		{Name: "add_to_cart", TTL: "90d", From: "built-in default"},
		{Name: "login", TTL: "90d", From: "built-in default"},
		{Name: "page_view", TTL: "90d", From: "built-in default"},
	}, rep.EventTTLs)
}

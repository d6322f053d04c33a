package encode

import (
	"fmt"
	"slices"
	"time"

	"github.com/insider-import/insider-import/importer/config"
)

// EventTTL is the TTL the filter applies to one event name, and where it
// comes from: "events.ttl.<name>", "events.ttl.default", or the built-in
// TTL of that name (purchase keeps 730 days unless events.ttl.purchase
// says otherwise: events.ttl.default does not cover it).
type EventTTL struct {
	Name string `json:"name"`
	TTL  string `json:"ttl"`
	From string `json:"from"`
}

// EventTTLs lists the event names of cfg's mapping (fixed ones) and those
// read from name columns (read), each with the TTL in force, by name.
func EventTTLs(cfg *config.Config, read *EventNames) []EventTTL {
	var names []string
	for _, e := range cfg.Mapping.Events {
		if e.Name != "" {
			names = append(names, e.Name)
		}
	}
	read.Range(func(name string) { names = append(names, name) })
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]EventTTL, 0, len(names))
	for _, n := range names {
		d, from := cfg.Events.TTLFrom(n)
		out = append(out, EventTTL{Name: n, TTL: ttlText(d), From: from})
	}
	return out
}

// ttlText writes a TTL in days when it is whole days, as configs write it.
func ttlText(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

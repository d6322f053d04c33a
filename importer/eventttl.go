package importer

import (
	"fmt"
	"slices"
	"strings"
	"time"
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

// eventTTLs lists the event names of the mapping (fixed ones) and those
// read from name columns, each with the TTL in force, by name.
func (r *run) eventTTLs() []EventTTL {
	var names []string
	for _, e := range r.cfg.Mapping.Events {
		if e.Name != "" {
			names = append(names, e.Name)
		}
	}
	r.eventNames.Range(func(name string) { names = append(names, name) })
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]EventTTL, 0, len(names))
	for _, n := range names {
		d, from := r.cfg.Events.TTLFrom(n)
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

func writeEventTTLs(b *strings.Builder, ttls []EventTTL) {
	b.WriteString("  event TTLs (older events are dropped as expired):\n")
	for _, t := range ttls {
		fmt.Fprintf(b, "    %-20s %6s  (%s)\n", t.Name, t.TTL, t.From)
	}
}

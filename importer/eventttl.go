package importer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// maxEventNames bounds the names collected from name columns.
const maxEventNames = 1000

// eventNames collects the event names read from name columns, for the
// report. Mappers on every core add to it; a name already seen costs a
// lock-free lookup.
type eventNames struct {
	m sync.Map
	n atomic.Int32
}

func (e *eventNames) saw(name string) {
	if _, ok := e.m.Load(name); ok || e.n.Load() >= maxEventNames {
		return
	}
	if _, loaded := e.m.LoadOrStore(name, struct{}{}); !loaded {
		e.n.Add(1)
	}
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
	r.eventNames.m.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
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

package encode

import (
	"sync"
	"sync/atomic"
)

// maxEventNames bounds the names collected from name columns.
const maxEventNames = 1000

// EventNames collects the event names read from name columns, for the
// report. Mappers on every core add to it; a name already seen costs a
// lock-free lookup. The zero value is ready; Mapper.Names points at one.
type EventNames struct {
	m sync.Map
	n atomic.Int32
}

func (e *EventNames) saw(name string) {
	if _, ok := e.m.Load(name); ok || e.n.Load() >= maxEventNames {
		return
	}
	if _, loaded := e.m.LoadOrStore(name, struct{}{}); !loaded {
		e.n.Add(1)
	}
}

// Range calls f with each name collected, in no order.
func (e *EventNames) Range(f func(name string)) {
	e.m.Range(func(k, _ any) bool {
		f(k.(string))
		return true
	})
}

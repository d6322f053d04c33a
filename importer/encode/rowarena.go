package encode

import (
	"sync"
)

// RowArena hands out the rows of one chunk and the memory they encode
// into, a few slabs per chunk instead of several allocations per row. The
// rows of a chunk are consecutive and live about as long as each other.
// Once every row of the chunk is encoded into a request (which drops key
// and attrs and clears evs), nothing points into buf or attrs any more and
// they are used again by a later chunk (Recycle), or freed: rows stay
// until their batch is answered, their encoded bytes do not.
type RowArena struct {
	rows  []Row
	buf   []byte   // encoding space; each row takes what it used
	attrs [][]byte // attribute slots
	evs   [][]byte // event slots (cleared, not dropped, when encoded)
}

// NewRowArena returns an arena for n rows of mapper m. Its encoding
// space and attribute slots come from spare (see Recycle) when those
// there are large enough.
func (m *Mapper) NewRowArena(n int, spare *sync.Pool) *RowArena {
	a := &RowArena{
		rows: make([]Row, n),
		evs:  make([][]byte, 0, n*len(m.m.Events)),
	}
	want, nattrs := n*int(m.hint.Load()), n*len(m.m.Attributes)
	if spare != nil {
		if sp, ok := spare.Get().(*arenaSpace); ok {
			if cap(sp.buf) >= want {
				a.buf = sp.buf[:0]
			}
			if cap(sp.attrs) >= nattrs {
				clear(sp.attrs[:cap(sp.attrs)]) // a row's absent attributes are nil
				a.attrs = sp.attrs[:0]
			}
		}
	}
	if a.buf == nil {
		a.buf = make([]byte, 0, want)
	}
	if a.attrs == nil {
		a.attrs = make([][]byte, 0, nattrs)
	}
	return a
}

// arenaSpace is what a recycled arena leaves for a later one: its encoding
// space and its attribute slots (a slab of them as large as a third of
// the encoding space, with pointers the collector scans).
type arenaSpace struct {
	buf   []byte
	attrs [][]byte
}

// PoisonRecycled, set by tests, overwrites recycled space at once, so that
// a row still read after its arena was recycled shows in the output.
var PoisonRecycled bool

// Recycle hands the arena's encoding space and attribute slots to spare
// for a later chunk. It is for when every row of the arena is encoded into
// a request body whose batch is cut: nothing reads a row's encoded parts
// after that (the batcher cleared them, see batcher.cut).
func (a *RowArena) Recycle(spare *sync.Pool) {
	if a == nil || a.buf == nil {
		return
	}
	sp := &arenaSpace{buf: a.buf[:0], attrs: a.attrs[:0]}
	a.buf, a.attrs = nil, nil
	if PoisonRecycled {
		full := sp.buf[:cap(sp.buf)]
		for i := range full {
			full[i] = '~'
		}
		slots := sp.attrs[:cap(sp.attrs)]
		for i := range slots {
			slots[i] = []byte(`"~recycled~"`)
		}
	}
	spare.Put(sp)
}

// next returns a zeroed row, from the arena when it has one.
func (a *RowArena) next() *Row {
	if a == nil || len(a.rows) == 0 {
		return &Row{}
	}
	r := &a.rows[0]
	a.rows = a.rows[1:]
	return r
}

// space returns an empty buffer for a row: the arena's free space, or,
// when less than hint is left, a new slab for this row and the ones after
// it.
func (a *RowArena) space(hint int) []byte {
	if a == nil {
		return make([]byte, 0, hint)
	}
	if cap(a.buf)-len(a.buf) < hint {
		a.buf = make([]byte, 0, (len(a.rows)+1)*hint)
	}
	return a.buf[len(a.buf):len(a.buf):cap(a.buf)]
}

// took records that a row used buf, which space gave it. When buf
// outgrew the free space (append moved it), the row's first parts may
// still lie in the arena, so all of it counts as used.
func (a *RowArena) took(buf []byte) {
	if a == nil {
		return
	}
	if cap(buf) == cap(a.buf)-len(a.buf) {
		a.buf = a.buf[:len(a.buf)+len(buf)]
	} else {
		a.buf = a.buf[:cap(a.buf)]
	}
}

// slots returns n empty []byte slots (zero length, capacity n) from slab,
// or new ones when it is full.
func slots(slab *[][]byte, n int) [][]byte {
	s := *slab
	if cap(s)-len(s) < n {
		return make([][]byte, 0, n)
	}
	*slab = s[:len(s)+n]
	return s[len(s) : len(s) : len(s)+n]
}

// attrSlots and evSlots return a row's attribute and event slots.
func (a *RowArena) attrSlots(n int) [][]byte {
	if a == nil {
		return make([][]byte, 0, n)
	}
	return slots(&a.attrs, n)
}

func (a *RowArena) evSlots(n int) [][]byte {
	if a == nil {
		return make([][]byte, 0, n)
	}
	return slots(&a.evs, n)
}

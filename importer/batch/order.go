package batch

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/insider-import/insider-import/importer/encode"
)

// userSeed hashes identifiers for Order and the batcher; it is fixed for
// the life of the process.
var userSeed = maphash.MakeSeed()

// userHash identifies a user by its encoded "identifiers" object.
func userHash(key []byte) uint64 { return maphash.Bytes(userSeed, key) }

// hashAttrs sets each attribute's slot of out (by index of the mapping's
// attributes) that one of rows has a value for to the hash of the value
// of the last row that has it; a slot of no value stays 0.
func hashAttrs(out []uint64, rows []*encode.Row) {
	for _, r := range rows {
		for i, v := range r.Attrs {
			if v != nil {
				out[i] = maphash.Bytes(userSeed, v) | 1
			}
		}
	}
}

// Order keeps the attribute values of each user reaching Insider in
// input order, across batches, workers and files: Insider keeps the value
// that arrives last, so a later row must not overtake an earlier one on
// another worker. A dispatched batch that sets an attribute of a user to
// another value than a batch still unanswered is sent only after that
// batch is answered (WaitAfter). Events need no order (Insider stores each
// once, whenever it arrives), nor does a value sent again unchanged: most
// users spread over an input wait for nothing. Two users whose hashes
// collide may wait for each other, which is safe.
//
// A dispatched batch is looked up in each unanswered one (a few: the
// workers' and the queue's), through a small index of its users by hash
// that fits a core's cache. One map of every user in flight, with the
// entries of answered batches swept out lazily, cost a tenth of a run's
// CPU in cache misses.
type Order struct {
	mu      sync.Mutex
	pending []*Batch // dispatched with attributes, not yet answered, in dispatch order
	// inFlight has the bits of every user of pending (userBits), so that
	// most users of a dispatched batch, in no batch in flight, are passed
	// over without a lookup in each.
	inFlight userBits
}

// userBits is a set of users by the low bits of their hash: a user whose
// bit is not set is not in it.
type userBits [1 << 16 / 64]uint64

func (s *userBits) add(h uint64)      { s[h>>6%uint64(len(s))] |= 1 << (h & 63) }
func (s *userBits) has(h uint64) bool { return s[h>>6%uint64(len(s))]&(1<<(h&63)) != 0 }

// NewOrder returns an Order with no batch in flight.
func NewOrder() *Order { return &Order{} }

// Dispatch records b, in dispatch order, and the batches it must wait for.
func (o *Order) Dispatch(b *Batch) {
	if len(b.userHash) == 0 || len(b.userAttrs) == 0 {
		return // no attributes mapped: events need no order
	}
	b.indexUsers()
	n := len(b.userAttrs) / len(b.userHash)
	o.mu.Lock()
	defer o.mu.Unlock()
	clear(o.inFlight[:])
	for _, p := range o.pending {
		for i, w := range p.bits {
			o.inFlight[i] |= w
		}
	}
	for k, h := range b.userHash {
		if !o.inFlight.has(h) {
			continue
		}
		for _, p := range o.pending {
			if !slices.Contains(b.after, p) && p.conflicts(h, b.userAttrs[k*n:(k+1)*n]) {
				b.after = append(b.after, p)
			}
		}
	}
	o.pending = append(o.pending, b)
}

// conflicts reports whether b sets an attribute of the user of hash h to
// another value than attrs.
func (b *Batch) conflicts(h uint64, attrs []uint64) bool {
	n := len(attrs)
	if !b.hashDup {
		k, ok := b.byHash.get(h)
		return ok && conflict(b.userAttrs[k*n:(k+1)*n], attrs)
	}
	for k, bh := range b.userHash { // two of b's users share a hash
		if bh == h && conflict(b.userAttrs[k*n:(k+1)*n], attrs) {
			return true
		}
	}
	return false
}

// indexUsers indexes b's users by hash (byHash, bits), noting whether two
// of them share one (hashDup): the index then keeps only one of them, and
// lookups read userHash whole.
func (b *Batch) indexUsers() {
	b.byHash.reset(len(b.userHash))
	b.bits = new(userBits)
	for k, h := range b.userHash {
		b.bits.add(h)
		if _, ok := b.byHash.get(h); ok {
			b.hashDup = true
		}
		b.byHash.put(h, k)
	}
}

// conflict reports whether two user objects set an attribute to different
// values.
func conflict(a, b []uint64) bool {
	for i := range a {
		if a[i] != 0 && b[i] != 0 && a[i] != b[i] {
			return true
		}
	}
	return false
}

// Answered releases the batches waiting for b and forgets it.
func (o *Order) Answered(b *Batch) {
	if len(b.userAttrs) == 0 {
		close(b.answered)
		return
	}
	o.mu.Lock()
	o.pending = slices.DeleteFunc(o.pending, func(p *Batch) bool { return p == b })
	// Closed under mu: a dispatch either finds b pending, follows it and
	// waits for this close, or does not find it.
	close(b.answered)
	o.mu.Unlock()
}

// WaitAfter returns once every batch b must follow is answered, or with
// ctx's error once the run stops.
func WaitAfter(ctx context.Context, b *Batch) error {
	for _, p := range b.after {
		select {
		case <-p.answered:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.after = nil
	return nil
}

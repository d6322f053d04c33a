package batch

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
)

// userSeed hashes identifiers for Order and the batcher; it is fixed for
// the life of the process.
var userSeed = maphash.MakeSeed()

// userHash identifies a user by its encoded "identifiers" object.
func userHash(key []byte) uint64 { return maphash.Bytes(userSeed, key) }

// attrHashes returns, for each user object, the hash of the value each
// attribute gets (the last row that has it), 0 where none sets it.
func attrHashes(users []*unit, nAttrs int) []uint64 {
	if nAttrs == 0 {
		return nil
	}
	out := make([]uint64, len(users)*nAttrs)
	for k, u := range users {
		for _, r := range u.users {
			for i, v := range r.Attrs {
				if v != nil {
					out[k*nAttrs+i] = maphash.Bytes(userSeed, v) | 1
				}
			}
		}
	}
	return out
}

// Order keeps the attribute values of each user reaching Insider in
// input order, across batches, workers and files: Insider keeps the value
// that arrives last, so a later row must not overtake an earlier one on
// another worker. A dispatched batch that sets an attribute of a user to
// another value than a batch still unanswered is sent only after that
// batch is answered (WaitAfter). Events need no order (Insider stores each
// once, whenever it arrives), nor does a value sent again unchanged: most
// users spread over an input wait for nothing. Two users whose hashes
// collide may wait for each other, which is safe. Memory: one entry per
// user in flight.
type Order struct {
	mu    sync.Mutex
	users map[uint64]userRefs // by user: the unanswered batches holding it
	// done holds the batches answered since dispatch last ran; dispatch
	// takes their entries out of users first. The workers that answer
	// batches only list them: a lookup per user there, in a map the
	// producer's core writes, was 7% of a run's CPU.
	done []*Batch
	open int // dispatched batches with attributes, not yet answered
}

// userRef is user k of batch b.
type userRef struct {
	b *Batch
	k int
}

// userRefs holds the first reference inline: most users in flight are in
// one batch, and then cost no allocation.
type userRefs struct {
	first userRef
	more  []userRef
}

// NewOrder returns an Order with no batch in flight.
func NewOrder() *Order { return &Order{users: map[uint64]userRefs{}} }

// Dispatch records b, in dispatch order, and the batches it must wait for.
func (o *Order) Dispatch(b *Batch) {
	if len(b.userHash) == 0 || len(b.userAttrs) == 0 {
		return // no attributes mapped: events need no order
	}
	n := len(b.userAttrs) / len(b.userHash)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.drop()
	o.open++
	for k, h := range b.userHash {
		refs, ok := o.users[h]
		if !ok {
			o.users[h] = userRefs{first: userRef{b, k}}
			continue
		}
		b.follow(refs.first, k, n)
		for _, p := range refs.more {
			b.follow(p, k, n)
		}
		refs.more = append(refs.more, userRef{b, k})
		o.users[h] = refs
	}
}

// follow makes b, whose user k is p's user, wait for p's batch if the two
// set an attribute of that user to different values.
func (b *Batch) follow(p userRef, k, n int) {
	if p.b != b && !slices.Contains(b.after, p.b) && conflict(p.b.userAttrs[p.k*n:(p.k+1)*n], b.userAttrs[k*n:(k+1)*n]) {
		b.after = append(b.after, p.b)
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

// Answered releases the batches waiting for b. Its entries leave users
// at the next dispatch (drop), before anything can follow it; once no
// batch is unanswered, all of them at once.
func (o *Order) Answered(b *Batch) {
	if len(b.userAttrs) == 0 {
		close(b.answered)
		return
	}
	o.mu.Lock()
	if o.open--; o.open == 0 {
		clear(o.users) // every entry is of an answered batch
		clear(o.done)
		o.done = o.done[:0]
	} else {
		o.done = append(o.done, b)
	}
	o.mu.Unlock()
	close(b.answered)
}

// drop takes the entries of the batches answered since it last ran out of
// users. It is called with mu held.
func (o *Order) drop() {
	for _, b := range o.done {
		for _, h := range b.userHash {
			refs, ok := o.users[h]
			if !ok {
				continue
			}
			refs.more = slices.DeleteFunc(refs.more, func(r userRef) bool { return r.b == b })
			if refs.first.b == b {
				if len(refs.more) == 0 {
					delete(o.users, h)
					continue
				}
				refs.first, refs.more = refs.more[0], refs.more[1:]
			}
			o.users[h] = refs
		}
	}
	clear(o.done)
	o.done = o.done[:0]
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

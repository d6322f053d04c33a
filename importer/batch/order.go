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
// collide may wait for each other, which is safe.
//
// Entries of answered batches are not deleted when they are answered:
// dispatch overwrites them when their user comes again, and a sweep
// deletes the rest once the map holds twice the users in flight. A
// delete per user per batch was half of the ordering's cost, 7 % of a
// run's CPU on the producer's core. Memory: about two entries per user
// in flight.
type Order struct {
	mu    sync.Mutex
	users map[uint64]userRefs // by user: the batches holding it, answered ones pruned lazily
	open  int                 // dispatched batches with attributes, not yet answered
	live  int                 // the users of those
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

// prune drops the references to answered batches, and reports whether
// any is left.
func (r *userRefs) prune() bool {
	r.more = slices.DeleteFunc(r.more, func(p userRef) bool { return isAnswered(p.b) })
	if isAnswered(r.first.b) {
		if len(r.more) == 0 {
			return false
		}
		r.first, r.more = r.more[0], r.more[1:]
	}
	return true
}

func isAnswered(b *Batch) bool {
	select {
	case <-b.answered:
		return true
	default:
		return false
	}
}

// sweepAt is the map size from which dispatch sweeps out answered
// entries, besides twice the users in flight.
const sweepAt = 4096

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
	if len(o.users) > 2*o.live+sweepAt {
		o.sweep()
	}
	o.open++
	o.live += len(b.userHash)
	for k, h := range b.userHash {
		refs, ok := o.users[h]
		if !ok || !refs.prune() {
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

// Answered releases the batches waiting for b. Its entries stay until a
// dispatch or a sweep meets them; once no batch is unanswered, all of
// them go at once.
func (o *Order) Answered(b *Batch) {
	if len(b.userAttrs) == 0 {
		close(b.answered)
		return
	}
	o.mu.Lock()
	o.live -= len(b.userHash)
	if o.open--; o.open == 0 {
		clear(o.users) // every entry is of an answered batch
	}
	// Closed under mu: a dispatch that finds b unanswered follows it and
	// waits for this close; one that finds it answered forgets it.
	close(b.answered)
	o.mu.Unlock()
}

// sweep deletes the entries of answered batches. It is called with mu
// held.
func (o *Order) sweep() {
	for h, refs := range o.users {
		if refs.prune() {
			o.users[h] = refs
		} else {
			delete(o.users, h)
		}
	}
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

package importer

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
)

// userSeed hashes identifiers for userOrder and the batcher; it is fixed for
// the life of the process.
var userSeed = maphash.MakeSeed()

// userHash identifies a user by its encoded "identifiers" object.
func userHash(key []byte) uint64 { return maphash.Bytes(userSeed, key) }

// userOrder keeps each user's rows reaching Insider in input order, across
// batches, workers and files: Insider keeps the attribute value that
// arrives last, so a later row must not overtake an earlier one on another
// worker. A dispatched batch that holds a user of a batch still unanswered
// is sent only after that batch is answered (waitAfter). Two users whose
// hashes collide also wait for each other, which is safe. Memory: one
// entry per user in flight.
type userOrder struct {
	mu   sync.Mutex
	last map[uint64]*batch // the last dispatched, unanswered batch of each user
}

func newUserOrder() *userOrder { return &userOrder{last: map[uint64]*batch{}} }

// dispatch records b, in dispatch order, and the batches it must wait for.
func (o *userOrder) dispatch(b *batch) {
	if len(b.userHash) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, h := range b.userHash {
		if p := o.last[h]; p != nil && p != b && !slices.Contains(b.after, p) {
			b.after = append(b.after, p)
		}
		o.last[h] = b
	}
}

// answered releases the batches waiting for b.
func (o *userOrder) answered(b *batch) {
	o.mu.Lock()
	for _, h := range b.userHash {
		if o.last[h] == b {
			delete(o.last, h)
		}
	}
	o.mu.Unlock()
	close(b.answered)
}

// waitAfter returns once every batch b must follow is answered, or with
// ctx's error once the run stops.
func waitAfter(ctx context.Context, b *batch) error {
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

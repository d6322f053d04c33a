package batch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A batch waits only for unanswered batches that set one of its users'
// attributes to another value: an unchanged value or events alone need no
// order.
func TestUserOrderWaitsOnlyForChangedValues(t *testing.T) {
	o := NewOrder()
	mk := func(vals ...uint64) *Batch { // one user "u", two attributes
		return &Batch{userHash: []uint64{42}, userAttrs: vals, answered: make(chan struct{})}
	}
	b1 := mk(1, 0)
	b2 := mk(1, 0) // same value: no wait
	b3 := mk(0, 7) // another attribute, first value: no wait
	b4 := mk(2, 0) // changed: waits for b1 and b2, which set the old value
	b5 := mk(0, 0) // events only
	for _, b := range []*Batch{b1, b2, b3, b4, b5} {
		o.Dispatch(b)
	}
	assert.Empty(t, b1.after)
	assert.Empty(t, b2.after)
	assert.Empty(t, b3.after)
	assert.ElementsMatch(t, []*Batch{b1, b2}, b4.after)
	assert.Empty(t, b5.after)
	for _, b := range []*Batch{b1, b2, b3, b4, b5} {
		o.Answered(b)
	}
	assert.Empty(t, o.pending, "nothing kept once every batch is answered")
	b6 := mk(3, 7)
	o.Dispatch(b6)
	assert.Empty(t, b6.after)
}

// A batch answered while others are in flight is not followed by a batch
// dispatched after it, and is forgotten at once: Order keeps nothing once
// every batch is answered.
func TestUserOrderDropsAnsweredBeforeDispatch(t *testing.T) {
	o := NewOrder()
	mk := func(h uint64, val uint64) *Batch {
		return &Batch{userHash: []uint64{h}, userAttrs: []uint64{val}, answered: make(chan struct{})}
	}
	b1, other := mk(42, 1), mk(7, 1)
	o.Dispatch(b1)
	o.Dispatch(other) // keeps a batch in flight
	o.Answered(b1)
	b2 := mk(42, 2) // another value for b1's user
	o.Dispatch(b2)
	assert.Empty(t, b2.after, "b1 was answered")
	assert.Equal(t, []*Batch{other, b2}, o.pending, "b1 is forgotten")
	b3 := mk(42, 3)
	o.Dispatch(b3)
	assert.Equal(t, []*Batch{b2}, b3.after)
	for _, b := range []*Batch{other, b2, b3} {
		o.Answered(b)
	}
	assert.Empty(t, o.pending)
}

// With one batch kept in flight, Order holds only it however many users
// pass, and still has it followed.
func TestUserOrderKeepsOnlyBatchesInFlight(t *testing.T) {
	o := NewOrder()
	open := &Batch{userHash: []uint64{1}, userAttrs: []uint64{1}, answered: make(chan struct{})}
	o.Dispatch(open)
	for i := range 100 {
		b := &Batch{answered: make(chan struct{})}
		for k := range 500 {
			b.userHash = append(b.userHash, uint64(2+i*500+k))
			b.userAttrs = append(b.userAttrs, 1)
		}
		o.Dispatch(b)
		o.Answered(b)
		require.Equal(t, []*Batch{open}, o.pending, "after batch %d", i)
	}
	again := &Batch{userHash: []uint64{1}, userAttrs: []uint64{2}, answered: make(chan struct{})}
	o.Dispatch(again)
	assert.Equal(t, []*Batch{open}, again.after, "the batch in flight is still followed")
}

// Two users of one batch whose hashes collide are both looked at: a later
// batch changing either one's value follows it.
func TestUserOrderHashCollisionInBatch(t *testing.T) {
	o := NewOrder()
	p := &Batch{userHash: []uint64{42, 42}, userAttrs: []uint64{1, 5}, answered: make(chan struct{})}
	o.Dispatch(p)
	require.True(t, p.hashDup)
	same := &Batch{userHash: []uint64{42}, userAttrs: []uint64{1}, answered: make(chan struct{})}
	o.Dispatch(same)
	assert.Equal(t, []*Batch{p}, same.after, "differs from the second user's value")
	unrelated := &Batch{userHash: []uint64{43}, userAttrs: []uint64{9}, answered: make(chan struct{})}
	o.Dispatch(unrelated)
	assert.Empty(t, unrelated.after)
}

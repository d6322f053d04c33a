package batch

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
	assert.Empty(t, o.users, "nothing kept once every batch is answered")
	b6 := mk(3, 7)
	o.Dispatch(b6)
	assert.Empty(t, b6.after)
}

// A batch answered while others are in flight is not followed by a batch
// dispatched after it, though answered only lists it (Order.drop),
// and the map keeps nothing of it then.
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
	_, held := o.users[42]
	assert.True(t, held, "b2 holds user 42")
	b3 := mk(42, 3)
	o.Dispatch(b3)
	assert.Equal(t, []*Batch{b2}, b3.after)
	for _, b := range []*Batch{other, b2, b3} {
		o.Answered(b)
	}
	assert.Empty(t, o.users)
	assert.Empty(t, o.done)
}

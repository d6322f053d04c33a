package batch

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The batcher's index of the open batch's users answers as the map it
// replaced: the last index put for a hash, nothing for a hash not put in
// this batch, whatever earlier batches held.
func TestUserIndexAsMap(t *testing.T) {
	var x userIndex
	rng := rand.New(rand.NewPCG(3, 4))
	for batch := range 300 {
		n := []int{1, 5, 500, 1000, 37}[batch%5]
		x.reset(n)
		want := map[uint64]int{}
		for k := range n {
			h := rng.Uint64()
			switch k % 7 {
			case 1:
				h = h&^1023 | 5 // same slot as others
			case 2:
				if k > 0 {
					h = uint64(k - 1) // maybe a hash put before: replaced
				}
			}
			x.put(h, k)
			want[h] = k
		}
		for h, k := range want {
			got, ok := x.get(h)
			require.True(t, ok, "batch %d: hash %x", batch, h)
			require.Equal(t, k, got)
		}
		for range 50 {
			h := rng.Uint64()
			_, ok := x.get(h)
			_, in := want[h]
			assert.Equal(t, in, ok)
		}
	}
	x.gen = ^uint32(0) // the generation wraps: every slot is empty again
	x.reset(10)
	_, ok := x.get(5)
	assert.False(t, ok)
}

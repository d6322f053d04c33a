package importer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The shards' parts of a file cover its rows once, in order, split at row
// group boundaries.
func TestSharePart(t *testing.T) {
	parts := func(splits []int64, n int) (out [][2]int64) {
		var next int64
		for i := range n {
			p, ok := sharePart(splits, i, n)
			if !ok {
				out = append(out, [2]int64{})
				continue
			}
			assert.Equal(t, next, p.from, "shard %d starts where shard %d ended", i, i-1)
			assert.Equal(t, splits[len(splits)-1], p.rows)
			next = p.to
			out = append(out, [2]int64{p.from, p.to})
		}
		assert.Equal(t, splits[len(splits)-1], next, "the last part ends at the last row")
		return out
	}
	sixteen := []int64{0}
	for g := range 16 {
		sixteen = append(sixteen, min(int64(g+1)*500, 7955))
	}
	assert.Equal(t, [][2]int64{{0, 2000}, {2000, 4000}, {4000, 6000}, {6000, 7955}}, parts(sixteen, 4))
	assert.Equal(t, [][2]int64{{0, 300}, {300, 600}, {600, 900}, {900, 1000}}, parts([]int64{0, 300, 600, 900, 1000}, 4))
	assert.Equal(t, [][2]int64{{}, {0, 300}, {}, {300, 400}}, parts([]int64{0, 300, 400}, 4), "fewer groups than shards: some shards have none")
}

package readers

import (
	"context"
	"testing"

	pq "github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Parquet file's row groups are its splits, and Start/Stop read one
// range of them: together the parts are the whole file, each row once.
func TestSplitsAndParts(t *testing.T) {
	path := writeFile(t, "p.parquet", writeParquetGo(t, 1000, pq.MaxRowsPerRowGroup(300)))
	ctx := context.Background()
	rd, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	splits := Splits(rd)
	whole, _, _ := readAll(t, rd)
	rd.Close()
	assert.Equal(t, []int64{0, 300, 600, 900, 1000}, splits)

	var joined [][]string
	for i := 0; i+1 < len(splits); i += 2 {
		start, stop := &Position{Index: splits[i]}, &Position{Index: splits[min(i+2, len(splits)-1)]}
		rd, err := Open(ctx, path, Options{Start: start, Stop: stop})
		require.NoError(t, err)
		rows, pos, _ := readAll(t, rd)
		require.NotEmpty(t, pos)
		assert.Equal(t, start.Index, pos[0].Index)
		assert.Equal(t, stop.Index-1, pos[len(pos)-1].Index)
		assert.Equal(t, stop.Index, rd.Pos().Index, "at the stop, Pos is the stop")
		joined = append(joined, rows...)
		rd.Close()
	}
	assert.Equal(t, whole, joined)

	csv := writeFile(t, "c.csv", []byte("id\n1\n2\n3\n"))
	rd, err = Open(ctx, csv, Options{Stop: &Position{Index: 2}})
	require.NoError(t, err)
	defer rd.Close()
	assert.Nil(t, Splits(rd), "CSV has no splits known before reading")
	rows, _, _ := readAll(t, rd)
	assert.Equal(t, [][]string{{"1"}, {"2"}}, rows)
}

// The shards' parts of a file cover its rows once, in order, split at row
// group boundaries.
func TestSharePart(t *testing.T) {
	parts := func(splits []int64, n int) (out [][2]int64) {
		var next int64
		for i := range n {
			p, ok := SharePart(splits, i, n)
			if !ok {
				out = append(out, [2]int64{})
				continue
			}
			assert.Equal(t, next, p.From, "shard %d starts where shard %d ended", i, i-1)
			assert.Equal(t, splits[len(splits)-1], p.Rows)
			next = p.To
			out = append(out, [2]int64{p.From, p.To})
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

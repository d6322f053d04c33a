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

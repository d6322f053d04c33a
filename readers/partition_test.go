package readers

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	pq "github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPartitionsOf(t *testing.T) {
	for uri, want := range map[string][]partition{
		"/data/t/country=TR/day=2025-01-02/part-0.csv": {{"country=TR", "country", "TR"}, {"day=2025-01-02", "day", "2025-01-02"}},
		"s3://b/t/city=Ankara%20Merkez/p.parquet":      {{"city=Ankara%20Merkez", "city", "Ankara Merkez"}},
		"s3://b/t/tier=__HIVE_DEFAULT_PARTITION__/p":   {{"tier=__HIVE_DEFAULT_PARTITION__", "tier", ""}},
		"/data/x=1/plain/part-0.csv":                   nil, // only the segments right above the file
		"/data/t/bad%zz=a%2Fb/p.csv":                   {{"bad%zz=a%2Fb", "bad%zz", "a/b"}},
		"part-0.csv":                                   nil,
		"/data/=x/p.csv":                               nil,
	} {
		assert.Equal(t, want, partitionsOf(uri), uri)
	}
}

// A partition is a text column after the file's own, for CSV and Parquet,
// on every record and after resuming; positions are the file's.
func TestPartitionColumns(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "country=TR", "tier=__HIVE_DEFAULT_PARTITION__", "part-0.csv")
	require.NoError(t, os.MkdirAll(filepath.Dir(csvPath), 0o700))
	require.NoError(t, os.WriteFile(csvPath, []byte("id,v\n1,a\n2,b\n3,c\n"), 0o600))
	r, err := Open(context.Background(), csvPath, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"id", "v", "country", "tier"}, r.Columns())
	rows, pos, _ := readAll(t, r)
	r.Close()
	assert.Equal(t, [][]string{{"1", "a", "TR", ""}, {"2", "b", "TR", ""}, {"3", "c", "TR", ""}}, rows)
	r, err = Open(context.Background(), csvPath, Options{Start: &pos[1]})
	require.NoError(t, err)
	rest, rpos, _ := readAll(t, r)
	r.Close()
	assert.Equal(t, rows[1:], rest)
	assert.Equal(t, pos[1:], rpos)

	pqPath := filepath.Join(dir, "city=Ankara%20Merkez", "part-0.parquet")
	require.NoError(t, os.MkdirAll(filepath.Dir(pqPath), 0o700))
	require.NoError(t, os.WriteFile(pqPath, writeParquetGo(t, 2500, pq.MaxRowsPerRowGroup(1000)), 0o600))
	r, err = Open(context.Background(), pqPath, Options{})
	require.NoError(t, err)
	defer r.Close()
	cols := r.Columns()
	assert.Equal(t, "city", cols[len(cols)-1])
	assert.Equal(t, []int64{0, 1000, 2000, 2500}, Splits(r), "row groups are still known")
	recs := pqReadAll(t, r)
	require.Len(t, recs, 2500)
	for _, rec := range recs {
		require.Equal(t, StringValue("Ankara Merkez"), rec.Values[len(cols)-1])
	}
}

// A partition key that the file has as a column too is refused, naming
// both.
func TestPartitionCollides(t *testing.T) {
	p := filepath.Join(t.TempDir(), "country=TR", "part-0.csv")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, []byte("id,country\n1,US\n"), 0o600))
	_, err := Open(context.Background(), p, Options{})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.ErrorContains(t, err, `the directory "country=TR" makes a partition column "country", and the file has a column "country" too`)
}

package readers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sparkTree is a directory as Spark, Hive and DuckDB leave it: part files
// in partition folders beside markers, checksums and a _temporary/ folder.
var sparkTree = []string{
	"_SUCCESS",
	"_committed_123",
	"_started_123",
	".part-00000.snappy.parquet.crc",
	"part-00000.snappy.parquet",
	"country=TR/part-00001.csv",
	"country=TR/.part-00001.csv.crc",
	"country=TR/city=Ankara%20Merkez/part-00002.csv",
	"country=US/part-00003.csv.gz",
	"_temporary/0/part-00009.csv",
	".hidden/part-00010.csv",
	"country=US/_SUCCESS",
	"country=US_$folder$",
}

var sparkTreeKept = []string{
	"country=TR/city=Ankara%20Merkez/part-00002.csv",
	"country=TR/part-00001.csv",
	"country=US/part-00003.csv.gz",
	"part-00000.snappy.parquet",
}

func writeTree(t *testing.T, dir string, files []string) {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte("x\n"), 0o600))
	}
}

// A local directory is read as Spark reads it: every level, hidden names
// skipped at every level.
func TestExpandTreeLocal(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, sparkTree)
	got, err := Expand(context.Background(), []string{dir}, S3Options{})
	require.NoError(t, err)
	want := make([]string, len(sparkTreeKept))
	for i, rel := range sparkTreeKept {
		want[i] = filepath.Join(dir, filepath.FromSlash(rel))
	}
	assert.Equal(t, want, got)

	// Markers alone are no input.
	only := t.TempDir()
	writeTree(t, only, []string{"_SUCCESS", "_committed_1", ".x.crc", "_temporary/0/part-0.csv"})
	_, err = Expand(context.Background(), []string{only}, S3Options{})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.ErrorContains(t, err, "no input files match")
}

// A Delta Lake or Iceberg table is refused, naming the format, from disk
// and from a bucket alike.
func TestExpandTreeTables(t *testing.T) {
	cases := map[string][]string{
		"Delta Lake": {"part-00000.snappy.parquet", "_delta_log/00000000000000000000.json"},
		"Iceberg":    {"data/00000-0-x.parquet", "metadata/v1.metadata.json", "metadata/snap-1.avro"},
	}
	for format, files := range cases {
		dir := t.TempDir()
		writeTree(t, dir, files)
		_, err := Expand(context.Background(), []string{dir}, S3Options{})
		var ie *InputError
		require.ErrorAs(t, err, &ie, format)
		assert.ErrorContains(t, err, "is a"+map[bool]string{true: "n", false: ""}[format == "Iceberg"]+" "+format+" table")
	}
	// A folder merely called metadata, without *.metadata.json, is data.
	dir := t.TempDir()
	writeTree(t, dir, []string{"metadata/part-0.csv"})
	got, err := Expand(context.Background(), []string{dir}, S3Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "metadata", "part-0.csv")}, got)
}

// The same tree gives the same files from disk and from a bucket.
func TestExpandTreeS3SameAsLocal(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		for _, f := range sparkTree {
			env.put(t, "spark/out/"+f, []byte("x\n"))
		}
		got, err := Expand(ctx, []string{env.uri("spark/out/")}, env.opts)
		require.NoError(t, err)
		var rels []string
		for _, u := range got {
			rels = append(rels, strings.TrimPrefix(u, env.uri("spark/out/")))
		}
		assert.Equal(t, sparkTreeKept, rels)

		env.put(t, "delta/t/part-0.parquet", []byte("x"))
		env.put(t, "delta/t/_delta_log/00000000000000000000.json", []byte("{}"))
		_, err = Expand(ctx, []string{env.uri("delta/t/")}, env.opts)
		var ie *InputError
		require.ErrorAs(t, err, &ie)
		assert.ErrorContains(t, err, "Delta Lake table")

		env.put(t, "markers/_SUCCESS", nil)
		_, err = Expand(ctx, []string{env.uri("markers/")}, env.opts)
		require.ErrorAs(t, err, &ie)
		assert.ErrorContains(t, err, "no input files match")
	})
}

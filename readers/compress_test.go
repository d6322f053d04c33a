package readers

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressWith compresses data with the command-line tool of a codec, as
// a user's shell would, and returns the file it wrote.
func compressWith(t *testing.T, codec string, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	plain := filepath.Join(dir, "part_0_0_0.csv")
	require.NoError(t, os.WriteFile(plain, data, 0o600))
	var cmd *exec.Cmd
	out := plain
	switch codec {
	case "gzip":
		cmd, out = exec.Command("gzip", "-k", plain), plain+".gz"
	case "zstd":
		cmd, out = exec.Command("zstd", "-q", "-k", plain), plain+".zst"
	case "bzip2":
		cmd, out = exec.Command("bzip2", "-k", plain), plain+".bz2"
	case "xz":
		cmd, out = exec.Command("xz", "-k", plain), plain+".xz"
	case "zip":
		cmd, out = exec.Command("zip", "-q", "-j", plain+".zip", plain), plain+".zip"
	}
	if _, err := exec.LookPath(cmd.Path); err != nil {
		t.Skipf("%s is not installed", codec)
	}
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	// The name says nothing: the content does.
	blind := filepath.Join(dir, "export_"+codec)
	require.NoError(t, os.Rename(out, blind))
	return blind
}

// Every codec is told by its first bytes and resumes as gzip does: at any
// row, by reading again and skipping.
func TestCSVCompressedByContent(t *testing.T) {
	data := []byte("\xEF\xBB\xBFid,v\r\n1,a\r\n2,\"multi\r\nline\"\r\n3,c\r\n4,d\r\n")
	for _, codec := range []string{"gzip", "zstd", "bzip2", "xz", "zip"} {
		t.Run(codec, func(t *testing.T) {
			p := compressWith(t, codec, data)
			r, err := Open(context.Background(), p, Options{})
			require.NoError(t, err)
			assert.Equal(t, []string{"id", "v"}, r.Columns())
			all, pos, perrs := readAll(t, r)
			end := r.Pos()
			r.Close()
			assert.Empty(t, perrs)
			assert.Equal(t, [][]string{{"1", "a"}, {"2", "multi\nline"}, {"3", "c"}, {"4", "d"}}, all)
			assert.Equal(t, int64(-1), end.Offset)
			resumesAtEveryRow(t, p, Options{}, all, pos)
		})
	}
}

// resumesAtEveryRow opens p with opts at each of the positions pos of the
// rows all and checks that it reads the rest, at the same positions.
func resumesAtEveryRow(t *testing.T, p string, opts Options, all [][]string, pos []Position) {
	t.Helper()
	for i, start := range pos {
		o := opts
		o.Start = &start
		r, err := Open(context.Background(), p, o)
		require.NoError(t, err)
		rest, rpos, _ := readAll(t, r)
		r.Close()
		assert.Equal(t, all[i:], rest, "resume at row %d", start.Row())
		assert.Equal(t, pos[i:], rpos, "positions after resuming at row %d", start.Row())
	}
}

// A format this build does not read, or Parquet under format: csv, stops
// at once as an *InputError saying what the file is, never with an
// encoding hint.
func TestCSVRefusesWhatIsNotText(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"lz4":      {[]byte("\x04\x22\x4d\x18\x64\x40\xa7rest"), "is lz4, not text"},
		"parquet":  {[]byte("PAR1\x15\x04\x15\x10rest"), "is Parquet, not text (its first bytes say so); set source.format: parquet"},
		"7z":       {[]byte("7z\xbc\xaf\x27\x1c\x00\x04rest"), "is 7z, not text"},
		"compress": {[]byte("\x1f\x9d\x90id,v"), "is Unix compress (.Z), not text"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Open(context.Background(), writeFile(t, "data.csv", c.data), Options{Format: FormatCSV})
			var ie *InputError
			require.ErrorAs(t, err, &ie)
			assert.ErrorContains(t, err, c.want)
			assert.NotContains(t, err.Error(), "encoding")
		})
	}
	// A zip of two files: which one is meant is not clear.
	dir := t.TempDir()
	for _, n := range []string{"a.csv", "b.csv"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("id\n1\n"), 0o600))
	}
	if _, err := exec.LookPath("zip"); err == nil {
		b, err := exec.Command("zip", "-q", "-j", filepath.Join(dir, "two.zip"), filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")).CombinedOutput()
		require.NoError(t, err, "%s", b)
		_, err = Open(context.Background(), filepath.Join(dir, "two.zip"), Options{})
		var ie *InputError
		require.ErrorAs(t, err, &ie)
		assert.ErrorContains(t, err, "is a zip archive of 2 files (a.csv, b.csv)")
	}
}

// A truncated zstd stream is a fatal error naming the codec, like gzip's.
func TestCSVTruncatedZstd(t *testing.T) {
	var b bytes.Buffer
	for i := range 20000 {
		b.WriteString("user")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(",1234567890\n")
	}
	data, err := os.ReadFile(compressWith(t, "zstd", append([]byte("id,v\n"), b.Bytes()...)))
	require.NoError(t, err)
	r, err := Open(context.Background(), writeFile(t, "cut", data[:len(data)/2]), Options{})
	require.NoError(t, err)
	defer r.Close()
	var fatal error
	for {
		if _, err := r.Next(context.Background()); err != nil {
			fatal = err
			break
		}
	}
	var re *ReadError
	require.ErrorAs(t, fatal, &re)
	assert.Contains(t, fatal.Error(), "of the decompressed text: the zstd stream ends early: the file is truncated")
}

// From S3 alike: zstd streams through the ranged GET, a zip member is read
// through ranged reads of the central directory; both resume by skipping.
func TestS3Compressed(t *testing.T) {
	var csv bytes.Buffer
	csv.WriteString("email,amount\n")
	for i := range 3000 {
		csv.WriteString("u" + string(rune('a'+i%26)) + "@example.com,1\n")
	}
	files := map[string][]byte{}
	for _, codec := range []string{"zstd", "zip", "bzip2", "xz"} {
		data, err := os.ReadFile(compressWith(t, codec, csv.Bytes()))
		require.NoError(t, err)
		files[codec] = data
	}
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		for codec, data := range files {
			env.put(t, "z/part_0_0_"+codec, data)
			r, err := Open(ctx, env.uri("z/part_0_0_"+codec), Options{S3: env.opts})
			require.NoError(t, err, codec)
			recs := pqReadAll(t, r)
			require.NoError(t, r.Close())
			require.Len(t, recs, 3000, codec)
			r, err = Open(ctx, env.uri("z/part_0_0_"+codec), Options{S3: env.opts, Start: &recs[2000].Pos})
			require.NoError(t, err, codec)
			rest := pqReadAll(t, r)
			require.NoError(t, r.Close())
			require.Len(t, rest, 1000, codec)
			assert.Equal(t, recs[2000].Text, rest[0].Text, codec)
			assert.Equal(t, recs[2000].Pos, rest[0].Pos, codec)
		}
	})
}

// A compressed file cut before the end of its header row says where and
// which stream broke.
func TestCSVTruncatedBeforeHeaderEnds(t *testing.T) {
	data, err := os.ReadFile(compressWith(t, "bzip2", bytes.Repeat([]byte("column,"), 20000)))
	require.NoError(t, err)
	_, err = Open(context.Background(), writeFile(t, "cut.csv.bz2", data[:len(data)/2]), Options{})
	require.Error(t, err)
	var re *ReadError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, err.Error(), "cut.csv.bz2 after row 0 (line 0), byte 0 of the decompressed text: bzip2")
}

// Under format: auto a Parquet file named otherwise (Glue's part files) is
// read as Parquet, told by its first bytes.
func TestAutoReadsParquetByContent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "interop", "duckdb_default.parquet"))
	require.NoError(t, err)
	p := writeFile(t, "run-1700000000000-part-r-00000", data)
	r, err := Open(context.Background(), p, Options{Format: FormatAuto})
	require.NoError(t, err)
	defer r.Close()
	recs := pqReadAll(t, r)
	assert.Len(t, recs, 300)
	assert.NotNil(t, recs[0].Values, "typed cells: read as Parquet")
	_, err = Open(context.Background(), p, Options{Format: FormatCSV})
	assert.ErrorContains(t, err, "is Parquet, not text (its first bytes say so); set source.format: parquet (or auto)")
}

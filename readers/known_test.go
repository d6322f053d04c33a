package readers

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A pattern that matches nothing is no error when it names a file an
// earlier run recorded; otherwise it still is.
func TestExpandKnown(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live", "b.csv")
	require.NoError(t, os.MkdirAll(filepath.Dir(live), 0o700))
	require.NoError(t, os.WriteFile(live, []byte("a\n1\n"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "empty"), 0o700))
	gone := filepath.Join(dir, "gone", "a.csv")
	ctx := context.Background()
	for _, c := range []struct {
		pattern string
		known   []string
		ok      bool
	}{
		{filepath.Join(dir, "gone", "*.csv"), []string{gone}, true},
		{gone, []string{gone}, true},
		{filepath.Join(dir, "empty"), []string{filepath.Join(dir, "empty", "x.csv")}, true},
		{"s3://b/exports/", []string{"s3://b/exports/x.csv"}, true},
		{filepath.Join(dir, "gone", "*.csv"), []string{filepath.Join(dir, "other", "a.csv")}, false},
		{filepath.Join(dir, "gone", "*.csv"), nil, false},
	} {
		if IsS3(c.pattern) {
			// Not listed here (no server): only the naming rule is checked.
			assert.True(t, patternNames(c.pattern, c.known[0]))
			continue
		}
		files, err := ExpandKnown(ctx, []string{filepath.Join(dir, "live"), c.pattern}, S3Options{}, c.known)
		if !c.ok {
			assert.ErrorIs(t, err, ErrNoMatch, c.pattern)
			continue
		}
		require.NoError(t, err, c.pattern)
		assert.Equal(t, []string{live}, files, c.pattern)
	}
}

// A path naming a real file whose name holds glob characters is refused
// with the escaped path to write instead, whether as a pattern it matches
// another file or none; the escaped path reads the file.
func TestExpandLiteralGlobName(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "data[1].csv")
	require.NoError(t, os.WriteFile(odd, []byte("a\n1\n"), 0o600))
	esc := filepath.Join(dir, `data\[1].csv`)
	ctx := context.Background()

	_, err := Expand(ctx, []string{odd}, S3Options{})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.Contains(t, err.Error(), "(it matches no file); to name the file, escape each with a backslash, in single quotes in YAML: '"+filepath.Join(dir, `data\[1\].csv`)+"'")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "data1.csv"), []byte("a\n1\n"), 0o600))
	_, err = Expand(ctx, []string{odd}, S3Options{})
	require.ErrorAs(t, err, &ie)
	assert.Contains(t, err.Error(), "(it matches "+filepath.Join(dir, "data1.csv")+")")

	for _, p := range []string{esc, filepath.Join(dir, `data\[1\].csv`), filepath.Join(dir, `data\[1]*`)} {
		files, err := Expand(ctx, []string{p}, S3Options{})
		require.NoError(t, err, p)
		assert.Equal(t, []string{odd}, files, p)
	}
	// A glob that matches the file among others is left alone.
	files, err := Expand(ctx, []string{filepath.Join(dir, "data*.csv")}, S3Options{})
	require.NoError(t, err)
	assert.Len(t, files, 2)
}

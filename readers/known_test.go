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

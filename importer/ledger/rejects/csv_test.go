package rejects

import (
	"path/filepath"
	"testing"

	"github.com/insider-import/insider-import/readers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A resumed run appends to the CSV whose header matches; a fresh one
// starts it over.
func TestRejectsCSVAppendOnResume(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.csv")
	row := func(cells ...string) Record {
		return rejected(readers.Position{File: "x.csv", Index: 0, Line: 2}, cells...)
	}
	write := func(fresh bool, cols []string, rr Record) []string {
		c := NewCSV(out, ',', fresh)
		require.NoError(t, c.write("in.csv", cols, []Record{rr}))
		require.NoError(t, c.close())
		return c.paths
	}
	assert.Equal(t, []string{out}, write(true, []string{"a", "b"}, row("1", "2")))
	assert.Equal(t, []string{out}, write(false, []string{"a", "b"}, row("3", "4")), "same header: appended")
	assert.Equal(t, [][]string{{"a", "b", "reject_reason"}, {"1", "2", "x: bad"}, {"3", "4", "x: bad"}}, readCSV(t, out))
	other := filepath.Join(dir, "r-2.csv")
	assert.Equal(t, []string{other}, write(false, []string{"a", "c"}, row("5", "6")), "another header: its own file")
	assert.Equal(t, [][]string{{"a", "c", "reject_reason"}, {"5", "6", "x: bad"}}, readCSV(t, other))
	assert.Equal(t, []string{out}, write(true, []string{"a", "b"}, row("7", "8")))
	assert.Equal(t, [][]string{{"a", "b", "reject_reason"}, {"7", "8", "x: bad"}}, readCSV(t, out), "fresh: started over")
}

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("keep me\n"), 0o644))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(target, link))

	for _, flag := range []int{os.O_WRONLY | os.O_CREATE | os.O_APPEND, os.O_WRONLY | os.O_CREATE | os.O_TRUNC, os.O_RDWR | os.O_CREATE} {
		_, err := OpenFile(link, flag)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrSymlink)
		assert.Contains(t, err.Error(), link)
		assert.Contains(t, err.Error(), "symbolic link")
	}
	assert.ErrorIs(t, NotLink(link), ErrSymlink)
	assert.NoError(t, NotLink(target))
	assert.NoError(t, NotLink(filepath.Join(dir, "none")))
	_, err := ReadFile(link)
	assert.ErrorIs(t, err, ErrSymlink)
	assert.ErrorIs(t, WriteFile(link, []byte("x")), ErrSymlink)

	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(b), "the link's target is untouched")
	st, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "the link's target keeps its mode")
}

func TestOpenFileMode0600(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	require.NoError(t, os.WriteFile(old, []byte("a\n"), 0o644))
	require.NoError(t, os.Chmod(old, 0o644)) // whatever the umask
	f, err := OpenFile(old, os.O_WRONLY|os.O_APPEND)
	require.NoError(t, err)
	_, err = f.WriteString("b\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	st, err := os.Stat(old)
	require.NoError(t, err)
	assert.Equal(t, Mode, st.Mode().Perm(), "a pre-existing 0644 file")
	b, _ := os.ReadFile(old)
	assert.Equal(t, "a\nb\n", string(b))

	fresh := filepath.Join(dir, "fresh")
	require.NoError(t, WriteFile(fresh, []byte("x")))
	st, err = os.Stat(fresh)
	require.NoError(t, err)
	assert.Equal(t, Mode, st.Mode().Perm(), "a new file")

	tmp, err := CreateTemp(dir, ".x.tmp-*")
	require.NoError(t, err)
	require.NoError(t, tmp.Close())
	st, err = os.Stat(tmp.Name())
	require.NoError(t, err)
	assert.Equal(t, Mode, st.Mode().Perm(), "a temporary file")
}

func TestOpenFileDeviceKeepsMode(t *testing.T) {
	before, err := os.Stat(os.DevNull)
	require.NoError(t, err)
	f, err := OpenFile(os.DevNull, os.O_WRONLY|os.O_APPEND)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	after, err := os.Stat(os.DevNull)
	require.NoError(t, err)
	assert.Equal(t, before.Mode(), after.Mode(), "a device is written, never chmod'ed")
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "none"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

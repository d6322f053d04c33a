package main

// The files the tool writes (checkpoint lock, checkpoint, its temporary
// files, rejects JSON lines and CSV, report), with the real binary: a
// symbolic link planted at any of their names is refused (or, for a stale
// temporary file, removed) and its target left as it was; a file that
// exists with mode 0644 ends 0600.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jobFile returns the path of the one file in dir whose name ends in
// suffix (the job's checkpoint or lock).
func jobFile(t *testing.T, dir, suffix string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	require.NoError(t, err)
	require.Len(t, m, 1, "one *%s in %s", suffix, dir)
	return m[0]
}

// precious writes a file a link will point at and returns a func that
// checks it is untouched: same bytes, same mode.
func precious(t *testing.T) (string, func(what string)) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "precious.txt")
	const content = "not the tool's to write\n"
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	require.NoError(t, os.Chmod(p, 0o644))
	return p, func(what string) {
		t.Helper()
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, content, string(b), "%s: the link's target keeps its content", what)
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "%s: the link's target keeps its mode", what)
	}
}

func TestFilesSymlinksRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		// link returns where to plant the link, in an env whose job ran
		// once to the end (so the checkpoint and lock exist), or nil
		// before any run (rejects, report).
		link func(e *crashEnv, jsonl, csvPath string) string
		// afterRun: the link is planted after a first, finished run.
		afterRun bool
	}{
		{"lock", func(e *crashEnv, _, _ string) string { return jobFile(t, e.checkpoints, ".lock") }, true},
		{"checkpoint", func(e *crashEnv, _, _ string) string { return jobFile(t, e.checkpoints, ".json") }, true},
		{"rejects", func(_ *crashEnv, jsonl, _ string) string { return jsonl }, false},
		{"rejects CSV", func(_ *crashEnv, _, csvPath string) string { return csvPath }, false},
		{"report", func(e *crashEnv, _, _ string) string { return filepath.Join(e.dir, "report.json") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, jsonl, csvPath := badRowsEnv(t, 300, 11)
			if tc.afterRun {
				res := runImport(t, e.env, e.args...)
				require.Equal(t, 3, res.Code, "first run\n%s", tail([]byte(res.Stderr), 2000))
			}
			target, untouched := precious(t)
			link := tc.link(e, jsonl, csvPath)
			_ = os.Remove(link)
			require.NoError(t, os.Symlink(target, link))
			before := e.fake.Stats(t).Requests

			res := runImport(t, e.env, e.args...)
			assert.Equal(t, 1, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 2000))
			assert.Contains(t, res.Stderr, link+": is a symbolic link; refusing to follow it")
			assert.Equal(t, before, e.fake.Stats(t).Requests, "refused before anything was sent")
			untouched(tc.name)
			st, err := os.Lstat(link)
			require.NoError(t, err)
			assert.NotZero(t, st.Mode()&os.ModeSymlink, "the link itself is left")
		})
	}
}

// TestFilesStaleTempRemoved: a killed save's temporary file, and a link
// planted at such a name, are removed by the next run, which finishes; the
// link's target is untouched.
func TestFilesStaleTempRemoved(t *testing.T) {
	e, _, _, _ := badRowsEnv(t, 300, 12)
	res := runImport(t, e.env, e.args...)
	require.Equal(t, 3, res.Code, "first run\n%s", tail([]byte(res.Stderr), 2000))
	cp := jobFile(t, e.checkpoints, ".json")
	stale := filepath.Join(e.checkpoints, "."+filepath.Base(cp)+".tmp-4242")
	require.NoError(t, os.WriteFile(stale, []byte(`{"version":1,"jo`), 0o600))
	target, untouched := precious(t)
	staleLink := filepath.Join(e.checkpoints, "."+filepath.Base(cp)+".tmp-777")
	require.NoError(t, os.Symlink(target, staleLink))

	res = runImport(t, e.env, append(e.args, "--restart")...)
	require.Equal(t, 3, res.Code, "second run\n%s", tail([]byte(res.Stderr), 2000))
	for _, p := range []string{stale, staleLink} {
		_, err := os.Lstat(p)
		assert.ErrorIs(t, err, os.ErrNotExist, "%s removed", p)
	}
	untouched("stale temporary link")
	entries, err := os.ReadDir(e.checkpoints)
	require.NoError(t, err)
	for _, de := range entries {
		assert.False(t, strings.Contains(de.Name(), ".tmp-"), "no temporary file left: %s", de.Name())
	}
}

// TestFilesMode0600: the rejects files, the report and the lock exist with
// mode 0644 before the run; they are 0600 after it, the checkpoint too.
func TestFilesMode0600(t *testing.T) {
	e, _, jsonl, csvPath := badRowsEnv(t, 300, 13)
	report := filepath.Join(e.dir, "report.json")
	for _, p := range []string{jsonl, csvPath, report} {
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		require.NoError(t, os.Chmod(p, 0o644))
	}
	res := runImport(t, e.env, e.args...)
	require.Equal(t, 3, res.Code, "%s", tail([]byte(res.Stderr), 2000))
	lock := jobFile(t, e.checkpoints, ".lock")
	require.NoError(t, os.Chmod(lock, 0o644))
	res = runImport(t, e.env, e.args...)
	require.Equal(t, 0, res.Code, "second run: every file skipped\n%s", tail([]byte(res.Stderr), 2000))
	for _, p := range []string{jsonl, csvPath, report, lock, jobFile(t, e.checkpoints, ".json")} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
		assert.NotZero(t, st.Size(), "%s was written", p)
	}
}

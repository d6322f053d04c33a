package checkpoint_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/checkpoint/checkpointtest"
)

func newFileStore(t *testing.T, dir string) *checkpoint.FileStore {
	t.Helper()
	s, err := checkpoint.NewFileStore(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestFileStore(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store {
		return newFileStore(t, t.TempDir())
	})
}

func TestFileStoreLease(t *testing.T) {
	// flock locks belong to an open file description, so two stores in one
	// process exclude each other as two processes would.
	checkpointtest.RunLease(t, func(t *testing.T) (a, b checkpoint.Store) {
		dir := t.TempDir()
		return newFileStore(t, dir), newFileStore(t, dir)
	})
}

func TestFileStoreUnreadable(t *testing.T) {
	ctx := t.Context()
	valid := func(t *testing.T) []byte {
		dir := t.TempDir()
		s := newFileStore(t, dir)
		require.NoError(t, s.Save(ctx, "job1", checkpointtest.SampleState("job1")))
		b, err := os.ReadFile(filepath.Join(dir, "job1.json"))
		require.NoError(t, err)
		return b
	}(t)

	tests := []struct {
		name    string
		content string
		want    error
		msg     string
	}{
		{"Empty", "", checkpoint.ErrCorrupt, "unexpected end of JSON input"},
		{"Truncated", string(valid[:len(valid)/2]), checkpoint.ErrCorrupt, "unexpected end of JSON input"},
		{"NotJSON", "\x00\x00\x00garbage", checkpoint.ErrCorrupt, "invalid character"},
		{"NoVersion", `{"job":"job1","files":{}}`, checkpoint.ErrCorrupt, "no format version"},
		{"NewerVersion", `{"version":3,"job":"job1","files":{"a":{"frontier":"moved"}}}`, checkpoint.ErrVersion, "version 3, this build reads versions 1 and 2"},
		{"WrongTypes", `{"version":1,"job":"job1","files":{"a":{"frontier":"moved"}}}`, checkpoint.ErrCorrupt, "cannot unmarshal"},
		{"OtherJob", strings.Replace(string(valid), `"job":"job1"`, `"job":"job2"`, 1), checkpoint.ErrCorrupt, `belongs to job "job2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "job1.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			s := newFileStore(t, dir)
			_, err := s.Load(ctx, "job1")
			require.ErrorIs(t, err, tt.want)
			assert.NotErrorIs(t, err, checkpoint.ErrNotFound, "an unreadable checkpoint is never a fresh start")
			assert.Contains(t, err.Error(), path, "the error names the file")
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestFileStoreModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "checkpoints")
	s := newFileStore(t, dir)
	require.NoError(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))

	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "directory")
	for _, name := range []string{"job1.json", "job1.lock"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
}

func TestFileStoreNoTempFilesLeft(t *testing.T) {
	dir := t.TempDir()
	s := newFileStore(t, dir)
	for i := range 20 {
		st := checkpointtest.SampleState("job1")
		st.ConfigHash = fmt.Sprint(i)
		require.NoError(t, s.Save(t.Context(), "job1", st))
	}
	require.NoError(t, s.Save(t.Context(), "job2", checkpointtest.SampleState("job2")))
	require.NoError(t, s.Delete(t.Context(), "job2"))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"job1.json", "job1.lock", "job2.lock"}, names)

	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, "19", got.ConfigHash)
}

func TestFileStoreOddJobIDsStayInDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ckpt")
	s := newFileStore(t, dir)
	for _, job := range []string{"../escape", "a/b", ".hidden"} {
		require.NoError(t, s.Save(t.Context(), job, checkpointtest.SampleState(job)))
		p, err := s.Path(job)
		require.NoError(t, err)
		assert.Equal(t, dir, filepath.Dir(p), job)
		assert.False(t, strings.HasPrefix(filepath.Base(p), "."), "%s: no hidden file", job)
	}
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing written beside the store's directory")
}

// TestFileStoreLockedByOtherDescription holds the lock the way another
// process would: through another open file description of the lock file.
func TestFileStoreLockedByOtherDescription(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "job1.lock")
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	_, err = f.WriteString("pid 4242 on otherhost\n")
	require.NoError(t, err)

	s := newFileStore(t, dir)
	_, err = s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrLeaseHeld)
	var held *checkpoint.LeaseHeldError
	require.ErrorAs(t, err, &held)
	assert.Equal(t, "pid 4242 on otherhost", held.Holder)
	assert.Contains(t, err.Error(), filepath.Join(dir, "job1.json"))
	assert.Contains(t, err.Error(), "pid 4242 on otherhost")
	require.ErrorIs(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")), checkpoint.ErrLeaseHeld)
	require.ErrorIs(t, s.Delete(t.Context(), "job1"), checkpoint.ErrLeaseHeld)
	_, err = os.Stat(filepath.Join(dir, "job1.json"))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing written while locked out")

	// Once the other holder lets go, the store takes the lock, and Close
	// gives it back.
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	require.NoError(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
	require.ErrorIs(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB), syscall.EWOULDBLOCK)
	require.NoError(t, s.Close(t.Context()))
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))

	_, err = s.Load(t.Context(), "job1")
	assert.Error(t, err, "a closed store is not used again")
}

// TestFileStoreLockedByOtherProcess runs this test binary again as a second
// process that takes the lock, and checks that its death (kill -9) frees it.
func TestFileStoreLockedByOtherProcess(t *testing.T) {
	if dir := os.Getenv("CHECKPOINT_TEST_LOCK_HELPER"); dir != "" {
		lockHelper(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreLockedByOtherProcess$")
	cmd.Env = append(os.Environ(), "CHECKPOINT_TEST_LOCK_HELPER="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	s := newFileStore(t, dir)
	err = s.Save(t.Context(), "job1", checkpointtest.SampleState("job1"))
	require.ErrorIs(t, err, checkpoint.ErrLeaseHeld)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d ", cmd.Process.Pid), "the error names the other process")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err, "a killed holder leaves no stale lock")
	assert.Equal(t, "from helper", got.ConfigHash)
}

// lockHelper is the second process of TestFileStoreLockedByOtherProcess: it
// saves a checkpoint, says so, and holds the lock until killed or stdin ends.
func lockHelper(dir string) {
	s, err := checkpoint.NewFileStore(dir)
	if err == nil {
		err = s.Save(context.Background(), "job1", checkpoint.State{ConfigHash: "from helper"})
	}
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

func TestFileStorePeekTakesNoLock(t *testing.T) {
	dir := t.TempDir()
	a, err := checkpoint.NewFileStore(dir)
	require.NoError(t, err)
	defer a.Close(context.Background())
	st := checkpointtest.SampleState("job1")
	require.NoError(t, a.Save(context.Background(), "job1", st))

	b, err := checkpoint.NewFileStore(dir)
	require.NoError(t, err)
	defer b.Close(context.Background())
	_, err = b.Load(context.Background(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrLeaseHeld, "a second store cannot take the job")
	got, err := b.Peek(context.Background(), "job1")
	require.NoError(t, err)
	assert.Equal(t, checkpointtest.Normalize(st).Files, checkpointtest.Normalize(got).Files)
	_, err = b.Peek(context.Background(), "nope")
	assert.ErrorIs(t, err, checkpoint.ErrNotFound)
}

// TestFileStoreRefusesSymlinks plants a symbolic link at the lock and at the
// checkpoint name: the store refuses it with an error naming the file and
// the link's target is left as it was.
func TestFileStoreRefusesSymlinks(t *testing.T) {
	for _, name := range []string{"job1.lock", "job1.json"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "precious")
			require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o644))
			require.NoError(t, os.Chmod(target, 0o644))
			link := filepath.Join(dir, name)
			require.NoError(t, os.Symlink(target, link))

			s := newFileStore(t, dir)
			_, err := s.Load(t.Context(), "job1")
			require.Error(t, err)
			assert.Contains(t, err.Error(), link)
			assert.Contains(t, err.Error(), "symbolic link")
			if name == "job1.lock" {
				require.Error(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
			}
			b, err := os.ReadFile(target)
			require.NoError(t, err)
			assert.Equal(t, "precious\n", string(b), "the target is untouched")
			st, err := os.Stat(target)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "the target keeps its mode")
		})
	}
}

// TestFileStoreStaleTemps: temporary files a killed Save left (a file, and
// a link planted at such a name) are removed when the next run takes the
// job's lock; the link's target is untouched. Another job's are left alone.
func TestFileStoreStaleTemps(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	require.NoError(t, os.WriteFile(target, []byte("precious\n"), 0o600))
	stale := filepath.Join(dir, ".job1.json.tmp-123456")
	require.NoError(t, os.WriteFile(stale, []byte(`{"version":1,"job":"jo`), 0o600))
	staleLink := filepath.Join(dir, ".job1.json.tmp-999")
	require.NoError(t, os.Symlink(target, staleLink))
	other := filepath.Join(dir, ".job2.json.tmp-123456")
	require.NoError(t, os.WriteFile(other, nil, 0o600))

	s := newFileStore(t, dir)
	_, err := s.Load(t.Context(), "job1")
	require.ErrorIs(t, err, checkpoint.ErrNotFound)
	for _, p := range []string{stale, staleLink} {
		_, err = os.Lstat(p)
		assert.ErrorIs(t, err, os.ErrNotExist, "%s removed", p)
	}
	_, err = os.Stat(other)
	assert.NoError(t, err, "another job's temporary file is not this run's to remove")
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "precious\n", string(b))
}

// TestFileStoreLockMode: a lock file that exists with mode 0644 is 0600
// once the store holds it; the checkpoint is written 0600.
func TestFileStoreLockMode(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "job1.lock")
	require.NoError(t, os.WriteFile(lock, nil, 0o644))
	require.NoError(t, os.Chmod(lock, 0o644))
	s := newFileStore(t, dir)
	require.NoError(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
	for _, p := range []string{lock, filepath.Join(dir, "job1.json")} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
	}
}

func TestFileStoreReadsVersion1(t *testing.T) {
	// A checkpoint written before the archive existed: every file in Files.
	dir := t.TempDir()
	v1 := `{"version":1,"job":"job1","config_hash":"h","files":{"a.csv":{"identity":{"size":9},"frontier":{"index":3,"offset":9},"finished":true,"rows_acked":3}},"updated":"2025-01-01T00:00:00Z"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "job1.json"), []byte(v1), 0o600))
	s := newFileStore(t, dir)
	st, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Equal(t, checkpoint.Version, st.Version, "read as the current version")
	require.NotNil(t, st.FileOf("a.csv"))
	assert.True(t, st.FileOf("a.csv").Finished)
	st.Archived = checkpointtest.Archived("x", 2)
	require.NoError(t, s.Save(t.Context(), "job1", st), "and saved again in the current one")
}

func TestFileStoreRemovesUnlistedSegments(t *testing.T) {
	// A segment written by a save that did not get to write the checkpoint
	// is not part of the job: the next Load removes it.
	dir := t.TempDir()
	s := newFileStore(t, dir)
	st := checkpointtest.SampleState("job1")
	st.Archived = checkpointtest.Archived("a", 2)
	require.NoError(t, s.Save(t.Context(), "job1", st))
	stray := filepath.Join(dir, "job1.archive-0000000000000000.jsonl")
	require.NoError(t, os.WriteFile(stray, []byte("{}\n"), 0o600))
	got, err := s.Load(t.Context(), "job1")
	require.NoError(t, err)
	assert.Len(t, got.Archived, 2)
	assert.NoFileExists(t, stray)
	segs, _ := filepath.Glob(filepath.Join(dir, "job1.archive-*.jsonl"))
	assert.Len(t, segs, 1)

	require.NoError(t, s.Delete(t.Context(), "job1"))
	segs, _ = filepath.Glob(filepath.Join(dir, "job1.archive-*.jsonl"))
	assert.Empty(t, segs, "Delete removes the archive")
}

// archivedJob saves, in dir, a checkpoint of job1 whose archive holds n
// finished files (in segments of 1,000, as the importer writes them) and
// returns the State of a save made while a few files are being read.
func archivedJob(tb testing.TB, s checkpoint.Store, n int) checkpoint.State {
	st := checkpointtest.SampleState("job1")
	for i := 0; i < n; i += 1000 {
		st.Archived = checkpointtest.Archived(fmt.Sprintf("s3://bucket/exports/part-%d", i), min(1000, n-i))
		require.NoError(tb, s.Save(tb.Context(), "job1", st))
	}
	st.Archived = nil
	return st
}

// BenchmarkFileStoreSave measures one save while a job with 1k, 10k and
// 100k archived (finished) files reads a few more: the save writes the few,
// not the archive, so it costs the same at each size (two fsyncs).
func BenchmarkFileStoreSave(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("finished=%d", n), func(b *testing.B) {
			s, err := checkpoint.NewFileStore(b.TempDir())
			require.NoError(b, err)
			defer s.Close(context.Background())
			st := archivedJob(b, s, n)
			b.ResetTimer()
			for b.Loop() {
				if err := s.Save(b.Context(), "job1", st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFileStoreLoad measures reading the checkpoint of a job with 1k,
// 10k and 100k archived files (a resume's first step).
func BenchmarkFileStoreLoad(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("finished=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			s, err := checkpoint.NewFileStore(dir)
			require.NoError(b, err)
			archivedJob(b, s, n)
			require.NoError(b, s.Close(context.Background()))
			b.ResetTimer()
			for b.Loop() {
				s, err := checkpoint.NewFileStore(dir)
				if err != nil {
					b.Fatal(err)
				}
				st, err := s.Load(b.Context(), "job1")
				if err != nil || len(st.Archived) != n {
					b.Fatal(err, len(st.Archived))
				}
				s.Close(context.Background())
			}
		})
	}
}

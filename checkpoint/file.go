package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/insider-import/insider-import/internal/safefile"
)

// ErrCorrupt is wrapped by Load when a saved checkpoint cannot be decoded
// (truncated, not JSON, no format version, or written for another job).
var ErrCorrupt = errors.New("checkpoint is truncated or corrupt")

// ErrVersion is wrapped by Load when a saved checkpoint has a format version
// other than Version.
var ErrVersion = errors.New("checkpoint has an unsupported format version")

// errClosed is returned by a store used after Close.
var errClosed = errors.New("checkpoint store is closed")

// LeaseHeldError reports that another run of the same job holds the lease (S3)
// or the lock (local file) on a checkpoint, or took it over from this run. It
// wraps ErrLeaseHeld.
type LeaseHeldError struct {
	// Checkpoint names the checkpoint: a file path or an s3:// URI.
	Checkpoint string
	// Holder identifies the other run when known: the S3 lease holder, or
	// what the other process wrote into the local lock file.
	Holder string
	// Expires is when the other run's S3 lease runs out unless renewed
	// (zero for a local lock, which lasts until that process exits).
	Expires time.Time
	// Lost is set when this run held the lease and another run took it over
	// (because this run did not save within the lease TTL).
	Lost bool
}

func (e *LeaseHeldError) Error() string {
	var b strings.Builder
	b.WriteString("checkpoint ")
	b.WriteString(e.Checkpoint)
	if e.Lost {
		b.WriteString(": lease was taken over by another run of this job")
	} else {
		b.WriteString(": held by another run of this job")
	}
	if e.Holder != "" {
		fmt.Fprintf(&b, " (%s", e.Holder)
		if !e.Expires.IsZero() {
			fmt.Fprintf(&b, ", lease expires %s", e.Expires.UTC().Format(time.RFC3339))
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns ErrLeaseHeld.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// FileStore keeps one checkpoint file per job, <dir>/<job>.json, and a lock
// file beside it, <dir>/<job>.lock. The first Load, Save or Delete of a job
// takes an exclusive flock on the lock file, so a second process (or a second
// FileStore in this process) working on the same job on this machine gets a
// *LeaseHeldError; Close releases the locks, and so does the kernel when the
// process dies. Lock files are left in place: removing them would race with
// another process opening them.
//
// Save writes a temporary file in dir, fsyncs and renames it over the
// checkpoint and fsyncs dir, so a crash leaves the old or the new State.
// Temporary files a killed Save left behind (.<job>.json.tmp-*) are removed
// once the job's lock is taken. No file is read or written through a
// symbolic link (a link at the checkpoint, lock or temporary name is
// refused with an error that says so; see package safefile).
// Save stamps State.Version and State.Job when they are zero and refuses a
// State whose Version or Job is another one. Files are created with mode
// 0600. FileStore does not consult ctx: local writes are short, and the final
// save on SIGTERM must not be lost to a cancelled context.
//
// Job ids are used in file names as they are when they consist of ASCII
// letters, digits, '-', '_' and '.' (not leading); other bytes are
// percent-escaped, so distinct jobs never share a file and no job escapes dir.
//
// A FileStore is safe for concurrent use.
type FileStore struct {
	dir string

	mu      sync.Mutex
	locks   map[string]*os.File     // by job: open lock file holding LOCK_EX
	archive map[string][]segmentRef // by job: the archive last loaded or saved
	closed  bool
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store keeping checkpoints in dir, creating it with
// mode 0700 if it does not exist (an existing dir keeps its mode).
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("checkpoint directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create checkpoint directory: %w", err)
	}
	return &FileStore{dir: dir, locks: make(map[string]*os.File), archive: make(map[string][]segmentRef)}, nil
}

// Path returns the file that holds the checkpoint of job.
func (s *FileStore) Path(job string) (string, error) {
	name, err := jobName(job)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, name+".json"), nil
}

// Load returns the State saved for job, or an error wrapping ErrNotFound if
// there is none. A checkpoint that cannot be decoded is an error wrapping
// ErrCorrupt or ErrVersion that names the file. Archive segments that the
// checkpoint does not list (left by a Save that failed) are removed.
func (s *FileStore) Load(ctx context.Context, job string) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path, err := s.lock(job)
	if err != nil {
		return State{}, err
	}
	st, refs, err := s.read(ctx, path, job)
	if err != nil {
		return State{}, err
	}
	s.archive[job] = refs
	s.removeSegments(path, refs)
	return st, nil
}

// Save atomically replaces the checkpoint of job with st: a new archive
// segment of st.Archived first, if any (written and synced), then the
// checkpoint file that lists it.
func (s *FileStore) Save(ctx context.Context, job string, st State) error {
	if err := checkState(job, &st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path, err := s.lock(job)
	if err != nil {
		return err
	}
	refs, err := appendSegment(ctx, s.archive[job], strings.TrimSuffix(filepath.Base(path), ".json"), &st, func(_ context.Context, name string, data []byte) error {
		return writeFileAtomic(filepath.Join(s.dir, name), data)
	})
	if err != nil {
		return err
	}
	data, err := encodeState(job, st, refs)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	s.archive[job] = refs
	return nil
}

// Delete removes the checkpoint of job and its archive. The job stays
// locked until Close.
func (s *FileStore) Delete(_ context.Context, job string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	path, err := s.lock(job)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete checkpoint: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("delete checkpoint %s: %w", path, err)
	}
	delete(s.archive, job)
	s.removeSegments(path, nil)
	return nil
}

// removeSegments removes the archive segments of the checkpoint at path
// that keep does not list. Only the holder of the job's lock calls it.
// Best effort: a leftover segment takes room but is never read.
func (s *FileStore) removeSegments(path string, keep []segmentRef) {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if isSegmentOf(e.Name(), base) && !slices.ContainsFunc(keep, func(r segmentRef) bool { return r.Name == e.Name() }) {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// read reads the checkpoint at path and its archive.
func (s *FileStore) read(ctx context.Context, path, job string) (State, []segmentRef, error) {
	st, refs, err := readState(path, job)
	if err != nil {
		return State{}, nil, err
	}
	st.Archived, err = readArchive(ctx, refs, path, func(_ context.Context, name string) ([]byte, error) {
		return safefile.ReadFile(filepath.Join(s.dir, name))
	})
	if err != nil {
		return State{}, nil, err
	}
	return st, refs, nil
}

// Close releases the locks of every job this store touched. Later calls to
// Load, Save and Delete fail; calling Close again does nothing.
func (s *FileStore) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for job, f := range s.locks {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("release checkpoint lock: %w", err))
		}
		delete(s.locks, job)
	}
	s.closed = true
	return errors.Join(errs...)
}

// lock takes the lock of job unless this store holds it already and returns
// the path of the job's checkpoint file. s.mu is held.
func (s *FileStore) lock(job string) (string, error) {
	if s.closed {
		return "", errClosed
	}
	name, err := jobName(job)
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.dir, name+".json")
	if _, ok := s.locks[job]; ok {
		return path, nil
	}
	lockPath := filepath.Join(s.dir, name+".lock")
	f, err := safefile.OpenFile(lockPath, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return "", fmt.Errorf("lock checkpoint: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return "", &LeaseHeldError{Checkpoint: path, Holder: lockHolder(lockPath)}
		}
		return "", fmt.Errorf("lock checkpoint %s: %w", lockPath, err)
	}
	// Say who holds the lock, for the error message another process shows.
	// Best effort: the lock is what counts.
	host, _ := os.Hostname()
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt(fmt.Appendf(nil, "pid %d on %s\n", os.Getpid(), host), 0)
	}
	s.locks[job] = f
	removeStaleTemps(s.dir, name+".json")
	return path, nil
}

// removeStaleTemps removes the temporary files of base that a Save killed
// before its rename left in dir. Only the holder of the job's lock calls it,
// so no Save of the job is under way. Best effort: a leftover temporary file
// takes room but is never read.
func removeStaleTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + ".tmp-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			_ = os.Remove(filepath.Join(dir, e.Name())) // a link is removed, not followed
		}
	}
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// lockHolder returns what the holder of a lock file wrote into it, shortened,
// or "" if it cannot be read.
func lockHolder(path string) string {
	b, err := safefile.ReadFile(path)
	if err != nil {
		return ""
	}
	h := strings.TrimSpace(string(b))
	if len(h) > 200 {
		h = h[:200]
	}
	return strings.ToValidUTF8(h, "?")
}

// writeFileAtomic replaces path with data: temporary file in the same
// directory, fsync, close, rename, fsync the directory (restic
// internal/backend/local/local.go, Save).
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	f, err := safefile.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Clean(dir))
}

// syncDir fsyncs a directory so that a rename or removal in it is durable.
// File systems that cannot sync directories are tolerated, as in restic.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EINVAL) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// jobName turns a job id into a file name or object key component that is
// distinct for distinct ids and contains no path separator: bytes other than
// ASCII letters, digits, '-', '_' and non-leading '.' become %XX.
func jobName(job string) (string, error) {
	if job == "" {
		return "", errors.New("checkpoint job id is empty")
	}
	var b strings.Builder
	for i := 0; i < len(job); i++ {
		c := job[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > 200 { // leaves room for ".json" and temp-file decoration under NAME_MAX
		return "", fmt.Errorf("checkpoint job id %.40q... is too long", job)
	}
	return b.String(), nil
}

// checkState stamps Version and Job when they are zero, and checks them.
func checkState(job string, st *State) error {
	if _, err := jobName(job); err != nil {
		return err
	}
	if st.Version == 0 {
		st.Version = Version
	}
	if st.Version != Version {
		return fmt.Errorf("save checkpoint of job %s: State.Version is %d, this build writes version %d", job, st.Version, Version)
	}
	if st.Job == "" {
		st.Job = job
	}
	if st.Job != job {
		return fmt.Errorf("save checkpoint of job %s: State.Job is %q", job, st.Job)
	}
	return nil
}

// encodeState checks st (checkState) and encodes it as the checkpoint
// document with the archive segments refs.
func encodeState(job string, st State, archive []segmentRef) ([]byte, error) {
	if err := checkState(job, &st); err != nil {
		return nil, err
	}
	data, err := json.Marshal(document{State: st, Archive: archive})
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint of job %s: %w", job, err)
	}
	return append(data, '\n'), nil
}

// decodeState decodes a checkpoint document of job read from name (a path
// or URI for messages), refusing anything that is not a complete State of
// this version (or version 1, read as this one) and job. It returns the
// State without its archive, and the archive's segments.
func decodeState(data []byte, name, job string) (State, []segmentRef, error) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return State{}, nil, fmt.Errorf("checkpoint %s: %w: %v", name, ErrCorrupt, err)
	}
	if head.Version == 0 {
		return State{}, nil, fmt.Errorf("checkpoint %s: %w: no format version", name, ErrCorrupt)
	}
	if head.Version != Version && head.Version != 1 {
		return State{}, nil, fmt.Errorf("checkpoint %s: %w: version %d, this build reads versions 1 and %d", name, ErrVersion, head.Version, Version)
	}
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil {
		return State{}, nil, fmt.Errorf("checkpoint %s: %w: %v", name, ErrCorrupt, err)
	}
	if doc.Job != job {
		return State{}, nil, fmt.Errorf("checkpoint %s: %w: it belongs to job %q, not %q", name, ErrCorrupt, doc.Job, job)
	}
	doc.Version = Version // version 1 is version 2 without an archive
	return doc.State, doc.Archive, nil
}

// Peek returns the State saved for job without taking the job's lock, so
// that `status` can look while an import runs. Saves are atomic renames, so
// Peek sees a whole State, old or new.
func (s *FileStore) Peek(ctx context.Context, job string) (State, error) {
	path, err := s.Path(job)
	if err != nil {
		return State{}, err
	}
	st, _, err := s.read(ctx, path, job)
	return st, err
}

func readState(path, job string) (State, []segmentRef, error) {
	data, err := safefile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil, fmt.Errorf("checkpoint %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return State{}, nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return decodeState(data, path, job)
}

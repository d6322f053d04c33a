package checkpoint

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3API is the part of *s3.Client the S3 store uses.
type s3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ s3API = (*s3.Client)(nil)

// DefaultLeaseTTL is the lease TTL of an S3Store when S3StoreOptions.LeaseTTL
// is zero. It bounds how long a run that died without releasing its lease
// (SIGKILL, an OOM kill, a lost node) keeps the next run of its job out: a
// Kubernetes Job's retry proceeds at most this long after the kill. The
// store renews a held lease every LeaseTTL/3 by itself, so a run never
// loses it while it lives; each renewal is one conditional PUT of the
// checkpoint object (a few milliseconds, docs/operations.md, "Checkpoints and resume").
const DefaultLeaseTTL = 30 * time.Second

// S3StoreOptions configures NewS3Store.
type S3StoreOptions struct {
	// Holder identifies this run in the lease, for the messages another run
	// shows. It must differ between runs: a store whose Holder matches the
	// lease's may take it before it expires. Default: hostname, process id
	// and a random string.
	Holder string
	// LeaseTTL is how long a lease lasts after the last Save (or Renew)
	// before another run may take it over. Default DefaultLeaseTTL. Clocks
	// of the hosts sharing a checkpoint must agree to well within it.
	LeaseTTL time.Duration
	// RenewEvery is how often a held lease is rewritten in the background
	// when nothing else wrote it (Save, Delete, Renew): a run stays the
	// holder however long it goes between saves (opening many inputs, a
	// long stall). Zero means LeaseTTL/3, or no background renewal when Now
	// is set (a test clock drives no timers); negative means none.
	RenewEvery time.Duration
	// Now returns the current time; default time.Now. Tests pass a fake clock.
	Now func() time.Time
}

// S3Store keeps one object per job, <prefix><job>.json, holding the job's
// State and a lease {holder, expires} so that two runs of the same job (a
// CronJob overlapping itself, a replaced pod still draining) cannot both
// write. The first Load, Save, Delete or Renew of a job takes the lease:
//
//   - no object: PutObject with If-None-Match: * (an envelope without State);
//   - an object whose lease is free, expired, or held by this Holder:
//     PutObject with If-Match on the ETag just read, keeping the State;
//   - otherwise a *LeaseHeldError naming the holder and when its lease
//     expires.
//
// Every later write (Save, Delete, Renew, Close) is one PutObject with
// If-Match on the ETag of this store's previous write, and extends the lease
// to now+LeaseTTL (Close sets it to zero: free). A 412 or 409 answer means
// another run took the lease over: the write fails with a *LeaseHeldError
// with Lost set, and the run must stop. Delete writes an envelope without
// State, so the lease stays in force. Load re-reads the object and fails the
// same way if its ETag is no longer the one this store wrote.
//
// Finished files archived out of the State (State.Archived) are written as
// objects <prefix><job>.archive-<random>.jsonl before the conditional PUT
// that lists them, each once; Delete leaves them, unreferenced (the store
// has no DeleteObject: a lifecycle rule can expire them).
//
// If a conditional write is refused, the store reads the object back: if it
// holds exactly the bytes just written (the SDK retried a request whose
// answer was lost), the write succeeded.
//
// Writes fail when ctx is cancelled: pass a context that outlives a SIGTERM
// (context.WithoutCancel with a timeout) to the final Save and to Close. A
// lease that is not released expires after LeaseTTL.
//
// Job ids map to object keys as they do to file names in FileStore. Save
// stamps State.Version and State.Job when they are zero and refuses other
// values. An S3Store is safe for concurrent use.
type S3Store struct {
	client s3API
	bucket string
	prefix string
	holder string
	ttl    time.Duration
	every  time.Duration // background renewal period; 0: none
	now    func() time.Time

	mu     sync.Mutex
	leases map[string]*s3Lease // by job
	lost   map[string]error    // jobs whose lease a background renewal found taken over
	closed bool

	renewOnce sync.Once
	stopOnce  sync.Once
	stopRenew chan struct{} // closed by Close
	renewDone chan struct{} // closed when the renewal goroutine ends
}

var _ Store = (*S3Store)(nil)

// s3Lease is a lease this store holds on one job's object.
type s3Lease struct {
	key     string
	archive []segmentRef    // the archive this store last loaded or saved
	etag    string          // of this store's last write
	state   json.RawMessage // State in the object, nil if none
	written time.Time       // when this store last wrote it (s.now)
}

// s3Envelope is the content of a checkpoint object.
type s3Envelope struct {
	Lease s3LeaseInfo     `json:"lease"`
	State json.RawMessage `json:"state,omitempty"`
}

type s3LeaseInfo struct {
	Holder string `json:"holder"`
	// Expires is when the lease runs out; zero when released.
	Expires time.Time `json:"expires"`
}

// s3Object is a checkpoint object as read.
type s3Object struct {
	etag string
	body []byte
	env  s3Envelope
}

// NewS3Store returns a store keeping checkpoints under prefix in bucket.
// client is usually an *s3.Client. NewS3Store makes no request; ctx is not
// retained.
func NewS3Store(ctx context.Context, client s3API, bucket, prefix string, opts S3StoreOptions) (*S3Store, error) {
	_ = ctx
	if client == nil {
		return nil, errors.New("checkpoint S3 store: no S3 client")
	}
	if bucket == "" {
		return nil, errors.New("checkpoint S3 store: no bucket")
	}
	if opts.LeaseTTL < 0 {
		return nil, fmt.Errorf("checkpoint S3 store: negative lease TTL %s", opts.LeaseTTL)
	}
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Holder == "" {
		opts.Holder = newHolder()
	}
	every := opts.RenewEvery
	switch {
	case every < 0:
		every = 0
	case every == 0 && opts.Now == nil:
		every = opts.LeaseTTL / 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &S3Store{
		client:    client,
		bucket:    bucket,
		prefix:    prefix,
		holder:    opts.Holder,
		ttl:       opts.LeaseTTL,
		every:     every,
		now:       opts.Now,
		leases:    make(map[string]*s3Lease),
		lost:      make(map[string]error),
		stopRenew: make(chan struct{}),
		renewDone: make(chan struct{}),
	}, nil
}

// startRenewal starts the background renewal once a lease is held.
func (s *S3Store) startRenewal() {
	if s.every <= 0 {
		return
	}
	s.renewOnce.Do(func() { go s.renewLoop() })
}

// renewLoop rewrites every held lease that this store has not written for
// half the renewal period, so no lease goes longer than RenewEvery without
// a write, until Close. A lease found taken over is dropped and remembered:
// the job's next call fails with the *LeaseHeldError (Lost). Other errors
// are left to the next tick, and to the next Save, which reports them.
func (s *S3Store) renewLoop() {
	defer close(s.renewDone)
	tick := time.NewTicker(s.every / 2)
	defer tick.Stop()
	for {
		select {
		case <-s.stopRenew:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		for job, l := range s.leases {
			if s.now().Sub(l.written) < s.every/2 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.every)
			err := s.write(ctx, job, nil, true)
			cancel()
			if errors.Is(err, ErrLeaseHeld) {
				s.lost[job] = err
			}
		}
		s.mu.Unlock()
	}
}

// newHolder returns "hostname:pid:random".
func newHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), rand.Text()[:10])
}

// ParseS3URI splits s3://bucket/prefix into bucket and key prefix. A
// non-empty prefix is given a trailing '/' if it has none, so
// s3://bucket/checkpoints and s3://bucket/checkpoints/ are the same place.
func ParseS3URI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("checkpoint location %q is not an s3:// URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("checkpoint location %q has no bucket", uri)
	}
	if strings.ContainsAny(bucket, "?# \t\n") {
		return "", "", fmt.Errorf("checkpoint location %q: invalid bucket name %q", uri, bucket)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// Holder returns the string that identifies this store's run in leases.
func (s *S3Store) Holder() string { return s.holder }

// URI returns the s3:// URI of the object that holds the checkpoint of job.
func (s *S3Store) URI(job string) (string, error) {
	name, err := jobName(job)
	if err != nil {
		return "", err
	}
	return s.uri(s.prefix + name + ".json"), nil
}

func (s *S3Store) uri(key string) string { return "s3://" + s.bucket + "/" + key }

// Load takes the lease of job if this store does not hold it yet and
// returns the saved State, or an error wrapping ErrNotFound if the object
// does not exist or holds no State.
func (s *S3Store) Load(ctx context.Context, job string) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, held, err := s.acquire(ctx, job)
	if err != nil {
		return State{}, err
	}
	if held {
		obj, err := s.get(ctx, l.key)
		if err != nil {
			return State{}, err
		}
		if obj == nil || !sameETag(obj.etag, l.etag) {
			delete(s.leases, job)
			return State{}, s.lostError(l.key, obj)
		}
		l.state = obj.env.State
	}
	if noState(l.state) {
		return State{}, fmt.Errorf("checkpoint %s: %w", s.uri(l.key), ErrNotFound)
	}
	st, refs, err := s.decode(ctx, l.key, l.state, job)
	if err == nil {
		l.archive = refs
	}
	return st, err
}

// decode decodes the State in the object at key, and reads its archive.
func (s *S3Store) decode(ctx context.Context, key string, state json.RawMessage, job string) (State, []segmentRef, error) {
	st, refs, err := decodeState(state, s.uri(key), job)
	if err != nil {
		return State{}, nil, err
	}
	st.Archived, err = readArchive(ctx, refs, s.uri(key), func(ctx context.Context, name string) ([]byte, error) {
		out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + name)})
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		return io.ReadAll(out.Body)
	})
	return st, refs, err
}

// Save takes the lease of job if this store does not hold it yet, writes a
// new archive segment of st.Archived if there is any (a PutObject of a new
// key: no run refers to it yet), then replaces the State with st in one
// conditional PutObject and extends the lease.
func (s *S3Store) Save(ctx context.Context, job string, st State) error {
	if err := checkState(job, &st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, _, err := s.acquire(ctx, job)
	if err != nil {
		return err
	}
	refs, err := appendSegment(ctx, l.archive, strings.TrimSuffix(strings.TrimPrefix(l.key, s.prefix), ".json"), &st, func(ctx context.Context, name string, data []byte) error {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        aws.String(s.bucket),
			Key:           aws.String(s.prefix + name),
			Body:          bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
			ContentType:   aws.String("application/x-ndjson"),
		})
		return err
	})
	if err != nil {
		return err
	}
	data, err := encodeState(job, st, refs)
	if err != nil {
		return err
	}
	if err := s.write(ctx, job, data, false); err != nil {
		return err
	}
	l.archive = refs
	return nil
}

// Delete takes the lease of job if this store does not hold it yet and
// removes the State, keeping the lease. Deleting a job without a checkpoint
// object creates one that holds only the lease.
func (s *S3Store) Delete(ctx context.Context, job string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(ctx, job, nil, false); err != nil {
		return err
	}
	if l := s.leases[job]; l != nil {
		l.archive = nil
	}
	return nil
}

// Renew takes or extends the lease of job without changing its State, for a
// run that may go longer than the lease TTL between saves.
func (s *S3Store) Renew(ctx context.Context, job string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(ctx, job, nil, true)
}

// Close releases every lease this store holds, keeping the States. Leases
// that another run took over are reported as *LeaseHeldError (Lost). Later
// calls to Load, Save, Delete and Renew fail; calling Close again does
// nothing.
func (s *S3Store) Close(ctx context.Context) error {
	s.renewOnce.Do(func() { close(s.renewDone) }) // never started: nothing to wait for
	s.stopOnce.Do(func() { close(s.stopRenew) })
	<-s.renewDone
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for job, l := range s.leases {
		err := s.put(ctx, l, l.state, time.Time{}, false)
		if cerr := (*s3ConflictError)(nil); errors.As(err, &cerr) {
			err = s.lostError(l.key, cerr.current)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("release checkpoint lease: %w", err))
		}
		delete(s.leases, job)
	}
	s.closed = true
	return errors.Join(errs...)
}

// write takes the lease of job and writes state (keepState: the State the
// object holds) with a renewed lease. s.mu is held.
func (s *S3Store) write(ctx context.Context, job string, state json.RawMessage, keepState bool) error {
	l, _, err := s.acquire(ctx, job)
	if err != nil {
		return err
	}
	if keepState {
		state = l.state
	}
	err = s.put(ctx, l, state, s.now().Add(s.ttl), false)
	if cerr := (*s3ConflictError)(nil); errors.As(err, &cerr) {
		delete(s.leases, job)
		return s.lostError(l.key, cerr.current)
	}
	return err
}

// acquire returns the lease of job, taking it unless this store holds it
// already (held). s.mu is held.
func (s *S3Store) acquire(ctx context.Context, job string) (l *s3Lease, held bool, err error) {
	if s.closed {
		return nil, false, errClosed
	}
	if l, ok := s.leases[job]; ok {
		return l, true, nil
	}
	if err := s.lost[job]; err != nil {
		return nil, false, err
	}
	name, err := jobName(job)
	if err != nil {
		return nil, false, err
	}
	key := s.prefix + name + ".json"
	// A refused conditional write means another run wrote between our read
	// and our write; read again to see whether it now holds the lease.
	for range 3 {
		obj, err := s.get(ctx, key)
		if err != nil {
			return nil, false, err
		}
		l := &s3Lease{key: key}
		if obj != nil {
			lease := obj.env.Lease
			if lease.Holder != s.holder && lease.Expires.After(s.now()) {
				return nil, false, &LeaseHeldError{Checkpoint: s.uri(key), Holder: lease.Holder, Expires: lease.Expires}
			}
			l.etag, l.state = obj.etag, obj.env.State
		}
		err = s.put(ctx, l, l.state, s.now().Add(s.ttl), obj == nil)
		if errors.As(err, new(*s3ConflictError)) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		s.leases[job] = l
		s.startRenewal()
		return l, false, nil
	}
	return nil, false, &LeaseHeldError{Checkpoint: s.uri(key), Holder: "contended: other runs keep writing it"}
}

// s3ConflictError is a conditional write that S3 refused. current is the
// object as read afterwards (nil if it does not exist or could not be read).
type s3ConflictError struct {
	current *s3Object
	err     error
}

func (e *s3ConflictError) Error() string { return "conditional write refused: " + e.err.Error() }
func (e *s3ConflictError) Unwrap() error { return e.err }

// put writes an envelope of this holder with state and expires to l.key:
// with If-None-Match: * if create, else with If-Match: l.etag. On success it
// records the new ETag and state in l. A refused write is an
// *s3ConflictError.
func (s *S3Store) put(ctx context.Context, l *s3Lease, state json.RawMessage, expires time.Time, create bool) error {
	body, err := json.Marshal(s3Envelope{
		Lease: s3LeaseInfo{Holder: s.holder, Expires: expires},
		State: state,
	})
	if err != nil {
		return fmt.Errorf("encode checkpoint %s: %w", s.uri(l.key), err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(l.key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String("application/json"),
	}
	if create {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(l.etag)
	}
	out, err := s.client.PutObject(ctx, in)
	if err == nil && out.ETag != nil && *out.ETag != "" {
		l.etag, l.state, l.written = *out.ETag, state, s.now()
		return nil
	}
	if err != nil && !isConflict(err) {
		return fmt.Errorf("write checkpoint %s: %w", s.uri(l.key), err)
	}
	// Refused, or accepted without an ETag: read back what is there.
	obj, gerr := s.get(ctx, l.key)
	if obj != nil && bytes.Equal(obj.body, body) && obj.etag != "" {
		l.etag, l.state, l.written = obj.etag, state, s.now()
		return nil
	}
	if err == nil {
		if gerr != nil {
			return gerr
		}
		return fmt.Errorf("write checkpoint %s: no ETag in the answer and the object does not hold what was written", s.uri(l.key))
	}
	return &s3ConflictError{current: obj, err: err}
}

// get reads the checkpoint object at key; nil if it does not exist.
func (s *S3Store) get(ctx context.Context, key string) (*s3Object, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read checkpoint %s: %w", s.uri(key), err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", s.uri(key), err)
	}
	obj := &s3Object{etag: aws.ToString(out.ETag), body: body}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // a bare State or another format is not an empty checkpoint
	if err := dec.Decode(&obj.env); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w: %v", s.uri(key), ErrCorrupt, err)
	}
	return obj, nil
}

// lostError reports that another run took over the lease on key; current is
// the object as read afterwards, if known.
func (s *S3Store) lostError(key string, current *s3Object) error {
	e := &LeaseHeldError{Checkpoint: s.uri(key), Lost: true}
	if current != nil {
		e.Holder, e.Expires = current.env.Lease.Holder, current.env.Lease.Expires
	}
	return e
}

func noState(state json.RawMessage) bool {
	return len(state) == 0 || string(state) == "null"
}

func sameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`)
}

// isConflict reports whether a PutObject error means its condition failed:
// 412 PreconditionFailed, 409 ConditionalRequestConflict, or NoSuchKey for
// If-Match on an object that was removed.
func isConflict(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusPreconditionFailed, http.StatusConflict:
			return true
		}
	}
	return false
}

// isNoSuchKey reports whether a GetObject error means the object does not
// exist (and not, say, that the bucket does not).
func isNoSuchKey(err error) bool {
	if errors.As(err, new(*types.NoSuchKey)) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

// Peek returns the State saved for job without taking or disturbing the
// lease, so that `status` can look while an import runs.
func (s *S3Store) Peek(ctx context.Context, job string) (State, error) {
	name, err := jobName(job)
	if err != nil {
		return State{}, err
	}
	key := s.prefix + name + ".json"
	obj, err := s.get(ctx, key)
	if err != nil {
		return State{}, err
	}
	if obj == nil || noState(obj.env.State) {
		return State{}, fmt.Errorf("checkpoint %s: %w", s.uri(key), ErrNotFound)
	}
	st, _, err := s.decode(ctx, key, obj.env.State, job)
	return st, err
}

package readers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/insider-import/insider-import/internal/ctxsleep"
)

// How S3 reads behave. The SDK retries a failed request itself
// (s3MaxAttempts in all); a body that breaks off after the response started
// is resumed here from the byte it stopped at, up to s3MaxResumes times in a
// row without progress.
const (
	s3MaxAttempts = 5
	s3MaxResumes  = 5
	s3ReadAhead   = 512 << 10 // smallest ranged GET for small random reads
	s3ResumeWait  = 200 * time.Millisecond
	s3Scheme      = "s3://"
)

// s3API is the part of the S3 client the readers use.
type s3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ s3API = (*s3.Client)(nil)

// NewS3Client returns an S3 client configured from the SDK's default chain
// (environment, shared config and credentials files, web identity, instance
// role) and o. With o.Endpoint set it talks to that S3-compatible store,
// path-style when o.PathStyle; the region defaults to us-east-1 when
// neither o nor the environment names one. The SDK retries a request at most
// s3MaxAttempts times in all, so that its retries and the caller's do not
// multiply unnoticed.
func NewS3Client(ctx context.Context, o S3Options) (*s3.Client, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			// S3-compatible stores do not all take the SDK's default
			// streaming checksums; send them only where S3 requires them.
			so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
		so.UsePathStyle = o.PathStyle
		so.RetryMaxAttempts = s3MaxAttempts
		// Reads are ranged, and S3 has no checksum for a range: do not
		// ask for one, nor log its absence on every read.
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		so.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// parseS3 splits s3://bucket/key.
func parseS3(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, s3Scheme)
	if !ok {
		return "", "", fmt.Errorf("%s: not an s3:// URI", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s: no bucket in the URI", uri)
	}
	return bucket, key, nil
}

// s3Source is one S3 object, pinned to the version (ETag) seen when it was
// opened: every later read asks for that ETag with If-Match, so an object
// replaced mid-import is an error wrapping ErrChanged, not a mix of two
// files.
type s3Source struct {
	api    s3API
	uri    string
	bucket string
	key    string
	etag   string // as S3 sent it, quotes included
	id     Identity
	wait   time.Duration // pause before resuming a broken body

	mu    sync.Mutex // guards block
	block s3Block
}

// s3Block is the last read-ahead block ReaderAt fetched.
type s3Block struct {
	off  int64
	data []byte
}

var _ source = (*s3Source)(nil)

// openS3 opens the object uri names with opts.S3.Client, or a client made
// by NewS3Client.
func openS3(ctx context.Context, uri string, opts Options) (source, error) {
	if _, _, err := parseS3(uri); err != nil {
		return nil, err
	}
	client, err := opts.S3.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", uri, err)
	}
	return newS3Source(ctx, client, uri)
}

// newS3Source opens uri through api: a HEAD request for the size and ETag.
func newS3Source(ctx context.Context, api s3API, uri string) (*s3Source, error) {
	bucket, key, err := parseS3(uri)
	if err != nil {
		return nil, err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, fmt.Errorf("open %s: names a prefix, not an object", uri)
	}
	out, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		if s3NotFound(err) {
			return nil, s3Missing(ctx, api, uri, bucket, key, err)
		}
		return nil, fmt.Errorf("open %s: %w", uri, err)
	}
	s := &s3Source{
		api: api, uri: uri, bucket: bucket, key: key,
		etag: aws.ToString(out.ETag),
		wait: s3ResumeWait,
	}
	s.id = Identity{Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(s.etag, `"`)}
	return s, nil
}

// s3NotFound reports whether err is S3's answer for a missing object or
// bucket.
func s3NotFound(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NoSuchBucket")
}

// s3Missing describes a missing object as an *InputError; when key is a
// prefix of other objects (a folder given without its trailing slash), it
// says how to name the folder.
func s3Missing(ctx context.Context, api s3API, uri, bucket, key string, cause error) error {
	prefix := key + "/"
	one := int32(1)
	if out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: &one}); err == nil && len(out.Contents) > 0 {
		return &InputError{Op: "open", Input: uri, Err: cause, Msg: fmt.Sprintf("no such object, but it is a prefix of other objects; to read them all, write %s/ (with the trailing slash)", uri)}
	}
	return &InputError{Op: "open", Input: uri, Err: cause, Msg: "no such object"}
}

func (s *s3Source) Name() string       { return s.uri }
func (s *s3Source) Identity() Identity { return s.id }
func (s *s3Source) Close() error       { return nil }

// OpenAt streams the object from offset with a ranged GET. When the
// connection drops, the reader asks again from the byte it reached.
func (s *s3Source) OpenAt(ctx context.Context, offset int64) (io.ReadCloser, error) {
	if offset < 0 || offset > s.id.Size {
		return nil, fmt.Errorf("%s: resume offset %d beyond the end (%d bytes): %w", s.uri, offset, s.id.Size, ErrChanged)
	}
	b := &s3Body{s: s, ctx: ctx, off: offset}
	if offset == s.id.Size {
		return b, nil
	}
	if err := b.connect(); err != nil {
		return nil, err
	}
	return b, nil
}

// get issues a GET for bytes [from, to] (to < 0: to the end) of the version
// the source was opened on.
func (s *s3Source) get(ctx context.Context, from, to int64) (io.ReadCloser, error) {
	rng := fmt.Sprintf("bytes=%d-", from)
	if to >= 0 {
		rng += fmt.Sprint(to)
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &s.key, Range: &rng}
	if s.etag != "" {
		in.IfMatch = &s.etag
	}
	out, err := s.api.GetObject(ctx, in)
	if err != nil {
		var re interface{ HTTPStatusCode() int }
		var ae smithy.APIError
		if (errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed) ||
			(errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed") {
			return nil, changedError(fmt.Sprintf("read %s: the object was replaced since it was opened", s.uri))
		}
		return nil, fmt.Errorf("read %s at byte %d: %w", s.uri, from, err)
	}
	// Some S3-compatible stores ignore If-Match on GET.
	if s.etag != "" && out.ETag != nil && *out.ETag != s.etag {
		out.Body.Close()
		return nil, changedError(fmt.Sprintf("read %s: the object was replaced since it was opened (ETag %s, was %s)", s.uri, *out.ETag, s.etag))
	}
	return out.Body, nil
}

// changedError is an ErrChanged that says what changed.
type changedError string

func (e changedError) Error() string        { return string(e) }
func (e changedError) Is(target error) bool { return target == ErrChanged }

// pause waits before the n-th resume in a row.
func (s *s3Source) pause(ctx context.Context, n int) error {
	return ctxsleep.Sleep(ctx, s.wait<<(n-1))
}

// s3Body is the object's bytes from an offset on, resumed with a new ranged
// GET from the current offset when the connection breaks.
type s3Body struct {
	s     *s3Source
	ctx   context.Context
	rc    io.ReadCloser
	off   int64 // offset of the next byte to return
	fails int   // resumes in a row without progress
	err   error // sticky
}

func (b *s3Body) connect() error {
	rc, err := b.s.get(b.ctx, b.off, -1)
	if err != nil {
		return err
	}
	b.rc = rc
	return nil
}

func (b *s3Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.off >= b.s.id.Size {
		return 0, io.EOF
	}
	for {
		if b.rc == nil {
			if err := b.connect(); err != nil {
				b.err = err
				return 0, err
			}
		}
		n, err := b.rc.Read(p)
		b.off += int64(n)
		if n > 0 {
			b.fails = 0
		}
		if err == nil || (err == io.EOF && b.off >= b.s.id.Size) {
			if err == io.EOF && n > 0 {
				err = nil // report io.EOF on the next call
			}
			return n, err
		}
		// The body broke off (or ended early): resume from b.off.
		b.rc.Close()
		b.rc = nil
		if cerr := b.ctx.Err(); cerr != nil {
			b.err = cerr
			return n, cerr
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if b.fails++; b.fails > s3MaxResumes {
			b.err = fmt.Errorf("read %s at byte %d: giving up after %d resumes: %w", b.s.uri, b.off, s3MaxResumes, err)
			return n, b.err
		}
		if n > 0 {
			return n, nil // resume on the next call
		}
		if perr := b.s.pause(b.ctx, b.fails); perr != nil {
			b.err = perr
			return 0, perr
		}
	}
}

func (b *s3Body) Close() error {
	if b.rc != nil {
		err := b.rc.Close()
		b.rc = nil
		return err
	}
	return nil
}

// ReaderAt returns random access to the object through ranged GETs bound
// to ctx. Small reads fetch a read-ahead block of s3ReadAhead bytes and are
// served from it while they fall inside; large reads go straight to S3.
func (s *s3Source) ReaderAt(ctx context.Context) io.ReaderAt { return &s3ReaderAt{s: s, ctx: ctx} }

type s3ReaderAt struct {
	s   *s3Source
	ctx context.Context
}

func (r *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s := r.s
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", s.uri, off)
	}
	if off >= s.id.Size {
		return 0, io.EOF
	}
	want := p[:min(int64(len(p)), s.id.Size-off)]
	var err error
	if len(want) >= s3ReadAhead {
		err = s.readRange(r.ctx, want, off)
	} else {
		err = s.readCached(r.ctx, want, off)
	}
	if err != nil {
		return 0, err
	}
	if len(want) < len(p) {
		return len(want), io.EOF
	}
	return len(want), nil
}

// readCached fills p from the read-ahead block, fetching the block that
// starts at off when p is not inside the current one.
func (s *s3Source) readCached(ctx context.Context, p []byte, off int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.block
	if off < b.off || off+int64(len(p)) > b.off+int64(len(b.data)) {
		n := min(int64(s3ReadAhead), s.id.Size-off)
		if int64(cap(b.data)) < n {
			b.data = make([]byte, n)
		}
		b.data = b.data[:n]
		if err := s.readRange(ctx, b.data, off); err != nil {
			b.data = b.data[:0]
			return err
		}
		b.off = off
	}
	copy(p, b.data[off-b.off:])
	return nil
}

// readRange fills p with the bytes at off, resuming a broken body from
// where it stopped.
func (s *s3Source) readRange(ctx context.Context, p []byte, off int64) error {
	got, fails := 0, 0
	for got < len(p) {
		rc, err := s.get(ctx, off+int64(got), off+int64(len(p))-1)
		if err != nil {
			return err
		}
		n, err := io.ReadFull(rc, p[got:])
		rc.Close()
		got += n
		if err == nil {
			break
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if n > 0 {
			fails = 0
		}
		if fails++; fails > s3MaxResumes {
			return fmt.Errorf("read %s at byte %d: giving up after %d resumes: %w", s.uri, off+int64(got), s3MaxResumes, err)
		}
		if err := s.pause(ctx, fails); err != nil {
			return err
		}
	}
	return nil
}

// expandS3 lists the objects a pattern names, as sorted s3:// URIs:
//   - s3://bucket/key: that object (not checked here; opening it is);
//   - s3://bucket/prefix/ or s3://bucket: every object under the prefix
//     but folder markers, as listTree keeps them for a local directory
//     (hidden names skipped at every level, tables refused);
//   - a key with glob characters (* ? [): the objects under the literal
//     prefix before the first of them whose key matches with path.Match, so
//     "*" stays within one "/"-separated level.
//
// A pattern that matches nothing gives an empty list and no error.
func expandS3(ctx context.Context, pattern string, opts S3Options) ([]string, error) {
	bucket, key, err := parseS3(pattern)
	if err != nil {
		return nil, err
	}
	if !s3IsPattern(key) {
		return []string{pattern}, nil
	}
	if _, err := path.Match(key, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	client, err := opts.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pattern, err)
	}
	return expandS3With(ctx, client, bucket, key, 0)
}

// s3IsPattern reports whether key names more than one object: a prefix or
// a glob.
func s3IsPattern(key string) bool {
	return key == "" || strings.HasSuffix(key, "/") || strings.ContainsAny(key, "*?[\\")
}

// expandS3With lists bucket through api. pageSize, when positive, caps
// the keys per ListObjectsV2 page (tests use it to exercise paging).
func expandS3With(ctx context.Context, api s3API, bucket, key string, pageSize int32) ([]string, error) {
	glob := strings.ContainsAny(key, "*?[\\")
	prefix := key
	if glob {
		prefix = key[:strings.IndexAny(key, "*?[\\")]
	}
	in := &s3.ListObjectsV2Input{Bucket: &bucket}
	if prefix != "" {
		in.Prefix = &prefix
	}
	if pageSize > 0 {
		in.MaxKeys = &pageSize
	}
	var out, rels []string
	pages := s3.NewListObjectsV2Paginator(api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			k := aws.ToString(obj.Key)
			if glob {
				if ok, _ := path.Match(key, k); ok {
					out = append(out, s3Scheme+bucket+"/"+k)
				}
			} else if !strings.HasSuffix(k, "/") {
				rels = append(rels, k[len(prefix):])
			}
		}
	}
	if !glob {
		kept, err := listTree(s3Scheme+bucket+"/"+prefix, rels)
		if err != nil {
			return nil, err
		}
		for _, rel := range kept {
			out = append(out, s3Scheme+bucket+"/"+prefix+rel)
		}
	}
	slices.Sort(out)
	return out, nil
}

package readers

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	pq "github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/readers/s3test"
)

// s3Request is what s3Spy saw of one request.
type s3Request struct {
	Method, Key, Range, IfMatch string
	List                        bool
}

// s3Spy wraps a transport: it records requests, counts body bytes, and cuts
// the bodies of GETs off after the numbers of bytes queued in cuts, the way
// a dropped connection does.
type s3Spy struct {
	base http.RoundTripper

	mu    sync.Mutex
	reqs  []s3Request
	cuts  []int64
	bytes int64
}

func (s *s3Spy) RoundTrip(req *http.Request) (*http.Response, error) {
	r := s3Request{
		Method:  req.Method,
		Key:     req.URL.Path,
		Range:   req.Header.Get("Range"),
		IfMatch: req.Header.Get("If-Match"),
		List:    req.URL.Query().Has("list-type"),
	}
	resp, err := s.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	cut := int64(-1)
	if r.Method == http.MethodGet && !r.List && len(s.cuts) > 0 && resp.StatusCode/100 == 2 {
		cut, s.cuts = s.cuts[0], s.cuts[1:]
	}
	resp.Body = &spyBody{rc: resp.Body, spy: s, left: cut}
	return resp, nil
}

func (s *s3Spy) gets() []s3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []s3Request
	for _, r := range s.reqs {
		if r.Method == http.MethodGet && !r.List {
			out = append(out, r)
		}
	}
	return out
}

func (s *s3Spy) reset(cuts ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs, s.cuts, s.bytes = nil, cuts, 0
}

func (s *s3Spy) bodyBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

var errConnReset = errors.New("read tcp 127.0.0.1: connection reset by peer (cut by the test)")

type spyBody struct {
	rc   io.ReadCloser
	spy  *s3Spy
	left int64 // bytes until the cut; -1 for none
}

func (b *spyBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, errConnReset
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	b.spy.mu.Lock()
	b.spy.bytes += int64(n)
	b.spy.mu.Unlock()
	return n, err
}

func (b *spyBody) Close() error { return b.rc.Close() }

// s3Env is an S3-compatible server with a bucket, and a client whose
// requests go through a spy.
type s3Env struct {
	name   string
	client *s3.Client
	spy    *s3Spy
	bucket string
	opts   S3Options // reaches the same server through NewS3Client
}

func newTestClient(url, access, secret string, spy *s3Spy) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(url),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(access, secret, ""),
		HTTPClient:                 &http.Client{Transport: spy},
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// fakeS3 starts gofakes3 in process, on loopback.
func fakeS3(t *testing.T) *s3Env {
	t.Helper()
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(ts.Close)
	spy := &s3Spy{base: http.DefaultTransport}
	env := &s3Env{name: "gofakes3", client: newTestClient(ts.URL, "test", "test", spy), spy: spy, bucket: "fake-bucket",
		opts: S3Options{Endpoint: ts.URL, PathStyle: true, Region: "us-east-1"}}
	_, err := env.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &env.bucket})
	require.NoError(t, err)
	setS3TestCredentials(t, "test", "test")
	return env
}

// realS3 uses the S3-compatible server s3test provides (versitygw).
func realS3(t *testing.T) *s3Env {
	t.Helper()
	ep := s3test.Server(t)
	spy := &s3Spy{base: http.DefaultTransport}
	env := &s3Env{name: "versitygw", client: newTestClient(ep.URL, ep.AccessKey, ep.SecretKey, spy), spy: spy,
		bucket: fmt.Sprintf("readers-%d", rand.Uint32()),
		opts:   S3Options{Endpoint: ep.URL, PathStyle: true, Region: ep.Region}}
	_, err := env.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &env.bucket})
	require.NoError(t, err)
	setS3TestCredentials(t, ep.AccessKey, ep.SecretKey)
	return env
}

// setS3TestCredentials points the SDK's default chain at static keys and
// away from anything on the machine (shared files, instance metadata).
func setS3TestCredentials(t *testing.T, access, secret string) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func (e *s3Env) put(t testing.TB, key string, data []byte) {
	t.Helper()
	_, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key, Body: bytes.NewReader(data)})
	require.NoError(t, err)
}

func (e *s3Env) uri(key string) string { return "s3://" + e.bucket + "/" + key }

func (e *s3Env) open(t testing.TB, key string) *s3Source {
	t.Helper()
	src, err := newS3Source(context.Background(), e.client, e.uri(key))
	require.NoError(t, err)
	src.wait = time.Millisecond
	return src
}

// s3Backends runs f against gofakes3 and against the real server.
func s3Backends(t *testing.T, f func(t *testing.T, env *s3Env)) {
	t.Run("gofakes3", func(t *testing.T) { f(t, fakeS3(t)) })
	t.Run("versitygw", func(t *testing.T) { f(t, realS3(t)) })
}

func testBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestS3SourceReads(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		data := testBytes(3<<20 + 123)
		env.put(t, "dir/data.bin", data)
		src := env.open(t, "dir/data.bin")
		assert.Equal(t, env.uri("dir/data.bin"), src.Name())
		assert.Equal(t, int64(len(data)), src.Identity().Size)
		assert.NotEmpty(t, src.Identity().ETag)
		assert.NotContains(t, src.Identity().ETag, `"`)

		for _, off := range []int64{0, 1, 1 << 20, int64(len(data)) - 1, int64(len(data))} {
			env.spy.reset()
			rc, err := src.OpenAt(ctx, off)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, data[off:], got, "from offset %d", off)
			if off < int64(len(data)) {
				gets := env.spy.gets()
				require.Len(t, gets, 1)
				assert.Equal(t, fmt.Sprintf("bytes=%d-", off), gets[0].Range)
				assert.Equal(t, `"`+src.Identity().ETag+`"`, gets[0].IfMatch)
			}
		}
		_, err := src.OpenAt(ctx, int64(len(data))+1)
		assert.ErrorIs(t, err, ErrChanged)

		ra := src.ReaderAt(ctx)
		env.spy.reset()
		// Small reads close together come from one read-ahead block.
		for _, off := range []int64{1000, 1004, 5000, 200_000} {
			p := make([]byte, 16)
			n, err := ra.ReadAt(p, off)
			require.NoError(t, err)
			assert.Equal(t, 16, n)
			assert.Equal(t, data[off:off+16], p)
		}
		assert.Len(t, env.spy.gets(), 1, "one read-ahead block")
		// A large read is one ranged GET of exactly its bytes.
		env.spy.reset()
		p := make([]byte, 1<<20)
		n, err := ra.ReadAt(p, 1<<20+5)
		require.NoError(t, err)
		assert.Equal(t, 1<<20, n)
		assert.Equal(t, data[1<<20+5:2<<20+5], p)
		require.Len(t, env.spy.gets(), 1)
		assert.Equal(t, fmt.Sprintf("bytes=%d-%d", 1<<20+5, 2<<20+4), env.spy.gets()[0].Range)
		// Past the end: what is there, and io.EOF.
		n, err = ra.ReadAt(make([]byte, 100), int64(len(data))-10)
		assert.Equal(t, 10, n)
		assert.ErrorIs(t, err, io.EOF)
		n, err = ra.ReadAt(make([]byte, 1), int64(len(data)))
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, io.EOF)
	})
}

// A connection dropped mid-object is resumed from the byte it reached, with
// a ranged GET pinned to the same ETag, and the bytes come out whole.
func TestS3ResumeAfterDroppedConnection(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		data := testBytes(2<<20 + 77)
		env.put(t, "big.csv", data)
		src := env.open(t, "big.csv")
		etag := `"` + src.Identity().ETag + `"`

		t.Run("stream", func(t *testing.T) {
			env.spy.reset(100_000, 0, 700_000) // cut, cut before a byte, cut again
			rc, err := src.OpenAt(ctx, 5)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			assert.Equal(t, data[5:], got)
			var ranges []string
			for _, r := range env.spy.gets() {
				ranges = append(ranges, r.Range)
				assert.Equal(t, etag, r.IfMatch)
			}
			assert.Equal(t, []string{"bytes=5-", "bytes=100005-", "bytes=100005-", "bytes=800005-"}, ranges)
		})
		t.Run("ranged read", func(t *testing.T) {
			env.spy.reset(300_000)
			p := make([]byte, 1<<20)
			_, err := src.ReaderAt(ctx).ReadAt(p, 1000)
			require.NoError(t, err)
			assert.Equal(t, data[1000:1000+1<<20], p)
			gets := env.spy.gets()
			require.Len(t, gets, 2)
			assert.Equal(t, fmt.Sprintf("bytes=1000-%d", 1000+1<<20-1), gets[0].Range)
			assert.Equal(t, fmt.Sprintf("bytes=301000-%d", 1000+1<<20-1), gets[1].Range)
		})
		t.Run("gives up", func(t *testing.T) {
			env.spy.reset(10, 0, 0, 0, 0, 0, 0, 0)
			rc, err := src.OpenAt(ctx, 0)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			assert.ErrorIs(t, err, errConnReset)
			assert.ErrorContains(t, err, "big.csv at byte 10")
			assert.Equal(t, data[:10], got)
			assert.Len(t, env.spy.gets(), 1+s3MaxResumes)
		})
	})
}

// An object overwritten after it was opened is refused, not mixed.
func TestS3ObjectReplaced(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		env.put(t, "x.csv", []byte("a,b\n1,2\n"))
		src := env.open(t, "x.csv")
		env.put(t, "x.csv", []byte("a,b\n3,4\n5,6\n"))
		_, err := src.OpenAt(ctx, 0)
		assert.ErrorIs(t, err, ErrChanged)
		_, err = src.ReaderAt(ctx).ReadAt(make([]byte, 4), 0)
		assert.ErrorIs(t, err, ErrChanged)
	})
}

func TestS3OpenErrors(t *testing.T) {
	env := fakeS3(t)
	ctx := context.Background()
	_, err := newS3Source(ctx, env.client, env.uri("missing.csv"))
	assert.ErrorContains(t, err, "open "+env.uri("missing.csv"))
	_, err = newS3Source(ctx, env.client, env.uri("prefix/"))
	assert.ErrorContains(t, err, "names a prefix")
	_, err = openS3(ctx, "s3:///key", Options{})
	assert.ErrorContains(t, err, "no bucket")
}

func TestExpandS3(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		keys := []string{
			"exports/2024-12/part-0.parquet",
			"exports/2025-01/part-0.parquet",
			"exports/2025-01/part-1.parquet",
			"exports/2025-01/_SUCCESS",
			"exports/2025-01/sub/part-9.parquet",
			"exports/2025-02/part-0.parquet",
			"exports/2025-02/.part-0.parquet.crc",
			"exports/readme.txt",
			"other/2025-01/part-0.parquet",
		}
		for _, k := range keys {
			env.put(t, k, []byte(k))
		}
		u := env.uri
		for _, c := range []struct {
			pattern string
			want    []string
		}{
			{"exports/2025-*/part-*.parquet", []string{u("exports/2025-01/part-0.parquet"), u("exports/2025-01/part-1.parquet"), u("exports/2025-02/part-0.parquet")}},
			{"exports/2025-0[2-9]/*", []string{u("exports/2025-02/.part-0.parquet.crc"), u("exports/2025-02/part-0.parquet")}},
			{"exports/", []string{u("exports/2024-12/part-0.parquet"), u("exports/2025-01/part-0.parquet"), u("exports/2025-01/part-1.parquet"),
				u("exports/2025-01/sub/part-9.parquet"), u("exports/2025-02/part-0.parquet"), u("exports/readme.txt")}},
			{"exports/2025-01/", []string{u("exports/2025-01/part-0.parquet"), u("exports/2025-01/part-1.parquet"), u("exports/2025-01/sub/part-9.parquet")}},
			{"*/2025-01/part-0.parquet", []string{u("exports/2025-01/part-0.parquet"), u("other/2025-01/part-0.parquet")}},
			{"exports/2026-*", nil},
			{"exports/readme.txt", []string{u("exports/readme.txt")}},
		} {
			got, err := expandS3(ctx, u(c.pattern), env.opts)
			require.NoError(t, err, c.pattern)
			assert.Equal(t, c.want, got, c.pattern)
		}
		got, err := expandS3(ctx, "s3://"+env.bucket, env.opts)
		require.NoError(t, err)
		assert.Len(t, got, 7, "the whole bucket, hidden files left out")

		// Paging: ListObjectsV2 pages of two keys give the same answer.
		env.spy.reset()
		paged, err := expandS3With(ctx, env.client, env.bucket, "exports/2025-*/part-*.parquet", 2)
		require.NoError(t, err)
		assert.Equal(t, []string{u("exports/2025-01/part-0.parquet"), u("exports/2025-01/part-1.parquet"), u("exports/2025-02/part-0.parquet")}, paged)
		lists := 0
		for _, r := range env.spy.reqs {
			if r.List {
				lists++
			}
		}
		assert.Greater(t, lists, 1, "listed in pages")

		_, err = expandS3(ctx, u("exports/[a-"), env.opts)
		assert.ErrorContains(t, err, "syntax error in pattern")
	})
}

// Parquet on S3: the footer, then only the row groups read, through a few
// ranged GETs, never the whole object at once.
func TestS3Parquet(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		const rows = 6000
		data := writeParquetGo(t, rows, pq.Compression(&pq.Snappy), pq.MaxRowsPerRowGroup(1000))
		env.put(t, "exports/p.parquet", data)

		env.spy.reset()
		src := env.open(t, "exports/p.parquet")
		r, err := newParquetReader(ctx, src, Options{})
		require.NoError(t, err)
		assert.Equal(t, Identity{Size: int64(len(data)), ETag: src.Identity().ETag}, r.Identity())
		recs := pqReadAll(t, r)
		require.Len(t, recs, rows)
		for _, i := range []int{0, 999, 1000, 5999} {
			_, want := pgRowAt(i)
			assert.Equal(t, want, pqDescribeAll(recs[i].Values))
		}
		gets := env.spy.gets()
		assert.LessOrEqual(t, len(gets), 1+6, "footer, then one GET per row group")
		assert.LessOrEqual(t, env.spy.bodyBytes(), int64(len(data))+s3ReadAhead)

		// Resuming in row group 4 skips the bytes of groups 0-3.
		env.spy.reset()
		src = env.open(t, "exports/p.parquet")
		r, err = newParquetReader(ctx, src, Options{Start: &recs[4321].Pos})
		require.NoError(t, err)
		rest := pqReadAll(t, r)
		require.Len(t, rest, rows-4321)
		_, want := pgRowAt(4321)
		assert.Equal(t, want, pqDescribeAll(rest[0].Values))
		assert.Less(t, env.spy.bodyBytes(), int64(len(data))/2)

		// Row groups too large to read in one piece are read column chunk
		// by column chunk, in buffered ranged GETs.
		env.spy.reset()
		src = env.open(t, "exports/p.parquet")
		r, err = newParquetReader(ctx, src, Options{})
		require.NoError(t, err)
		r.(*parquetReader).coalesce = 0
		recs = pqReadAll(t, r)
		require.Len(t, recs, rows)
		for _, i := range []int{0, 2500, 5999} {
			_, want := pgRowAt(i)
			assert.Equal(t, want, pqDescribeAll(recs[i].Values))
		}
		t.Logf("column chunk by column chunk: %d GETs, %d bytes of %d", len(env.spy.gets()), env.spy.bodyBytes(), len(data))
		assert.LessOrEqual(t, len(env.spy.gets()), 6*len(pgColumns)+1)

		// A connection dropped inside a row group read is resumed.
		env.spy.reset(0, 5000)
		src = env.open(t, "exports/p.parquet")
		r, err = newParquetReader(ctx, src, Options{})
		require.NoError(t, err)
		assert.Len(t, pqReadAll(t, r), rows)
	})
}

// Open reads s3:// inputs end to end through the SDK's default credential
// chain: Parquet, CSV and gzip'd CSV, and resumes a CSV by byte offset with a
// ranged GET.
func TestS3Open(t *testing.T) {
	s3Backends(t, func(t *testing.T, env *s3Env) {
		ctx := context.Background()
		opts := Options{Format: FormatAuto, S3: env.opts}
		env.put(t, "in/p.parquet", writeParquetGo(t, 2500, pq.MaxRowsPerRowGroup(1000)))
		var csv strings.Builder
		csv.WriteString("email,amount\n")
		for i := range 3000 {
			fmt.Fprintf(&csv, "u%d@example.com,%d.50\n", i, i)
		}
		env.put(t, "in/a.csv", []byte(csv.String()))
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(csv.String()))
		require.NoError(t, zw.Close())
		env.put(t, "in/b.csv.gz", zb.Bytes())

		uris, err := Expand(ctx, []string{env.uri("in/")}, env.opts)
		require.NoError(t, err)
		assert.Equal(t, []string{env.uri("in/a.csv"), env.uri("in/b.csv.gz"), env.uri("in/p.parquet")}, uris)

		r, err := Open(ctx, env.uri("in/p.parquet"), opts)
		require.NoError(t, err)
		assert.Len(t, pqReadAll(t, r), 2500)
		require.NoError(t, r.Close())

		for _, key := range []string{"in/a.csv", "in/b.csv.gz"} {
			r, err := Open(ctx, env.uri(key), opts)
			require.NoError(t, err, key)
			assert.Equal(t, []string{"email", "amount"}, r.Columns())
			recs := pqReadAll(t, r)
			require.Len(t, recs, 3000, key)
			assert.Equal(t, "u2999@example.com", recs[2999].Value(0).String())
			require.NoError(t, r.Close())

			// Resume at row 2000.
			r, err = Open(ctx, env.uri(key), Options{Format: FormatAuto, S3: env.opts, Start: &recs[2000].Pos})
			require.NoError(t, err, key)
			rest := pqReadAll(t, r)
			require.Len(t, rest, 1000, key)
			assert.Equal(t, "u2000@example.com", rest[0].Value(0).String())
			require.NoError(t, r.Close())
		}
	})
}

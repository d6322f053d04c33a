package readertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insider-import/insider-import/readers"
	"github.com/insider-import/insider-import/readers/s3test"
)

// Local is a directory on local disk.
type Local struct{ Dir string }

// NewLocal returns an Env in a temporary directory of t.
func NewLocal(t *testing.T) *Local { return &Local{Dir: t.TempDir()} }

func (l *Local) Put(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(l.Dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (l *Local) Options() readers.Options { return readers.Options{} }
func (l *Local) Replaceable() bool        { return false }

// S3 is a bucket on the S3-compatible server s3test provides (versitygw).
// Every GET body it serves breaks off after CutEvery bytes, as long reads
// over a real network do, so readers reconnect (and check the object's
// version) many times in one read.
type S3 struct {
	client *s3.Client
	bucket string
}

// CutEvery is how many bytes of a GET body S3 environments serve before
// the connection drops.
const CutEvery = 128 << 10

// NewS3 starts (or reuses) the S3-compatible server and makes a bucket.
func NewS3(t *testing.T) *S3 {
	t.Helper()
	ep := s3test.Server(t)
	client := s3.New(s3.Options{
		Region:                     ep.Region,
		BaseEndpoint:               aws.String(ep.URL),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
		HTTPClient:                 &http.Client{Transport: cutter{base: http.DefaultTransport}},
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	e := &S3{client: client, bucket: fmt.Sprintf("readertest-%d", rand.Uint32())}
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &e.bucket}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *S3) Put(t *testing.T, name string, data []byte) string {
	t.Helper()
	if _, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &name, Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	return "s3://" + e.bucket + "/" + name
}

func (e *S3) Options() readers.Options {
	return readers.Options{S3: readers.S3Options{Client: e.client}}
}

func (e *S3) Replaceable() bool { return true }

// cutter breaks GET bodies off after CutEvery bytes.
type cutter struct{ base http.RoundTripper }

func (c cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || req.URL.Query().Has("list-type") || resp.StatusCode/100 != 2 {
		return resp, err
	}
	resp.Body = &cutBody{rc: resp.Body, left: CutEvery}
	return resp, nil
}

var errCut = errors.New("connection reset by peer (cut by readertest)")

type cutBody struct {
	rc   io.ReadCloser
	left int
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errCut
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= n
	if b.left <= 0 && err == nil {
		err = errCut // the last bytes come with the break, as a reset does
	}
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

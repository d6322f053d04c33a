package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/insider-import/insider-import/readers"
)

// OpenOptions are what a store may need beyond its URI.
type OpenOptions struct {
	// S3 says how an s3:// store reaches S3 (region, endpoint, path
	// style), as the config's source.s3 does for inputs; credentials come
	// from the SDK's default chain, unless S3.Client is set.
	S3 readers.S3Options
}

// ErrBadURI matches (errors.Is) Open's error when the URI itself is wrong
// (an unknown scheme, an s3:// URI without a bucket), as opposed to a store
// that cannot be opened. The error's text is the problem alone.
var ErrBadURI = errors.New("bad checkpoint location")

type uriError struct{ err error }

func (e uriError) Error() string        { return e.err.Error() }
func (e uriError) Unwrap() error        { return e.err }
func (e uriError) Is(target error) bool { return target == ErrBadURI }

// opener opens the store of one scheme at uri.
type opener func(ctx context.Context, uri string, o OpenOptions) (Store, error)

// openers are the stores by URI scheme, in the manner of golang-migrate's
// source drivers; "" is a local directory (a path, or file://path).
var openers = map[string]opener{
	"":   openFile,
	"s3": openS3,
}

// Open opens the store at uri, chosen by its scheme: s3://bucket/prefix/
// for an S3 store (ParseS3URI), file://dir or a plain path for a local
// directory (NewFileStore). An unknown scheme or a malformed URI is an
// error matching ErrBadURI.
func Open(ctx context.Context, uri string, o OpenOptions) (Store, error) {
	scheme, _, ok := strings.Cut(uri, "://")
	if !ok {
		scheme = ""
	}
	if scheme == "file" {
		scheme = ""
	}
	open, known := openers[scheme]
	if !known {
		return nil, uriError{fmt.Errorf("checkpoint location %q: unknown scheme %q (use %s)", uri, scheme+"://", knownSchemes())}
	}
	return open(ctx, uri, o)
}

// LocalDir is the directory of a local store's URI (a plain path or
// file://dir); "" and false for any other scheme.
func LocalDir(uri string) (string, bool) {
	if dir, ok := strings.CutPrefix(uri, "file://"); ok {
		return dir, true
	}
	if strings.Contains(uri, "://") {
		return "", false
	}
	return uri, true
}

func knownSchemes() string {
	var s []string
	for k := range openers {
		if k != "" {
			s = append(s, k+"://")
		}
	}
	slices.Sort(s)
	return strings.Join(append(s, "file:// or a directory"), ", ")
}

func openFile(_ context.Context, uri string, _ OpenOptions) (Store, error) {
	dir, _ := LocalDir(uri)
	return NewFileStore(dir)
}

func openS3(ctx context.Context, uri string, o OpenOptions) (Store, error) {
	bucket, prefix, err := ParseS3URI(uri)
	if err != nil {
		return nil, uriError{err}
	}
	client := o.S3.Client
	if client == nil {
		if client, err = readers.NewS3Client(ctx, o.S3); err != nil {
			return nil, err
		}
	}
	return NewS3Store(ctx, client, bucket, prefix, S3StoreOptions{})
}

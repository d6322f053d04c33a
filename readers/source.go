package readers

import (
	"context"
	"io"
)

// source is one input's bytes, wherever they live. Local files and S3
// objects implement it; the format readers (CSV, Parquet) read through it.
type source interface {
	// Name is the input as given (path or s3:// URI), for messages.
	Name() string
	// Identity is the size and version of the input, taken when it was
	// opened.
	Identity() Identity
	// OpenAt returns the input's bytes from offset to the end. For S3 it is
	// a ranged GET that transparently resumes from the current offset when
	// the connection drops.
	OpenAt(ctx context.Context, offset int64) (io.ReadCloser, error)
	// ReaderAt gives random access for formats that need it (Parquet: the
	// footer first, then the row groups). Reads are ranged requests on S3,
	// never a download of the whole object.
	ReaderAt(ctx context.Context) io.ReaderAt
	// Close releases the source.
	Close() error
}

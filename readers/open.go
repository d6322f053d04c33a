package readers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Open opens one input for reading: a local path or an s3:// URI. The format
// is opts.Format, or with FormatAuto chosen by extension (.parquet is
// Parquet; everything else is CSV, gzip'd or not, told by its first bytes).
// With opts.Start set, reading resumes at that position.
func Open(ctx context.Context, uri string, opts Options) (Reader, error) {
	src, err := openSource(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	var r Reader
	switch FormatOf(uri, opts.Format) {
	case FormatParquet:
		r, err = newParquetReader(ctx, src, opts)
	default:
		r, err = newCSVReader(ctx, src, opts)
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	if opts.Stop != nil {
		r = &stopReader{Reader: r, stop: opts.Stop.Index}
	}
	return r, nil
}

// FormatOf returns the format an input is read as.
func FormatOf(uri string, f Format) Format {
	if f != "" && f != FormatAuto {
		return f
	}
	if strings.HasSuffix(strings.ToLower(uri), ".parquet") {
		return FormatParquet
	}
	return FormatCSV
}

// IsS3 reports whether uri names an S3 object or prefix.
func IsS3(uri string) bool { return strings.HasPrefix(uri, "s3://") }

// Expand turns the configured paths into the list of inputs: local globs
// are expanded, a local directory stands for the files in it, s3:// URIs
// may name an object, a prefix ending in "/" or a glob in the key. The
// result is sorted within each pattern and free of duplicates; a pattern
// that matches nothing is an error, so a typo is not a silent no-op.
func Expand(ctx context.Context, patterns []string, opts S3Options) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		var (
			matches []string
			err     error
		)
		if IsS3(p) {
			matches, err = expandS3(ctx, p, opts)
		} else {
			matches, err = expandLocal(p)
		}
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, &InputError{Input: p, Msg: "no input files match", Err: ErrNoMatch}
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

func expandLocal(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	var out []string
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() && !st.Mode().IsRegular() {
			return nil, notRegular(m, st.Mode())
		}
		if !st.IsDir() {
			out = append(out, m)
			continue
		}
		entries, err := os.ReadDir(m)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, filepath.Join(m, e.Name()))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Stat returns the identity of an input without reading any of its content:
// a stat for local files, a HEAD request for S3 objects.
func Stat(ctx context.Context, uri string, opts Options) (Identity, error) {
	src, err := openSource(ctx, uri, opts)
	if err != nil {
		return Identity{}, err
	}
	defer src.Close()
	return src.Identity(), nil
}

func openSource(ctx context.Context, uri string, opts Options) (source, error) {
	if IsS3(uri) {
		return openS3(ctx, uri, opts)
	}
	return openLocal(uri)
}

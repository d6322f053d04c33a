package readers

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoMatch is the cause of the *InputError Expand returns for a pattern
// that matches nothing.
var ErrNoMatch = errors.New("no input files match")

// ExpandKnown is Expand for a job that ran before: a pattern that matches
// nothing now is no error when it names one of known, the inputs an earlier
// run recorded (imported, then cleaned up). It is an error still when it
// names none of them: a typo is not a silent no-op.
func ExpandKnown(ctx context.Context, patterns []string, opts S3Options, known []string) ([]string, error) {
	files, err := Expand(ctx, patterns, opts)
	if !errors.Is(err, ErrNoMatch) || len(known) == 0 {
		return files, err
	}
	var keep []string
	for _, p := range patterns {
		_, err := Expand(ctx, []string{p}, opts)
		switch {
		case err == nil:
			keep = append(keep, p)
		case errors.Is(err, ErrNoMatch) && slices.ContainsFunc(known, func(f string) bool { return patternNames(p, f) }):
		default:
			return nil, err
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	return Expand(ctx, keep, opts)
}

// patternNames reports whether input f is one pattern p stands for: p
// itself, a file in directory p, an object under prefix p, or a match of
// the glob p.
func patternNames(p, f string) bool {
	switch {
	case p == f:
		return true
	case strings.HasSuffix(p, "/") && strings.HasPrefix(f, p):
		return true
	case !IsS3(p) && filepath.Dir(f) == filepath.Clean(p):
		return true
	}
	ok, _ := path.Match(p, f)
	return ok
}

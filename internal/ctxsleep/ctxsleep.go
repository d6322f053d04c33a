// Package ctxsleep holds the one sleep that ends early when its context
// does, for the retry waits of the delivery client, the profile client of
// verify, the S3 reader's resumes and the stand-in API's delays.
package ctxsleep

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done, and then returns ctx's error. A d of
// zero or less returns at once with ctx's error, if any.
func Sleep(ctx context.Context, d time.Duration) error { return SleepOr(ctx, d, nil) }

// SleepOr is Sleep that also ends, returning nil, once wake is closed (a
// nil wake never is).
func SleepOr(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	case <-wake:
		return nil
	}
}

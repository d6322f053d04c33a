package importer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// work delivers batches until the channel closes. Once ctx is done (a
// signal, a failure elsewhere, credentials refused) it starts nothing new:
// the batches left stay in flight and a resume sends them.
func (r *run) work(ctx context.Context, in <-chan *batch) error {
	for b := range in {
		if ctx.Err() != nil {
			continue
		}
		if err := r.deliver(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// deliver sends one batch, once a saved checkpoint lists it in flight, and
// hands its outcome to the commit stage. The request runs under r.wire, so
// a stop lets it finish within the grace period.
func (r *run) deliver(ctx context.Context, b *batch) error {
	if b.nUsers() == 0 {
		r.commit.Complete(b, outcome{})
		return nil
	}
	if r.opts.OnBatch != nil {
		r.opts.OnBatch(b.body)
	}
	if r.opts.DryRun {
		r.order.answered(b)
		r.commit.Complete(b, outcome{dryRun: true})
		return nil
	}
	if err := waitAfter(ctx, b); err != nil {
		return nil // stopping: not sent, it stays in flight
	}
	if err := r.commit.WaitDurable(ctx, b); err != nil {
		if ctx.Err() != nil {
			return nil // stopping: not sent, it stays in flight
		}
		return err
	}
	o, err := r.sendUsers(ctx, r.wire, b, 0, b.nUsers(), b.body)
	if err != nil {
		if errors.Is(err, ErrCredentials) {
			r.log.Error("Insider refused the credentials; stopping", "partner", r.cfg.Partner())
		}
		return err
	}
	r.order.answered(b)
	r.commit.Complete(b, o)
	return nil
}

// sendUsers sends users [i, j) of b. A 400 that says the request is too
// large splits it in two; another 400 rejects its users with the message.
func (r *run) sendUsers(stop, ctx context.Context, b *batch, i, j int, body []byte) (outcome, error) {
	resp, err := r.sender.send(stop, ctx, body)
	var ae *APIError
	if errors.As(err, &ae) && !ae.Temporary() && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusNotFound && ae.Status != http.StatusMethodNotAllowed {
		if j-i > 1 && (ae.Status == http.StatusRequestEntityTooLarge || tooLarge(ae.Msg)) {
			mid := (i + j) / 2
			bt := newBatcher(r.cfg, b.file)
			a, err := r.sendUsers(stop, ctx, b, i, mid, bt.subBody(b, i, mid))
			if err != nil {
				return a, err
			}
			c, err := r.sendUsers(stop, ctx, b, mid, j, bt.subBody(b, mid, j))
			if err != nil {
				return c, err
			}
			for k, v := range c.failed {
				if a.failed == nil {
					a.failed = map[int][]string{}
				}
				a.failed[k] = v
			}
			return a, nil
		}
		r.log.Warn("Insider refused a request; its users are rejected", "file", b.file, "rows", fmt.Sprintf("%d-%d", b.start.Row(), b.end.Index), "error", ae.Error())
		o := outcome{failed: map[int][]string{}}
		for k := i; k < j; k++ {
			o.failed[k] = []string{ae.Error()}
		}
		return o, nil
	}
	if err != nil {
		return outcome{}, fmt.Errorf("%s rows %d-%d: %w", b.file, b.start.Row(), b.end.Index, err)
	}
	failed, err := failedUsers(resp.Data.Fail, j-i)
	if err != nil {
		return outcome{}, fmt.Errorf("%s rows %d-%d: %w", b.file, b.start.Row(), b.end.Index, err)
	}
	o := outcome{}
	if len(failed) > 0 {
		o.failed = make(map[int][]string, len(failed))
		for k, v := range failed {
			o.failed[i+k] = v
		}
	}
	return o, nil
}

func tooLarge(msg string) bool {
	for _, s := range []string{"too large", "too big", "size", "exceed", "maximum", "at most", "1000"} {
		if containsFold(msg, s) {
			return true
		}
	}
	return false
}

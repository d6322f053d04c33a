package importer

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
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
// hands its outcome to the commit stage. A request on the wire when the run
// stops gets the grace period (sender.wire).
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
		freeBody(&r.bodies, b)
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
	o, err := r.sendUsers(ctx, b)
	if err != nil {
		if errors.Is(err, ErrCredentials) {
			r.log.Error("Insider refused the credentials; stopping", "partner", r.cfg.Partner())
		}
		return err
	}
	r.order.answered(b)
	r.commit.Complete(b, o)
	freeBody(&r.bodies, b)
	return nil
}

// sendUsers delivers b and says what became of each user. A request too
// large for Insider is split in two; a 400 about the content is bisected,
// within a budget, until the users it is about are alone and rejected with
// Insider's message, and the others are delivered.
func (r *run) sendUsers(ctx context.Context, b *batch) (outcome, error) {
	d := &bisection{r: r, b: b, bt: newBatcher(r.cfg), budget: bisectBudget(b.nUsers()), o: outcome{failed: map[int][]string{}}}
	if err := d.send(ctx, 0, b.nUsers(), b.body); err != nil {
		return outcome{}, fmt.Errorf("%s: %w", d.what(0, b.nUsers()), err)
	}
	if d.refused != nil && !d.anyOK && b.nUsers() > 1 && r.sender.delivered.Load() == 0 {
		// Every user of the run's first batches refused alike: a mapping or
		// account problem, not bad rows. Stop rather than reject everything.
		return outcome{}, fmt.Errorf("%w: %s: %v", ErrRefused, d.what(0, b.nUsers()), d.refused)
	}
	return d.o, nil
}

// bisectBudget is how many extra requests a batch of n users may spend on
// bisecting 400s: 2·⌈log2 n⌉+1, enough to isolate one bad user.
func bisectBudget(n int) int {
	return 2*bits.Len(uint(max(n, 1)-1)) + 1
}

// bisection is the delivery of one batch, split and bisected as its answers
// require.
type bisection struct {
	r       *run
	b       *batch
	bt      *batcher
	budget  int
	o       outcome
	anyOK   bool
	refused error // the first 400 about content
}

func (d *bisection) what(i, j int) string {
	s := fmt.Sprintf("%s rows %d-%d", d.b.file, d.b.start.Row(), d.b.end.Index)
	if last := d.b.segs[len(d.b.segs)-1]; len(d.b.segs) > 1 {
		s = fmt.Sprintf("%s row %d to %s row %d (%d files)", d.b.file, d.b.start.Row(), last.file, last.end.Index, len(d.b.segs))
	}
	if n := d.b.nUsers(); j-i < n {
		s += fmt.Sprintf(" (users %d-%d of %d)", i+1, j, n)
	}
	return s
}

func (d *bisection) send(ctx context.Context, i, j int, body []byte) error {
	if body == nil {
		body = d.bt.subBody(d.b, i, j)
	}
	v, err := d.r.sender.send(ctx, body, j-i, d.what(i, j))
	if err != nil {
		return err
	}
	switch v.kind {
	case vOK:
		d.anyOK = true
		for k, msgs := range v.failed {
			d.o.failed[i+k] = msgs
		}
		return nil
	case vRejectUsers:
		if d.refused == nil {
			d.refused = v.err
		}
		if j-i > 1 && d.budget >= 2 {
			d.budget -= 2
			break
		}
		msg := v.err.Error()
		if j-i > 1 {
			msg += " (the batch's bisection budget is spent: these users were not tried one by one)"
		}
		d.r.log.Warn("Insider refused users; they are rejected", "rows", d.what(i, j), "error", msg)
		for k := i; k < j; k++ {
			d.o.failed[k] = []string{msg}
		}
		return nil
	case vSplit:
		if j-i == 1 {
			d.r.log.Warn("Insider refused a user as too large; it is rejected", "rows", d.what(i, j), "error", v.err.Error())
			d.o.failed[i] = []string{v.err.Error()}
			return nil
		}
	}
	mid := (i + j) / 2
	if err := d.send(ctx, i, mid, nil); err != nil {
		return err
	}
	return d.send(ctx, mid, j, nil)
}

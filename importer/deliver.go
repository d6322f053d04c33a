package importer

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"sync/atomic"

	"github.com/insider-import/insider-import/importer/batch"
	"github.com/insider-import/insider-import/importer/delivery"
)

// ErrCredentials is returned when the API refuses the partner name or key
// (401/403). The run stops at once: nothing more is sent.
var ErrCredentials = delivery.ErrCredentials

// ErrRefused is returned when Insider refuses the run's first users, not a
// few rows: the users it refused one by one (400) outnumber those
// delivered, or it answers 413 to a single user before any was delivered
// (see sendUsers). Nothing is marked rejected; fix and run again.
var ErrRefused = errors.New("Insider refuses the run's users, not a few rows")

// sender is the run's delivery client with the bisection's counters.
type sender struct {
	*delivery.Client
	// The client's totals, under the names the report and progress read.
	requests, retries, throttled, bytesSent *atomic.Int64
	// For bisection (see sendUsers): users delivered and refused alone,
	// extra requests spent bisecting 400s, single users answered 413.
	usersOK, usersBad, bisected, tooLarge atomic.Int64
}

func newSender(cfg *Config, key string, client *http.Client, rps float64, log func(string, ...any)) *sender {
	c := delivery.NewClient(delivery.Settings{
		Endpoint: cfg.Insider.Endpoint, Partner: cfg.Partner(), Timeout: cfg.Delivery.Timeout,
		MaxAttempts: cfg.Delivery.MaxAttempts, GiveUpAfter: cfg.Delivery.GiveUpAfter, Conns: cfg.Delivery.Workers,
	}, key, client, rps, log)
	n := c.Counters()
	return &sender{Client: c, requests: &n.Requests, retries: &n.Retries, throttled: &n.Throttled, bytesSent: &n.BytesSent}
}

// work delivers batches until the channel closes. Once ctx is done (a
// signal, a failure elsewhere, credentials refused) it starts nothing new:
// the batches left stay in flight and a resume sends them.
func (r *run) work(ctx context.Context, in <-chan *batch.Batch) error {
	for b := range in {
		r.queued.Release(queueWeight(b))
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
// stops gets the grace period (delivery.Client.SetWire).
func (r *run) deliver(ctx context.Context, b *batch.Batch) error {
	if b.NUsers() == 0 {
		r.commit.Complete(b.Range(), batch.Account(b, batch.Outcome{}))
		return nil
	}
	if r.opts.OnBatch != nil {
		r.opts.OnBatch(b.Body())
	}
	if r.opts.DryRun {
		r.order.Answered(b)
		r.commit.Complete(b.Range(), batch.Account(b, batch.Outcome{DryRun: true}))
		b.Retire(&r.bodies)
		return nil
	}
	if err := batch.WaitAfter(ctx, b); err != nil {
		return nil // stopping: not sent, it stays in flight
	}
	if err := r.commit.WaitDurable(ctx, b.Range()); err != nil {
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
	r.order.Answered(b)
	r.commit.Complete(b.Range(), batch.Account(b, o))
	b.Retire(&r.bodies)
	return nil
}

// sendUsers delivers b and says what became of each user. A request too
// large for Insider is split in two; a 400 about the content is bisected,
// in halves and halves of halves, until every user it is about is alone and
// rejected with Insider's message, and every other user is delivered.
//
// No batch has a budget of its own: k bad users among n cost at most
// 2·k·⌈log2 n⌉ extra requests (the halves on the path from the batch to
// each of them), and that, with a path in progress per worker, is the
// run's bound (bisectBound): a 400 that
// splitting does not pin on users (it went away in both halves) is not
// bisected past it, and its users are rejected together. Two answers stop
// the run instead (ErrRefused, exit 2), before anything is marked
// rejected: users refused alone that outnumber the users delivered (3 at
// least: the mapping or the account is wrong, not a few rows), and a 413 to
// a single user, twice, before any user was delivered (the endpoint refuses
// every request, however small).
func (r *run) sendUsers(ctx context.Context, b *batch.Batch) (batch.Outcome, error) {
	d := &bisection{r: r, b: b, o: batch.Outcome{Failed: map[int][]string{}}}
	if err := d.send(ctx, 0, b.NUsers(), b.Body()); err != nil {
		return batch.Outcome{}, fmt.Errorf("%s: %w", b.What(0, b.NUsers()), err)
	}
	return d.o, nil
}

// bisectBound is how many extra requests the run's bisections may have
// spent once bad users were found alone: 2·(bad+workers)·⌈log2 n⌉, the
// paths to them and to the next one of each worker, n the largest batch.
func bisectBound(bad int64, workers, n int) int64 {
	return 2 * (bad + int64(max(workers, 1))) * int64(bits.Len(uint(max(n, 2)-1)))
}

// bisection is the delivery of one batch, split and bisected as its answers
// require.
type bisection struct {
	r *run
	b *batch.Batch
	o batch.Outcome
}

func (d *bisection) send(ctx context.Context, i, j int, body []byte) error {
	if body == nil {
		body = d.b.SubBody(i, j)
	}
	s := d.r.sender
	v, err := s.Send(ctx, body, j-i, d.b.What(i, j))
	if err != nil {
		return err
	}
	switch v.Kind {
	case delivery.OK:
		s.usersOK.Add(int64(j - i - len(v.Failed)))
		for k, msgs := range v.Failed {
			d.o.Failed[i+k] = msgs
		}
		return nil
	case delivery.RejectUsers:
		msg := v.Err.Error()
		if j-i == 1 {
			if bad, ok := s.usersBad.Add(1), s.usersOK.Load(); bad >= 3 && bad > ok {
				return fmt.Errorf("%w: %d users refused one by one with a 400 and %d delivered: the mapping or the account is wrong, not a few rows (check the mapping and insider.partner); nothing was marked rejected, fix and run again: %s",
					ErrRefused, bad, ok, msg)
			}
		} else if s.bisected.Load()+2 <= bisectBound(s.usersBad.Load(), d.r.cfg.Delivery.Workers, max(d.r.cfg.Delivery.BatchUsers, d.b.NUsers())) {
			s.bisected.Add(2)
			break
		} else {
			msg += " (not bisected further: the 400s of this run did not come down to single users within 2·⌈log2 n⌉ requests a bad user)"
		}
		d.r.log.Warn("Insider refused users; they are rejected", "rows", d.b.What(i, j), "error", msg)
		for k := i; k < j; k++ {
			d.o.Failed[k] = []string{msg}
		}
		return nil
	case delivery.Split:
		if j-i == 1 {
			if s.usersOK.Load() == 0 && s.tooLarge.Add(1) >= 2 {
				return fmt.Errorf("%w: the endpoint answers 413 (too large) to a request of a single user, again, and no user was delivered: it refuses every request, however small (check insider.endpoint, and the body size limit of any proxy before it): %v", ErrRefused, v.Err)
			}
			msg := "too large: " + v.Err.Error()
			d.r.log.Warn("Insider refused a user as too large; it is rejected", "rows", d.b.What(i, j), "error", msg)
			d.o.Failed[i] = []string{msg}
			return nil
		}
	}
	mid := (i + j) / 2
	if err := d.send(ctx, i, mid, nil); err != nil {
		return err
	}
	return d.send(ctx, mid, j, nil)
}

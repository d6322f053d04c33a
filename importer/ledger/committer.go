package ledger

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/readers"
)

// Committer is the commit stage, the only owner of what the checkpoint
// says: the ranges in flight, acknowledged and rejected (its ledger), the
// write-ahead rule and the saves. Producers Dispatch ranges, workers
// WaitDurable before sending and Complete them with their outcome; Run, one
// goroutine, saves every interval (and at once when a worker waits), writes
// the rejects of answered ranges first, and reads again, in one forward
// pass per file, the cells of users Insider refused; Close is the final
// save.
//
// Write-ahead: a batch is sent only after a saved checkpoint lists it as in
// flight, so after a crash every re-sent batch is one that was in flight,
// never one acknowledged after the last periodic save. A batch with rejects
// stays in flight until they are written, so a saved checkpoint never
// counts a row whose reject line is missing.
type Committer struct {
	ledger  *ledger
	tally   *Tally
	store   checkpoint.Store // nil: nothing is saved (dry run, no store)
	rejects *rejects.Writer
	opts    Options

	kick     chan struct{}
	waiting  atomic.Int32  // how many workers wait in WaitDurable
	dead     chan struct{} // closed when Run failed; err says why
	err      error
	lastSave time.Time // only Run (then Close) touches it
	refill   map[string]*refiller

	mu       sync.Mutex
	savedGen int64
	savedCh  chan struct{} // closed and replaced after each save
	pending  []answered
}

// Options are a Committer's settings and the hooks it calls.
type Options struct {
	Job      string        // the checkpoint's job
	Where    string        // the store, for messages
	Interval time.Duration // between saves
	Workers  int           // how many may wait in WaitDurable at once
	// Tally counts rejects by reason and applies the reject limit; nil
	// counts nothing.
	Tally *Tally
	Now   func() time.Time // for the checkpoint's times; nil: time.Now
	// Progress, if set, is called every progressEvery (Run) and at Close.
	Progress func()
	// Log, if set, warns (a rejected row's cells could not be read again).
	Log func(msg string, args ...any)
	// Open opens file at a position, to read again the cells of rows
	// Insider rejected (Row.Refill).
	Open func(ctx context.Context, file string, at readers.Position) (readers.Reader, error)
	// FileDone, if set, learns of each file this run finishes, once.
	FileDone func(file string, fs *checkpoint.FileState)
}

// answered is an answered range whose rejects are not written yet.
type answered struct {
	r      *Range
	o      Outcome
	refill bool // some rejected rows gave up their cells (Row.Released)
}

// keepAlive is how often the checkpoint is written even when nothing
// changed, so that a lease on it (S3 store) never lapses during a long
// stall such as heavy throttling.
const keepAlive = 30 * time.Second

// minSaveGap is the least time between two saves that workers asked for.
// It delays a request by at most that long, next to the API's own
// latency of tens of milliseconds.
const minSaveGap = 10 * time.Millisecond

// NewCommitter returns the commit stage for st, the checkpoint the run
// starts from (its archive already dropped: st.Archived is what the
// Committer archives from now on). It saves to store (nil: nothing is
// saved; finished files are then forgotten at once) and writes rejects to
// rw (nil: none are written).
func NewCommitter(st checkpoint.State, store checkpoint.Store, rw *rejects.Writer, opts Options) *Committer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Progress == nil {
		opts.Progress = func() {}
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	l := newLedger(st, rw, opts.Now)
	l.done = opts.FileDone
	l.forgetFinished = store == nil // nothing saves them
	return &Committer{ledger: l, tally: opts.Tally, store: store, rejects: rw, opts: opts,
		kick: make(chan struct{}, 1), dead: make(chan struct{}), savedCh: make(chan struct{}), refill: map[string]*refiller{}}
}

// Begin starts (or resumes) file and returns its state and the ranges an
// earlier run recorded beyond the frontier, in input order: finished ones
// to skip, in-flight ones to rebuild. A file started now gets its frontier
// at from: the start of the file, or of this shard's part of it.
func (c *Committer) Begin(file string, id readers.Identity, ref time.Time, from readers.Position) (*checkpoint.FileState, []Recorded) {
	return c.ledger.begin(file, id, ref, from)
}

// Unreadable records that reading file stopped on a fatal error (why): a
// run after it is fixed resumes it.
func (c *Committer) Unreadable(file, why string) { c.ledger.unreadable(file, why) }

// Dispatch records that r is about to be sent: from now on a checkpoint
// lists it as in flight. It starts a save (spaced by minSaveGap), so the
// write is under way while r waits for a worker.
func (c *Committer) Dispatch(r *Range) {
	c.ledger.dispatch(r)
	if c.store != nil {
		c.kickSave()
	}
}

// kickSave asks Run for a save without waiting.
func (c *Committer) kickSave() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// FinishFile records that file was read to its end, at end.
func (c *Committer) FinishFile(file string, end readers.Position) { c.ledger.finishFile(file, end) }

// Totals returns the counts of the ranges finished so far.
func (c *Committer) Totals() Counts { return c.ledger.totals() }

// Unfinished calls f for each file the checkpoint records as not finished.
func (c *Committer) Unfinished(f func(file string, fs *checkpoint.FileState)) {
	c.ledger.unfinished(f)
}

// Complete records r's outcome. A range without rejects is finished at
// once; one with rejects waits for Run to write them.
func (c *Committer) Complete(r *Range, o Outcome) {
	a := answered{r: r, o: o}
	some := false
	for _, so := range o.Segs {
		for _, rr := range so.Rejects {
			some = true
			a.refill = a.refill || rr.Row.Released()
		}
	}
	if !some {
		_ = c.ledger.finish(r, o)
		return
	}
	c.ledger.answered(r)
	c.mu.Lock()
	c.pending = append(c.pending, a)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// WaitDurable returns once a saved checkpoint lists r in flight. Saves are
// shared: workers waiting together are served by one write. It returns
// ctx's error once the run stops, and the save's error if saving failed.
func (c *Committer) WaitDurable(ctx context.Context, r *Range) error {
	if c.store == nil {
		return nil
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	for {
		c.mu.Lock()
		saved, ch := c.savedGen, c.savedCh
		c.mu.Unlock()
		if saved >= r.gen {
			return nil
		}
		c.kickSave()
		select {
		case <-ch:
		case <-c.dead:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run saves every interval, and at once when kicked, until senders is
// closed (every worker has returned); it also reports progress. A save
// that fails ends it with an error naming the store, which stops the run:
// no new request starts, those in flight finish within the grace period.
// ctx only cancels reading cells again for rejects (a signal).
func (c *Committer) Run(ctx context.Context, senders <-chan struct{}, progressEvery time.Duration) error {
	tick := time.NewTicker(c.opts.Interval)
	defer tick.Stop()
	prog := time.NewTicker(progressEvery)
	defer prog.Stop()
	for {
		select {
		case <-senders:
			return nil
		case <-prog.C:
			c.opts.Progress()
			continue
		case <-tick.C:
		case <-c.kick:
			if !c.gather(senders) {
				return nil
			}
		}
		if err := c.step(ctx, false); err != nil {
			c.err = err
			close(c.dead)
			return err
		}
	}
}

// gather spaces the saves that dispatches and waiting workers ask for:
// the batches dispatched meanwhile share the write, many per save instead
// of about one (each save is two fsyncs). It waits until minSaveGap has passed since the last
// save or until every worker waits for one (nothing is gained by waiting
// longer), and returns false if the workers are gone.
func (c *Committer) gather(senders <-chan struct{}) bool {
	wait := minSaveGap - time.Since(c.lastSave)
	if wait <= 0 || int(c.waiting.Load()) >= c.opts.Workers {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-c.kick:
			if int(c.waiting.Load()) >= c.opts.Workers {
				return true
			}
		case <-senders:
			return false
		}
	}
}

// Close settles every answered batch, saves for the last time and closes
// the rejects files. After a failed Run it still tries: the error is
// returned again only if it recurs.
func (c *Committer) Close(ctx context.Context) error {
	c.opts.Progress()
	err := c.settle(ctx, true)
	if c.rejects != nil && err == nil {
		// Once flushed, the save records that the rejects files end at
		// their lengths (a resume then truncates nothing).
		err = c.rejects.Seal()
	}
	if serr := c.save(); err == nil {
		err = serr
	}
	for _, rf := range c.refill {
		rf.close()
	}
	if c.rejects != nil {
		if cerr := c.rejects.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (c *Committer) step(ctx context.Context, final bool) error {
	if err := c.settle(ctx, final); err != nil {
		return err
	}
	return c.save()
}

// settle writes the rejects of answered batches and finishes them. Cells of
// rows Insider refused are read again first, in input order, only up to
// where every earlier batch of the file is answered, so each file is read
// again at most once, forward (unless final: then everything left).
func (c *Committer) settle(ctx context.Context, final bool) error {
	c.mu.Lock()
	all := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b answered) int {
		return cmp.Or(cmp.Compare(a.file(), b.file()), cmp.Compare(a.r.Segs[0].Start.Index, b.r.Segs[0].Start.Index))
	})
	var keep []answered
	var err error
	for i := 0; i < len(all); {
		file := all[i].file()
		j := i
		for j < len(all) && all[j].file() == file {
			j++
		}
		ready := all[i:j]
		if !final {
			// Rejects are written only for batches a saved checkpoint
			// lists (it records where this run's rejects start), and
			// re-read cells only behind every unanswered batch.
			c.mu.Lock()
			saved := c.savedGen
			c.mu.Unlock()
			upTo := c.ledger.settledBefore(file)
			k := 0
			for k < len(ready) && (c.store == nil || ready[k].r.gen <= saved) && (!ready[k].refill || ready[k].r.Segs[0].Start.Index < upTo) {
				k++
			}
			keep = append(keep, ready[k:]...)
			ready = ready[:k]
		}
		if e := c.finish(ctx, file, ready); e != nil && err == nil {
			err = e
		}
		i = j
	}
	c.mu.Lock()
	c.pending = append(c.pending, keep...)
	c.mu.Unlock()
	return err
}

// file is the first file of a's range.
func (a answered) file() string { return a.r.Segs[0].File }

// finish reads again the cells the ranges of file need, writes their
// rejects and finishes them. A range that spans files has its rows read
// again from each file.
func (c *Committer) finish(ctx context.Context, file string, ready []answered) error {
	rows := map[string][]*Reject{}
	var files []string
	for _, a := range ready {
		if !a.refill {
			continue
		}
		for i, so := range a.o.Segs {
			f := a.r.Segs[i].File
			for k := range so.Rejects {
				if rr := &so.Rejects[k]; rr.Row.Released() {
					if rows[f] == nil {
						files = append(files, f)
					}
					rows[f] = append(rows[f], rr)
				}
			}
		}
	}
	for _, f := range files {
		c.refiller(f, file).fill(ctx, rows[f])
	}
	for _, a := range ready {
		if err := c.ledger.finish(a.r, a.o); err != nil {
			return err
		}
		for i := range a.o.Segs {
			if err := c.tally.late(a.o.Segs[i].Rejects); err != nil {
				return err
			}
		}
	}
	return nil
}

// refiller returns the reader of rejected rows' cells for f, opening one
// if needed; few are kept open (files are read in order), file's among
// them.
func (c *Committer) refiller(f, file string) *refiller {
	rf := c.refill[f]
	if rf == nil {
		if len(c.refill) >= maxRefillers {
			for name, old := range c.refill {
				if name != file {
					old.close()
					delete(c.refill, name)
				}
			}
		}
		rf = &refiller{file: f, open: c.opts.Open, log: c.opts.Log}
		c.refill[f] = rf
	}
	return rf
}

// maxRefillers is how many inputs are kept open for reading rejected rows
// again (see refiller).
const maxRefillers = 4

// save writes the checkpoint: rejects are flushed first, so a saved
// frontier never covers a reject line that was not written.
func (c *Committer) save() error {
	if c.store == nil {
		return nil
	}
	st, dirty, gen := c.ledger.snapshot()
	if !dirty && time.Since(c.lastSave) < keepAlive {
		return nil
	}
	if c.rejects != nil {
		if err := c.rejects.Flush(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.store.Save(ctx, c.opts.Job, st); err != nil {
		return fmt.Errorf("saving the checkpoint to %s: %w", c.opts.Where, err)
	}
	c.ledger.archived(len(st.Archived))
	c.lastSave = time.Now()
	c.mu.Lock()
	if gen > c.savedGen {
		c.savedGen = gen
		close(c.savedCh)
		c.savedCh = make(chan struct{})
	}
	c.mu.Unlock()
	return nil
}

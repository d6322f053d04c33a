package importer

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

// commit is the commit stage, the only owner of what the checkpoint says:
// the ranges in flight, acknowledged and rejected (its ledger), the
// write-ahead rule and the saves. Producers Dispatch batches, workers
// WaitDurable before sending and Complete them with their outcome; Run, one
// goroutine, saves every interval (and at once when a worker waits), writes
// the rejects of answered batches first, and reads again, in one forward
// pass per file, the cells of users Insider refused; Close is the final save.
//
// Write-ahead: a batch is sent only after a saved checkpoint lists it as in
// flight, so after a crash every re-sent batch is one that was in flight,
// never one acknowledged after the last periodic save. A batch with rejects
// stays in flight until they are written, so a saved checkpoint never
// counts a row whose reject line is missing.
type commit struct {
	ledger   *ledger
	tally    *rejectTally
	store    checkpoint.Store // nil: nothing is saved (dry run, no store)
	where    string           // the store, for messages
	job      string
	rejects  *rejects.Writer
	interval time.Duration
	progress func()
	log      func(msg string, args ...any)
	open     func(ctx context.Context, file string, at readers.Position) (readers.Reader, error)

	kick     chan struct{}
	workers  int           // how many may wait in WaitDurable at once
	waiting  atomic.Int32  // how many do
	dead     chan struct{} // closed when Run failed; err says why
	err      error
	lastSave time.Time // only Run (then Close) touches it
	refill   map[string]*refiller

	mu       sync.Mutex
	savedGen int64
	savedCh  chan struct{} // closed and replaced after each save
	pending  []answeredBatch
}

// answeredBatch is an answered batch whose rejects are not written yet.
type answeredBatch struct {
	b       *batch
	c       Counts
	rejects []rejectRecord
	refill  bool // some rejected rows gave up their cells (batcher.place)
}

// keepAlive is how often the checkpoint is written even when nothing
// changed, so that a lease on it (S3 store) never lapses during a long
// stall such as heavy throttling.
const keepAlive = 30 * time.Second

// minSaveGap is the least time between two saves that workers asked for.
// It delays a request by at most that long, next to the API's own
// latency of tens of milliseconds.
const minSaveGap = 10 * time.Millisecond

func newCommit(l *ledger, tally *rejectTally) *commit {
	return &commit{ledger: l, tally: tally, kick: make(chan struct{}, 1), dead: make(chan struct{}),
		savedCh: make(chan struct{}), refill: map[string]*refiller{}}
}

// Begin starts (or resumes) a file; see ledger.begin.
func (c *commit) Begin(file string, id readers.Identity, ref time.Time, from readers.Position) (*checkpoint.FileState, []entry) {
	return c.ledger.begin(file, id, ref, from)
}

// Dispatch records that b is about to be sent: from now on a checkpoint
// lists it as in flight.
func (c *commit) Dispatch(b *batch) { c.ledger.dispatch(b) }

// FinishFile records that file was read to its end, at end.
func (c *commit) FinishFile(file string, end readers.Position) { c.ledger.finishFile(file, end) }

// Complete records b's outcome. A batch without rejects is finished at
// once; one with rejects waits for Run to write them.
func (c *commit) Complete(b *batch, o outcome) {
	counts, rejects := account(b, o)
	if len(rejects) == 0 {
		_ = c.ledger.finish(b, counts, nil)
		return
	}
	a := answeredBatch{b: b, c: counts, rejects: rejects}
	for _, rr := range rejects {
		a.refill = a.refill || rr.row.src.Len() == 0
	}
	c.ledger.answered(b)
	c.mu.Lock()
	c.pending = append(c.pending, a)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// WaitDurable returns once a saved checkpoint lists b in flight. Saves are
// shared: workers waiting together are served by one write. It returns
// ctx's error once the run stops, and the save's error if saving failed.
func (c *commit) WaitDurable(ctx context.Context, b *batch) error {
	if c.store == nil {
		return nil
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	for {
		c.mu.Lock()
		saved, ch := c.savedGen, c.savedCh
		c.mu.Unlock()
		if saved >= b.gen {
			return nil
		}
		select {
		case c.kick <- struct{}{}:
		default:
		}
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
func (c *commit) Run(ctx context.Context, senders <-chan struct{}, progressEvery time.Duration) error {
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	prog := time.NewTicker(progressEvery)
	defer prog.Stop()
	for {
		select {
		case <-senders:
			return nil
		case <-prog.C:
			c.progress()
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

// gather spaces the saves workers ask for: the batches dispatched
// meanwhile share the write, a few per save instead of about one (each
// save is two fsyncs). It waits until minSaveGap has passed since the last
// save or until every worker waits for one (nothing is gained by waiting
// longer), and returns false if the workers are gone.
func (c *commit) gather(senders <-chan struct{}) bool {
	wait := minSaveGap - time.Since(c.lastSave)
	if wait <= 0 || int(c.waiting.Load()) >= c.workers {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-c.kick:
			if int(c.waiting.Load()) >= c.workers {
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
func (c *commit) Close(ctx context.Context) error {
	c.progress()
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

func (c *commit) step(ctx context.Context, final bool) error {
	if err := c.settle(ctx, final); err != nil {
		return err
	}
	return c.save()
}

// settle writes the rejects of answered batches and finishes them. Cells of
// rows Insider refused are read again first, in input order, only up to
// where every earlier batch of the file is answered, so each file is read
// again at most once, forward (unless final: then everything left).
func (c *commit) settle(ctx context.Context, final bool) error {
	c.mu.Lock()
	all := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b answeredBatch) int {
		return cmp.Or(cmp.Compare(a.b.file, b.b.file), cmp.Compare(a.b.start.Index, b.b.start.Index))
	})
	var keep []answeredBatch
	var err error
	for i := 0; i < len(all); {
		file := all[i].b.file
		j := i
		for j < len(all) && all[j].b.file == file {
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
			for k < len(ready) && (c.store == nil || ready[k].b.gen <= saved) && (!ready[k].refill || ready[k].b.start.Index < upTo) {
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

// finish reads again the cells the batches of file need, writes their
// rejects and finishes them. A batch that spans files has its rows read
// again from each file.
func (c *commit) finish(ctx context.Context, file string, ready []answeredBatch) error {
	rows := map[string][]*row{}
	var files []string
	for _, a := range ready {
		if !a.refill {
			continue
		}
		parts := []segRows{{rejects: a.rejects}}
		if len(a.b.segs) > 1 {
			parts = splitSegs(a.b, a.rejects)
		}
		for i, p := range parts {
			f := a.b.segs[i].file
			for _, rr := range p.rejects {
				if rr.row.src.Len() == 0 {
					if rows[f] == nil {
						files = append(files, f)
					}
					rows[f] = append(rows[f], rr.row)
				}
			}
		}
	}
	for _, f := range files {
		rf := c.refill[f]
		if rf == nil {
			if len(c.refill) >= maxRefillers {
				// Files are read in order: keep few readers open.
				for name, old := range c.refill {
					if name != file {
						old.close()
						delete(c.refill, name)
					}
				}
			}
			rf = &refiller{file: f, open: c.open, log: c.log}
			c.refill[f] = rf
		}
		rf.fill(ctx, rows[f])
	}
	for _, a := range ready {
		if err := c.ledger.finish(a.b, a.c, a.rejects); err != nil {
			return err
		}
		if err := c.tally.late(a.rejects); err != nil {
			return err
		}
	}
	return nil
}

// maxRefillers is how many inputs are kept open for reading rejected rows
// again (see refiller).
const maxRefillers = 4

// save writes the checkpoint: rejects are flushed first, so a saved
// frontier never covers a reject line that was not written.
func (c *commit) save() error {
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
	if err := c.store.Save(ctx, c.job, st); err != nil {
		return fmt.Errorf("saving the checkpoint to %s: %w", c.where, err)
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

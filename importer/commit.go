package importer

import (
	"context"
	"fmt"
	"time"
)

// saveLoop saves the checkpoint every SaveInterval, and at once when a
// worker waits for its batch to be recorded, until stop closes; it also
// reports progress.
func (r *run) saveLoop(stop <-chan struct{}) error {
	save := time.NewTicker(r.opts.SaveInterval)
	defer save.Stop()
	prog := time.NewTicker(r.opts.ProgressEvery)
	defer prog.Stop()
	start := time.Now()
	for {
		select {
		case <-stop:
			r.progress(start)
			return nil
		case <-prog.C:
			r.progress(start)
		case <-save.C:
			if err := r.save(); err != nil {
				return err
			}
		case <-r.saveKick:
			if err := r.save(); err != nil {
				return err
			}
		}
	}
}

// durable returns once a saved checkpoint covers dispatch generation gen.
// Saves are shared: workers waiting together are served by one write.
func (r *run) durable(ctx context.Context, gen int64) error {
	if r.opts.Store == nil || r.opts.DryRun {
		return nil
	}
	for {
		r.savedMu.Lock()
		saved, ch := r.savedGen, r.savedCh
		r.savedMu.Unlock()
		if saved >= gen {
			return nil
		}
		select {
		case r.saveKick <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-r.saverDead:
			return *r.saveFailed.Load()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// save writes the checkpoint: rejects are flushed first, so a saved
// frontier never covers a reject line that was not written.
func (r *run) save() error {
	if r.opts.Store == nil || r.opts.DryRun {
		return nil
	}
	st, dirty, gen := r.ledger.snapshot()
	if !dirty && time.Since(r.lastSave) < keepAlive {
		return nil
	}
	if r.rejects != nil {
		if err := r.rejects.flush(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.opts.Store.Save(ctx, r.job, st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	r.lastSave = time.Now()
	r.savedMu.Lock()
	if gen > r.savedGen {
		r.savedGen = gen
		close(r.savedCh)
		r.savedCh = make(chan struct{})
	}
	r.savedMu.Unlock()
	return nil
}

// flush is the final save and closes the rejects files. Once they are
// flushed, the save records that they end at their lengths (a resume then
// truncates nothing).
func (r *run) flush() error {
	var err error
	if r.rejects != nil {
		err = r.rejects.seal()
	}
	if serr := r.save(); err == nil {
		err = serr
	}
	if r.rejects != nil {
		if cerr := r.rejects.close(); err == nil {
			err = cerr
		}
	}
	return err
}

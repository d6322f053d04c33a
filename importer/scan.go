package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/insider-import/insider-import/importer/batch"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/plan"
	"github.com/insider-import/insider-import/readers"
)

// produce reads the files in order and hands batches to the workers. One
// batch stage takes the rows of every file, so a batch fills up with the
// rows of as many small files as it takes.
func (r *run) produce(ctx context.Context, todo []plan.Task, out chan<- *batch.Batch) error {
	var held arenas
	emit := r.emitter(ctx, out)
	bs := batch.NewStage(batch.SettingsOf(r.cfg), &r.bodies, func(b *batch.Batch) error {
		err := emit(b)
		seq, end := b.Last()
		held.recycle(seq, end, &r.arenaBufs)
		return err
	})
	for i, t := range todo {
		bs.BeginFile(t.File, i)
		r.begun.Store(int64(i + 1))
		if err := r.produceFile(ctx, t, bs, &held, i); err != nil {
			if ctx.Err() != nil {
				return nil // stopped: the workers finish what is in flight
			}
			return err
		}
	}
	if err := bs.Close(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// produceFile is the scan stage for one file: its reader, mapped rows in
// input order, handed to the batch stage (the seq-th file it reads).
func (r *run) produceFile(ctx context.Context, t plan.Task, bs *batch.Stage, held *arenas, seq int) error {
	rd, mp, cur, err := r.openFile(ctx, t)
	if err != nil {
		return err
	}
	defer rd.Close()
	ordered, stop := r.mapChunks(ctx, rd, mp)
	defer stop()
	var end readers.Position
	for c := range ordered {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := r.scanRows(c.rows, cur, bs); err != nil {
			return err
		}
		if n := len(c.rows); n > 0 {
			*held = append(*held, heldArena{c.arena, seq, c.rows[n-1].Src.Pos.Index})
		}
		if c.err != nil {
			// A broken file is marked so that a run after it is fixed
			// resumes; an S3 object replaced mid-read is a change like
			// any other (the next run refuses it without --restart).
			var rf *ReadFailedError
			if errors.As(c.err, &rf) && !errors.Is(c.err, readers.ErrChanged) {
				r.commit.Unreadable(t.File, rf.Err.Error())
			}
			return c.err
		}
		if c.end != nil {
			end = *c.end
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := bs.EndFile(end); err != nil {
		return err
	}
	r.commit.FinishFile(t.File, end)
	r.bytesDone.Add(r.plan.PartBytes(t.File, rd.Identity().Size))
	r.bytesCur.Store(0)
	r.log.Info("read to the end", "file", t.File, "rows", end.Index)
	return nil
}

// arenas are the row arenas of chunks handed to the batch stage, in input
// order, with the file (its place in the reading order) and the index of
// each one's last row.
type arenas []heldArena

type heldArena struct {
	a    *encode.RowArena
	seq  int
	last int64
}

// recycle hands back the encoding space of the arenas whose rows all lie
// before end in the seq-th file, where a batch just cut ends
// (batch.Batch.Last): every row before it is encoded into a request body
// (batches cover the input in order, without gaps), to spare.
func (h *arenas) recycle(seq int, end readers.Position, spare *sync.Pool) {
	n := 0
	for n < len(*h) && ((*h)[n].seq < seq || (*h)[n].seq == seq && (*h)[n].last < end.Index) {
		(*h)[n].a.Recycle(spare)
		n++
	}
	*h = append((*h)[:0], (*h)[n:]...)
}

// openFile opens t where it resumes, and returns its mapper and the resume
// cursor over the ranges an earlier run recorded.
func (r *run) openFile(ctx context.Context, t plan.Task) (readers.Reader, *encode.Mapper, *cursor, error) {
	var start *readers.Position
	if t.Resume != nil && t.Resume.Frontier.Index > 0 {
		p := t.Resume.Frontier
		start = &p
	}
	opts, from := r.plan.PartOptions(t.File, start)
	rd, err := readers.Open(ctx, t.File, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	ref := r.opts.Now()
	if t.Resume != nil && !t.Resume.RefTime.IsZero() {
		ref = t.Resume.RefTime
	}
	fs, earlier := r.commit.Begin(t.File, rd.Identity(), ref, from)
	mp, err := encode.NewMapper(r.cfg, t.File, rd.Columns(), fs.RefTime)
	if err != nil {
		rd.Close()
		return nil, nil, nil, err
	}
	mp.Names = &r.eventNames
	if r.rejects != nil {
		r.rejects.SetColumns(t.File, rd.Columns())
	}
	r.log.Info("reading", "file", t.File, "from_row", rd.Pos().Row())
	return rd, mp, &cursor{earlier: earlier}, nil
}

// scanRows hands rows to the batch stage, as the resume cursor says:
// closing the open batch at a recorded boundary, skipping rows an earlier
// run finished.
func (r *run) scanRows(rows []*encode.Row, cur *cursor, bs *batch.Stage) error {
	for _, rw := range rows {
		cut, skip := cur.step(rw.Src.Pos.Index)
		if cut {
			if err := bs.Cut(rw.Src.Pos); err != nil {
				return err
			}
		}
		if skip {
			continue
		}
		r.rowsRead.Add(1)
		if err := r.tally.Observe(rw.Src.Pos, rw.Problems); err != nil {
			return err
		}
		rw.Tallied = len(rw.Problems) > 0
		if err := bs.Add(rw); err != nil {
			return err
		}
	}
	return nil
}

// cursor is where a resumed file stands against the ranges an earlier run
// dispatched (in input order): finished ones are skipped, in-flight ones
// are rebuilt exactly, so a re-sent batch is byte for byte the one that
// may have arrived.
type cursor struct {
	earlier []ledger.Recorded
	i       int
}

// step says, for the row at index idx, whether the open batch must close
// before it (a recorded range starts or ended) and whether an earlier run
// finished it.
func (c *cursor) step(idx int64) (cut, skip bool) {
	for c.i < len(c.earlier) && idx >= c.earlier[c.i].End.Index {
		cut = cut || !c.earlier[c.i].Done
		c.i++
	}
	if c.i < len(c.earlier) && idx >= c.earlier[c.i].Start.Index {
		if c.earlier[c.i].Done {
			return cut, true
		}
		// A range that continues a batch from the previous file is
		// rebuilt by keeping that batch open.
		cut = cut || idx == c.earlier[c.i].Start.Index && !c.earlier[c.i].Cont
	}
	return cut, false
}

// emitter dispatches each closed batch (the checkpoint lists it in flight,
// batch.Order notes whom it follows) and queues it for the workers.
func (r *run) emitter(ctx context.Context, out chan<- *batch.Batch) func(*batch.Batch) error {
	return func(b *batch.Batch) error {
		r.commit.Dispatch(b.Range())
		r.order.Dispatch(b)
		if err := r.queued.Acquire(ctx, queueWeight(b)); err != nil {
			return err
		}
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			r.queued.Release(queueWeight(b))
			return ctx.Err()
		}
	}
}

// queueWeight is what b counts for in the workers' queue (queueBytes):
// its body, at most all of the queue's room.
func queueWeight(b *batch.Batch) int64 { return min(int64(len(b.Body())), queueBytes) }

// mapChunks starts reading rd in chunks and mapping them in parallel, and
// returns the chunks in input order (each ready once its done is closed);
// stop ends both. A small file is read and mapped as it is iterated. Grouping and batching take them in order, which keeps
// batches deterministic.
func (r *run) mapChunks(ctx context.Context, rd readers.Reader, mp *encode.Mapper) (iter.Seq[*chunk], func()) {
	if size := rd.Identity().Size; size > 0 && size <= inlineBytes {
		return r.mapInline(ctx, rd, mp), func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg errgroup.Group
	nmap := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *chunk, nmap)
	ordered := make(chan *chunk, 2*nmap+2)
	wg.Go(func() error { r.readChunks(ctx, rd, work, ordered); return nil })
	for range nmap {
		wg.Go(func() error {
			for c := range work {
				c.mapRows(mp, &r.chunkBufs, &r.arenaBufs)
			}
			return nil
		})
	}
	seq := func(yield func(*chunk) bool) {
		for c := range ordered {
			if !yield(c) {
				return
			}
		}
	}
	return seq, func() { cancel(); wg.Wait() }
}

// inlineBytes is the size up to which a file is read and mapped in the
// producer's goroutine: for a small file, starting a reader and mappers
// costs more than they save (a job of many small files).
const inlineBytes = 64 << 10

// mapInline reads rd in chunks and maps each in the calling goroutine.
func (r *run) mapInline(ctx context.Context, rd readers.Reader, mp *encode.Mapper) iter.Seq[*chunk] {
	return func(yield func(*chunk) bool) {
		last := rd.Pos().Index - 1
		for {
			c := r.readChunk(ctx, rd, &last)
			c.mapRows(mp, &r.chunkBufs, &r.arenaBufs)
			if !yield(c) || c.end != nil || c.err != nil {
				return
			}
		}
	}
}

// chunk is a run of consecutive records on their way through the mappers.
type chunk struct {
	recs  []readers.Record
	errs  []error // per record: nil, or the *readers.ParseError it came with
	buf   *chunkBuf
	rows  []*encode.Row
	arena *encode.RowArena  // the rows' memory (see arenas)
	end   *readers.Position // on the last chunk: the input's end
	err   error             // a read error that ends the file
	done  chan struct{}     // closed once rows is filled
}

const chunkRows = 256

// readChunks reads rd to its end in chunks, handing each to the mappers
// (work) and, in order, to the consumer (ordered). It closes both.
func (r *run) readChunks(ctx context.Context, rd readers.Reader, work, ordered chan<- *chunk) {
	defer close(ordered)
	defer close(work)
	last := rd.Pos().Index - 1
	for {
		c := r.readChunk(ctx, rd, &last)
		select {
		case ordered <- c:
		case <-ctx.Done():
			return
		}
		select {
		case work <- c:
		case <-ctx.Done():
			return
		}
		if c.end != nil || c.err != nil {
			return
		}
	}
}

// readChunk reads the next chunk of rd; last is the index of the record
// read before it.
func (r *run) readChunk(ctx context.Context, rd readers.Reader, last *int64) *chunk {
	c := &chunk{done: make(chan struct{})}
	if buf, ok := r.chunkBufs.Get().(*chunkBuf); ok {
		c.buf = buf
	} else {
		c.buf = &chunkBuf{recs: make([]readers.Record, 0, chunkRows), errs: make([]error, 0, chunkRows)}
	}
	c.recs, c.errs = c.buf.recs[:0], c.buf.errs[:0]
	for len(c.recs) < chunkRows {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			p := rd.Pos()
			c.end = &p
			break
		}
		if err != nil && !readers.IsRowError(err) {
			c.err = readers.ReadFailed(rd, err)
			break
		}
		// Second guard: a reader that hands out the same record
		// again (an error it cannot get past, reported as a row
		// error) would fill the rejects file forever.
		if rec.Pos.Index <= *last {
			c.err = readers.ReadFailed(rd, fmt.Errorf("the reader returned row %d again instead of moving on (%v)", rec.Pos.Row(), err))
			break
		}
		*last = rec.Pos.Index
		c.recs = append(c.recs, rec)
		c.errs = append(c.errs, err)
	}
	if p := rd.Pos(); p.Offset >= 0 {
		r.bytesCur.Store(p.Offset)
	}
	return c
}

// chunkBuf is a chunk's record slices, used again by later chunks once
// their rows are mapped (fewer allocations, so fewer collections).
type chunkBuf struct {
	recs []readers.Record
	errs []error
}

// mapRows maps the chunk's records; mappers run it concurrently on
// different chunks. The record slices go back to spare for the next chunk.
func (c *chunk) mapRows(mp *encode.Mapper, spare, arenaBufs *sync.Pool) {
	c.rows = make([]*encode.Row, len(c.recs))
	arena := mp.NewRowArena(len(c.recs), arenaBufs)
	c.arena = arena
	for i, rec := range c.recs {
		if err := c.errs[i]; err != nil {
			c.rows[i] = &encode.Row{Src: rec, Problems: []encode.Problem{readProblem(err)}}
			continue
		}
		c.rows[i] = mp.MapRecordIn(arena, rec)
	}
	clear(c.recs)
	clear(c.errs)
	c.buf.recs, c.buf.errs = c.recs[:0], c.errs[:0]
	spare.Put(c.buf)
	c.recs, c.errs, c.buf = nil, nil, nil
	close(c.done)
}

// readProblem is the reject reason for a record the reader could not read.
// The reject already says file, row and line, so the message does not.
func readProblem(err error) encode.Problem {
	var pe *readers.ParseError
	if !errors.As(err, &pe) {
		return encode.Problem{Rule: "read", Msg: err.Error()}
	}
	p := encode.Problem{Rule: pe.Rule, Column: pe.Column, Msg: pe.Err.Error()}
	if p.Rule == "" {
		p.Rule = "read"
	}
	return p
}

// ReadFailedError stops a run: an input could not be read on (see
// readers.ReadFailedError).
type ReadFailedError = readers.ReadFailedError

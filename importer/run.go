package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

// Errors Run returns besides config and I/O errors.
var (
	// ErrIncomplete: the run finished, but some rows or users were rejected
	// (see the rejects file).
	ErrIncomplete = errors.New("finished, but some rows were rejected")
	// ErrInterrupted: the run was stopped by its context (a signal); the
	// checkpoint is saved and running again resumes.
	ErrInterrupted = errors.New("interrupted: the checkpoint is saved, run the same command again to resume")
	// ErrChangedInput: an input differs from the one the checkpoint was
	// written for.
	ErrChangedInput = errors.New("an input changed since the checkpoint was written")
	// ErrTooManyRejects: the run stopped early because rows were rejected
	// systematically (Options.MaxRejects).
	ErrTooManyRejects = errors.New("too many rejected rows")
)

// Options are the run-time settings that do not belong in the config file.
type Options struct {
	APIKey      string
	Store       checkpoint.Store // nil: no checkpoint (dry runs)
	Restart     bool             // discard the job's checkpoint and start over
	DryRun      bool             // read, map and validate; send nothing
	RejectsPath string
	// RejectsCSVPath, if set, also writes the rejected rows as CSV in their
	// source's own columns plus reject_reason, to be fixed and imported
	// again with the same config (see rejectCSV).
	RejectsCSVPath string
	// MaxRejects, if set, stops the run with a *TooManyRejectsError
	// (ErrTooManyRejects) once more rows are rejected than it allows.
	MaxRejects *RejectLimit
	// Grace is how long in-flight requests may finish after ctx is
	// cancelled; 0 means 25s.
	Grace      time.Duration
	ShardIndex int
	ShardCount int // 0 or 1: no sharding
	Logger     *slog.Logger
	// Progress, if set, is called every ProgressEvery from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// OnBatch, if set, sees every request body before it is sent (or, in a
	// dry run, instead of sending).
	OnBatch      func(body []byte)
	HTTPClient   *http.Client
	Now          func() time.Time
	SaveInterval time.Duration // 0 means 2s
}

// Progress is a live snapshot for progress bars and log lines.
type Progress struct {
	RowsRead     int64
	RowsDone     int64
	RowsRejected int64
	EventsSent   int64
	Requests     int64
	Retries      int64
	Throttled    int64
	BytesRead    int64 // of the inputs, as far as known
	BytesTotal   int64
	Elapsed      time.Duration
}

type run struct {
	cfg     *Config
	opts    Options
	log     *slog.Logger
	ledger  *ledger
	sender  *sender
	rejects *rejectWriter
	job     string

	rowsRead   atomic.Int64
	bytesDone  atomic.Int64 // finished files
	bytesCur   atomic.Int64 // current file
	bytesTotal int64
	files      []FileReport
	s3         readers.S3Options // the config's, with one client for the run

	// Write-ahead: a batch is sent only after a saved checkpoint lists it as
	// in flight, so after a crash every re-sent batch is one that was in
	// flight, never one acknowledged after the last periodic save.
	saveKick   chan struct{}
	savedMu    sync.Mutex
	savedGen   int64
	savedCh    chan struct{} // closed and replaced after each save
	saverDead  chan struct{}
	saveFailed atomic.Pointer[error]
	lastSave   time.Time // only the saver goroutine (then flush) touches it
}

// keepAlive is how often the checkpoint is written even when nothing
// changed, so that a lease on it (S3 store) never lapses during a long
// stall such as heavy throttling.
const keepAlive = 30 * time.Second

// Run imports the inputs of cfg. It returns the report and nil, or
// ErrIncomplete (some rows rejected), ErrCredentials, ErrInterrupted,
// *ConfigError, checkpoint.ErrLeaseHeld or another error; the report is
// filled as far as the run got in every case but a config error.
func Run(ctx context.Context, cfg *Config, opts Options) (*Report, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace == 0 {
		opts.Grace = 25 * time.Second
	}
	if opts.SaveInterval == 0 {
		opts.SaveInterval = 2 * time.Second
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = time.Second
	}
	if opts.ShardCount < 1 {
		opts.ShardCount = 1
	}
	start := opts.Now()
	r := &run{cfg: cfg, opts: opts, log: opts.Logger, job: cfg.JobID(opts.ShardIndex, opts.ShardCount),
		saveKick: make(chan struct{}, 1), savedCh: make(chan struct{}), saverDead: make(chan struct{})}
	rep := &Report{Job: r.job, DryRun: opts.DryRun, Started: start, RejectsFile: opts.RejectsPath}
	err := r.run(ctx, rep)
	rep.Duration = opts.Now().Sub(start).Seconds()
	if r.ledger != nil {
		rep.Counts = r.ledger.totals()
	}
	if r.sender != nil {
		rep.Requests, rep.Retries = r.sender.requests.Load(), r.sender.retries.Load()
		rep.Throttled, rep.BytesSent = r.sender.throttled.Load(), r.sender.bytesSent.Load()
	}
	if rep.Duration > 0 {
		rep.RowsPerSec = float64(rep.RowsRead) / rep.Duration
	}
	if r.rejects != nil {
		rep.RejectsCount = r.rejects.count()
	}
	r.reportRejects(rep)
	rep.Files = r.files
	if err == nil && (rep.RowsRejected > 0 || rep.RowsRejectedByAPI > 0 || rep.UsersRejected > 0) {
		err = ErrIncomplete
	}
	switch {
	case err == nil:
		rep.Status = "ok"
	case errors.Is(err, ErrIncomplete):
		rep.Status = "finished with rejected rows"
	case errors.Is(err, ErrTooManyRejects):
		rep.Status = "stopped: too many rejected rows"
		rep.Error = err.Error()
	case errors.Is(err, ErrInterrupted):
		rep.Status = "interrupted"
		rep.Error = err.Error()
	default:
		rep.Status = "failed"
		rep.Error = err.Error()
	}
	return rep, err
}

func (r *run) run(ctx context.Context, rep *Report) error {
	r.s3 = r.cfg.Source.S3
	if slices.ContainsFunc(r.cfg.Source.Paths, readers.IsS3) {
		// One client, so one credential chain, for every object of the run.
		client, err := readers.NewS3Client(ctx, r.s3)
		if err != nil {
			return err
		}
		r.s3.Client = client
	}
	files, err := readers.Expand(ctx, r.cfg.Source.Paths, r.s3)
	if err != nil {
		return err
	}
	files = r.shard(files)

	st := checkpoint.State{Version: checkpoint.Version, Job: r.job, ConfigHash: r.cfg.Hash()}
	if r.opts.Store != nil && !r.opts.DryRun {
		if r.opts.Restart {
			if err := r.opts.Store.Delete(ctx, r.job); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
		loaded, err := r.opts.Store.Load(ctx, r.job)
		switch {
		case errors.Is(err, checkpoint.ErrNotFound):
		case err != nil:
			return fmt.Errorf("checkpoint: %w", err)
		case loaded.ConfigHash != st.ConfigHash:
			return &ConfigError{Problems: []ConfigProblem{{File: r.cfg.File, Msg: fmt.Sprintf(
				"the mapping changed since the checkpoint of job %s was written (%s); payloads would differ from what was sent. Run with --restart to import from the start, or restore the old config to resume",
				r.job, loaded.Updated.Format(time.RFC3339))}}}
		default:
			st = loaded
		}
	}
	r.setupRejects(st)
	r.ledger = newLedger(st, r.rejects, r.opts.Now)
	r.ledger.refill = r.refill
	r.ledger.tally = newRejectTally(r.opts.MaxRejects)

	todo, err := r.preflight(ctx, files, st)
	if err != nil {
		return err
	}

	rps := r.cfg.Delivery.RequestsPerSecond / float64(r.opts.ShardCount)
	r.sender = newSender(r.cfg, r.opts.APIKey, r.opts.HTTPClient, rps, func(msg string, args ...any) { r.log.Warn(msg, args...) })

	// Sends may outlive ctx by the grace period, so in-flight requests can
	// finish after a SIGTERM; reading stops at once.
	sendBase, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stopGrace := context.AfterFunc(ctx, func() {
		r.log.Info("stopping: no new batches; waiting for requests in flight", "grace", r.opts.Grace.String())
		time.AfterFunc(r.opts.Grace, cancelSend)
	})
	defer stopGrace()

	g, gctx := errgroup.WithContext(sendBase)
	readCtx, cancelRead := context.WithCancel(gctx)
	defer cancelRead()
	stopRead := context.AfterFunc(ctx, cancelRead)
	defer stopRead()

	workers := r.cfg.Delivery.Workers
	if r.opts.DryRun {
		workers = 1
	}
	// A few batches wait ready for the workers. They are listed in flight
	// when queued, so one checkpoint write covers several of them before
	// they are sent (the write-ahead rule costs a save per few requests,
	// not one per request).
	batches := make(chan *batch, workers)
	g.Go(func() error {
		defer close(batches)
		return r.produce(readCtx, todo, batches)
	})
	for range workers {
		// readCtx stops new sends on a signal or a failure; sendBase lets
		// a request already on the wire finish.
		g.Go(func() error { return r.work(readCtx, sendBase, batches) })
	}

	saverDone := make(chan error, 1)
	stopSaver := make(chan struct{})
	go func() {
		err := r.saveLoop(stopSaver)
		if err != nil {
			r.saveFailed.Store(&err)
			close(r.saverDead)
			cancelSend() // a checkpoint that cannot be written stops the run
		}
		saverDone <- err
	}()

	err = g.Wait()
	close(stopSaver)
	saveErr := <-saverDone
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = ErrInterrupted
	}
	if err := r.flush(); err != nil && saveErr == nil {
		saveErr = err
	}
	r.fileReports(files)
	if saveErr != nil {
		if errors.Is(saveErr, checkpoint.ErrLeaseHeld) || err == nil {
			return saveErr
		}
		r.log.Error("saving the checkpoint failed", "error", saveErr.Error())
	}
	return err
}

// shard keeps the files assigned to this shard: each file goes to one shard
// by a hash of its name.
func (r *run) shard(files []string) []string {
	if r.opts.ShardCount <= 1 {
		return files
	}
	var out []string
	for _, f := range files {
		h := fnv.New32a()
		h.Write([]byte(f))
		if int(h.Sum32()%uint32(r.opts.ShardCount)) == r.opts.ShardIndex {
			out = append(out, f)
		}
	}
	return out
}

type fileTask struct {
	file   string
	resume *checkpoint.FileState // nil: from the start
}

// preflight opens every input before anything is sent: each must have the
// mapped columns, and match its checkpoint. It returns the files to read.
func (r *run) preflight(ctx context.Context, files []string, st checkpoint.State) ([]fileTask, error) {
	var (
		problems []ConfigProblem
		changed  []string
		todo     []fileTask
	)
	for _, f := range files {
		fs := st.Files[f]
		if fs != nil && fs.Finished {
			// A finished file is never read again: its identity is enough.
			id, err := readers.Stat(ctx, f, r.readerOptions(nil))
			if err != nil {
				return nil, err
			}
			if fs.Identity.Equal(id) {
				r.files = append(r.files, FileReport{File: f, State: "skipped", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected, Note: "finished by an earlier run"})
			} else {
				r.log.Warn("input changed since it was imported; not importing it again", "file", f)
				r.files = append(r.files, FileReport{File: f, State: "changed", Note: fmt.Sprintf(
					"was %d bytes (%s), now %d bytes (%s); not imported again, use --restart to re-import",
					fs.Identity.Size, identVersion(fs.Identity), id.Size, identVersion(id))})
			}
			continue
		}
		rd, err := readers.Open(ctx, f, r.readerOptions(nil))
		if err != nil {
			return nil, err
		}
		id, cols := rd.Identity(), rd.Columns()
		rd.Close()
		r.bytesTotal += id.Size
		if _, err := newMapper(r.cfg, f, cols, time.Time{}); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				problems = append(problems, ce.Problems...)
				continue
			}
			return nil, err
		}
		switch {
		case fs == nil:
			todo = append(todo, fileTask{file: f})
		case !fs.Identity.Equal(id):
			changed = append(changed, fmt.Sprintf("%s: %v while partly imported (%d rows acknowledged; was %d bytes, %s; now %d bytes, %s)",
				f, ErrChangedInput, fs.RowsAcked, fs.Identity.Size, identVersion(fs.Identity), id.Size, identVersion(id)))
		default:
			todo = append(todo, fileTask{file: f, resume: fs})
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	if len(changed) > 0 {
		return nil, fmt.Errorf("%w; run with --restart to start the job over:\n  %s", ErrChangedInput, strings.Join(changed, "\n  "))
	}
	return todo, nil
}

func identVersion(id readers.Identity) string {
	if id.ETag != "" {
		return "ETag " + id.ETag
	}
	return "modified " + id.ModTime.Format(time.RFC3339)
}

func (r *run) readerOptions(start *readers.Position) readers.Options {
	return readers.Options{Format: r.cfg.Source.Format, Delimiter: r.cfg.Source.Delimiter, Start: start, S3: r.s3}
}

// produce reads the files in order and hands batches to the workers.
func (r *run) produce(ctx context.Context, todo []fileTask, out chan<- *batch) error {
	for _, t := range todo {
		if err := r.produceFile(ctx, t, out); err != nil {
			if ctx.Err() != nil {
				return nil // stopped: the workers finish what is in flight
			}
			return err
		}
	}
	return nil
}

func (r *run) produceFile(ctx context.Context, t fileTask, out chan<- *batch) error {
	var start *readers.Position
	if t.resume != nil && t.resume.Frontier.Index > 0 {
		p := t.resume.Frontier
		start = &p
	}
	rd, err := readers.Open(ctx, t.file, r.readerOptions(start))
	if err != nil {
		return err
	}
	defer rd.Close()
	ref := r.opts.Now()
	if t.resume != nil && !t.resume.RefTime.IsZero() {
		ref = t.resume.RefTime
	}
	fs, earlier := r.ledger.begin(t.file, rd.Identity(), ref)
	mp, err := newMapper(r.cfg, t.file, rd.Columns(), fs.RefTime)
	if err != nil {
		return err
	}
	if r.rejects != nil {
		r.rejects.setColumns(t.file, rd.Columns())
	}
	r.log.Info("reading", "file", t.file, "from_row", rd.Pos().Row())

	// Ranges an earlier run dispatched (earlier): finished ones are skipped,
	// in-flight ones are rebuilt exactly (cut at their recorded end).

	g := &grouper{cfg: r.cfg}
	bt := newBatcher(r.cfg, t.file)
	emit := func(b *batch) error {
		if b == nil {
			return nil
		}
		r.ledger.dispatch(b)
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cut := func(at readers.Position) error {
		if u := g.flush(); u != nil {
			if err := emit(bt.add(u)); err != nil {
				return err
			}
		}
		return emit(bt.cut(at))
	}
	// Reading and mapping overlap: one goroutine reads chunks of records,
	// mappers turn them into rows in parallel, and this goroutine takes the
	// chunks back in input order for grouping and batching, which must stay
	// sequential to be deterministic.
	rctx, cancel := context.WithCancel(ctx)
	var wg errgroup.Group
	defer func() { cancel(); wg.Wait() }()
	nmap := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *chunk, nmap)
	ordered := make(chan *chunk, 2*nmap+2)
	wg.Go(func() error { r.readChunks(rctx, rd, work, ordered); return nil })
	for range nmap {
		wg.Go(func() error {
			for c := range work {
				c.mapRows(mp)
			}
			return nil
		})
	}

	ri := 0
	var end readers.Position
	for c := range ordered {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, rw := range c.rows {
			// At a recorded range boundary, close what is open.
			for ri < len(earlier) && rw.pos.Index >= earlier[ri].r.End.Index {
				if !earlier[ri].done {
					if err := cut(rw.pos); err != nil {
						return err
					}
				}
				ri++
			}
			if ri < len(earlier) && rw.pos.Index >= earlier[ri].r.Start.Index {
				if earlier[ri].done {
					continue // acknowledged by an earlier run
				}
				if rw.pos.Index == earlier[ri].r.Start.Index {
					if err := cut(rw.pos); err != nil {
						return err
					}
				}
			}
			r.rowsRead.Add(1)
			if err := r.ledger.tally.observe(rw); err != nil {
				return err
			}
			if u := g.add(rw); u != nil {
				if err := emit(bt.add(u)); err != nil {
					return err
				}
			}
		}
		if c.err != nil {
			return c.err
		}
		if c.end != nil {
			end = *c.end
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for ri < len(earlier) {
		if !earlier[ri].done {
			if err := cut(end); err != nil {
				return err
			}
		}
		ri++
	}
	if err := cut(end); err != nil {
		return err
	}
	r.ledger.finishFile(t.file, end)
	r.bytesDone.Add(rd.Identity().Size)
	r.bytesCur.Store(0)
	r.log.Info("read to the end", "file", t.file, "rows", end.Index)
	return nil
}

// chunk is a run of consecutive records on their way through the mappers.
type chunk struct {
	recs []readers.Record
	errs []error // per record: nil, or the *readers.ParseError it came with
	rows []*row
	end  *readers.Position // on the last chunk: the input's end
	err  error             // a read error that ends the file
	done chan struct{}     // closed once rows is filled
}

const chunkRows = 256

// readChunks reads rd to its end in chunks, handing each to the mappers
// (work) and, in order, to the consumer (ordered). It closes both.
func (r *run) readChunks(ctx context.Context, rd readers.Reader, work, ordered chan<- *chunk) {
	defer close(ordered)
	defer close(work)
	for {
		c := &chunk{done: make(chan struct{}), recs: make([]readers.Record, 0, chunkRows), errs: make([]error, 0, chunkRows)}
		for len(c.recs) < chunkRows {
			rec, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				p := rd.Pos()
				c.end = &p
				break
			}
			if err != nil && !isRowError(err) {
				c.err = err
				break
			}
			c.recs = append(c.recs, rec)
			c.errs = append(c.errs, err)
		}
		if p := rd.Pos(); p.Offset >= 0 {
			r.bytesCur.Store(p.Offset)
		}
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

// mapRows maps the chunk's records; mappers run it concurrently on
// different chunks.
func (c *chunk) mapRows(mp *mapper) {
	c.rows = make([]*row, len(c.recs))
	for i, rec := range c.recs {
		if err := c.errs[i]; err != nil {
			c.rows[i] = &row{pos: rec.Pos, src: rec, problems: []Problem{{Rule: "csv", Msg: err.Error()}}}
			continue
		}
		c.rows[i] = mp.mapRecord(rec)
	}
	c.recs, c.errs = nil, nil
	close(c.done)
}

// refill reads again, by position, the cells of rows Insider rejected after
// they had given them up. Rows are rare and come in one batch's range, so
// one reader from the first of them suffices. On failure the rejects keep
// file, row and Insider's messages, without the cells.
func (r *run) refill(file string, rows []*row) {
	slices.SortFunc(rows, func(a, b *row) int { return cmp.Compare(a.pos.Index, b.pos.Index) })
	start := rows[0].pos
	rd, err := readers.Open(context.Background(), file, r.readerOptions(&start))
	if err == nil {
		defer rd.Close()
		for i := 0; i < len(rows) && err == nil; {
			var rec readers.Record
			rec, err = rd.Next(context.Background())
			if err != nil && isRowError(err) {
				err = nil
			}
			for err == nil && i < len(rows) && rows[i].pos.Index <= rec.Pos.Index {
				if rows[i].pos.Index == rec.Pos.Index {
					rows[i].src = rec
				}
				i++
			}
		}
	}
	if err != nil {
		r.log.Warn("could not read the cells of rejected rows again; their rejects carry no cells", "file", file, "row", start.Row(), "error", err.Error())
	}
}

func isRowError(err error) bool {
	var pe *readers.ParseError
	return errors.As(err, &pe)
}

// work sends batches until the channel closes. Once stop is done (a signal,
// another worker failed, credentials were refused) it sends nothing new, but a
// request already on the wire runs to its answer under sendCtx, which only
// the grace period after a signal cancels: cutting it off would leave a
// batch the API may have stored to be sent again.
func (r *run) work(stop, sendCtx context.Context, in <-chan *batch) error {
	for b := range in {
		if stop.Err() != nil {
			continue // not sent; it stays in flight and a resume sends it
		}
		if err := r.deliver(stop, sendCtx, b); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) deliver(stop, sendCtx context.Context, b *batch) error {
	if b.nUsers() == 0 {
		return r.ledger.complete(b, outcome{})
	}
	if r.opts.OnBatch != nil {
		r.opts.OnBatch(b.body)
	}
	if r.opts.DryRun {
		return r.ledger.complete(b, outcome{dryRun: true})
	}
	if err := r.durable(stop, b.gen); err != nil {
		if stop.Err() != nil {
			return nil // stopping: not sent, it stays in flight
		}
		return err
	}
	o, err := r.sendUsers(stop, sendCtx, b, 0, b.nUsers(), b.body)
	if err != nil {
		if errors.Is(err, ErrCredentials) {
			r.log.Error("Insider refused the credentials; stopping", "partner", r.cfg.Partner())
		}
		return err
	}
	return r.ledger.complete(b, o)
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

func (r *run) progress(start time.Time) {
	if r.opts.Progress == nil {
		return
	}
	c := r.ledger.totals()
	p := Progress{
		RowsRead: r.rowsRead.Load(), RowsDone: c.RowsRead, RowsRejected: c.RowsRejected + c.RowsRejectedByAPI,
		EventsSent: c.EventsSent, BytesRead: r.bytesDone.Load() + r.bytesCur.Load(), BytesTotal: r.bytesTotal,
		Elapsed: time.Since(start),
	}
	if r.sender != nil {
		p.Requests, p.Retries, p.Throttled = r.sender.requests.Load(), r.sender.retries.Load(), r.sender.throttled.Load()
	}
	r.opts.Progress(p)
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

// flush is the final save and closes the rejects file.
func (r *run) flush() error {
	err := r.save()
	if r.rejects != nil {
		if cerr := r.rejects.close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (r *run) fileReports(files []string) {
	st, _, _ := r.ledger.snapshot()
	listed := map[string]bool{}
	for _, f := range r.files {
		listed[f.File] = true
	}
	for _, f := range files {
		fs := st.Files[f]
		if listed[f] || fs == nil {
			if fs == nil && !listed[f] {
				r.files = append(r.files, FileReport{File: f, State: "not started"})
			}
			continue
		}
		state := "partial"
		if fs.Finished {
			state = "done"
		}
		r.files = append(r.files, FileReport{File: f, State: state, RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected})
	}
}

package importer

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
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
	// StoreName names Store in messages (a directory, an s3:// prefix).
	StoreName string
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
	BytesSent    int64 // request bodies
	Elapsed      time.Duration
	// Counts are the report's counters so far (rows and events finished:
	// acknowledged, rejected or dropped).
	Counts Counts
}

type run struct {
	cfg     *Config
	opts    Options
	log     *slog.Logger
	job     string
	s3      readers.S3Options // the config's, with one client for the run
	ledger  *ledger           // the commit stage's; read here for the report
	tally   *rejectTally      // rejects by reason; applies Options.MaxRejects
	commit  *commit
	order   *userOrder
	sender  *sender
	rejects *rejectWriter
	// wire is the context of requests already on the wire: it outlives the
	// run's context by the grace period, so a request started before a stop
	// gets its answer (cutting it off would leave a batch the API may have
	// stored to be sent again).
	wire context.Context

	rowsRead   atomic.Int64
	bytesDone  atomic.Int64 // finished files
	bytesCur   atomic.Int64 // current file
	bytesTotal int64
	files      []FileReport
	parts      map[string]part // files this shard shares with the others, by row group
}

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
	r := &run{cfg: cfg, opts: opts, log: opts.Logger, job: cfg.JobID(opts.ShardIndex, opts.ShardCount)}
	rep := &Report{Job: r.job, DryRun: opts.DryRun, Started: start, RejectsFile: opts.RejectsPath}
	err := r.run(ctx)
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

func (r *run) run(ctx context.Context) error {
	p, err := r.plan(ctx)
	if err != nil {
		return err
	}
	if err := r.setupRejects(p.state); err != nil {
		return err
	}
	r.ledger = newLedger(p.state, r.rejects, r.opts.Now)
	r.tally = newRejectTally(r.opts.MaxRejects)
	r.commit, r.order = newCommit(r.ledger, r.tally), newUserOrder()
	if !r.opts.DryRun {
		r.commit.store, r.commit.where = r.opts.Store, cmp.Or(r.opts.StoreName, "the checkpoint store")
	}
	r.commit.job, r.commit.rejects, r.commit.interval = r.job, r.rejects, r.opts.SaveInterval
	start := time.Now()
	r.commit.progress = func() { r.progress(start) }
	r.commit.log = func(msg string, args ...any) { r.log.Warn(msg, args...) }
	r.commit.open = func(ctx context.Context, file string, at readers.Position) (readers.Reader, error) {
		return readers.Open(ctx, file, r.scanOptions(&at))
	}
	rps := r.cfg.Delivery.RequestsPerSecond / float64(r.opts.ShardCount)
	r.sender = newSender(r.cfg, r.opts.APIKey, r.opts.HTTPClient, rps, func(msg string, args ...any) { r.log.Warn(msg, args...) })

	err = r.pipeline(ctx, p.todo)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = ErrInterrupted
	}
	cerr := r.commit.Close(ctx)
	r.fileReports(p.files)
	if cerr != nil {
		if errors.Is(cerr, checkpoint.ErrLeaseHeld) || err == nil {
			return cerr
		}
		r.log.Error("saving the checkpoint failed", "error", cerr.Error())
	}
	return err
}

// pipeline runs the stages: one producer reads the files in order (scan,
// batch), Workers deliver the batches, and the commit stage records and
// saves. The first error, or ctx (a signal), stops the run: nothing more is
// read and no request starts; requests on the wire get the grace period.
func (r *run) pipeline(ctx context.Context, todo []fileTask) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	wire, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	r.wire = wire
	grace := context.AfterFunc(ctx, func() {
		r.log.Info("stopping: no new batches; waiting for requests in flight", "grace", r.opts.Grace.String())
		time.AfterFunc(r.opts.Grace, cut)
	})
	var g errgroup.Group
	stage := func(f func() error) {
		g.Go(func() error {
			err := f()
			if err != nil {
				stop()
			}
			return err
		})
	}

	workers := r.cfg.Delivery.Workers
	if r.opts.DryRun {
		workers = 1
	}
	// A few batches wait ready for the workers. They are listed in flight
	// when queued, so one checkpoint write covers several of them before
	// they are sent (the write-ahead rule costs a save per few requests,
	// not one per request).
	batches := make(chan *batch, workers)
	stage(func() error {
		defer close(batches)
		return r.produce(ctx, todo, batches)
	})
	var senders sync.WaitGroup
	sendersDone := make(chan struct{})
	for range workers {
		senders.Add(1)
		stage(func() error {
			defer senders.Done()
			return r.work(ctx, batches)
		})
	}
	go func() { senders.Wait(); close(sendersDone) }()
	stage(func() error { return r.commit.Run(ctx, sendersDone, r.opts.ProgressEvery) })
	err := g.Wait()
	grace()
	return err
}

func (r *run) progress(start time.Time) {
	if r.opts.Progress == nil {
		return
	}
	c := r.ledger.totals()
	p := Progress{
		RowsRead: r.rowsRead.Load(), RowsDone: c.RowsRead, RowsRejected: c.RowsRejected + c.RowsRejectedByAPI,
		EventsSent: c.EventsSent, BytesRead: r.bytesDone.Load() + r.bytesCur.Load(), BytesTotal: r.bytesTotal,
		Elapsed: time.Since(start), Counts: c,
	}
	if r.sender != nil {
		p.Requests, p.Retries, p.Throttled = r.sender.requests.Load(), r.sender.retries.Load(), r.sender.throttled.Load()
		p.BytesSent = r.sender.bytesSent.Load()
	}
	r.opts.Progress(p)
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
		fr := FileReport{File: f, State: state, RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected}
		if fs.Unreadable != "" {
			fr.Note = "reading stopped: " + fs.Unreadable
		}
		r.files = append(r.files, fr)
	}
}

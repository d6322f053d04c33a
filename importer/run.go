package importer

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/batch"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/importer/plan"
	"github.com/insider-import/insider-import/readers"
)

// queueBytes bounds the request bodies queued for the workers. Eight
// batches queued made the pair's wall 1.09-1.23x the reference's, where
// four made it 1.22-1.24x and two 1.26-1.33x, but eight of 1000 users
// held 35 MiB more waiting on a slow server (Parquet, 1M rows: 242 MiB
// peak against 220 with four and 208 with two). 4 MiB holds eight of the
// pair's 500-user bodies (360 KB each) and four of those 1000-user ones
// (about 1 MB each).
const queueBytes = 4 << 20

type run struct {
	cfg     *Config
	opts    Options
	log     *slog.Logger
	job     string
	plan    *plan.Plan    // the inputs to read, the checkpoint, the options to read with
	tally   *ledger.Tally // rejects by reason; applies Options.MaxRejects
	commit  *ledger.Committer
	order   *batch.Order
	queued  *semaphore.Weighted // the request bytes of batches queued for the workers (queueBytes)
	sender  *sender
	rejects *rejects.Writer

	// chunkBufs, arenaBufs and bodies hold record slices, rows' encoding
	// space and request bodies for reuse (see chunkBuf, arenas,
	// batch.NewStage).
	chunkBufs, arenaBufs, bodies sync.Pool

	rowsRead  atomic.Int64
	bytesDone atomic.Int64 // finished files
	bytesCur  atomic.Int64 // current file
	begun     atomic.Int64 // how many files of the plan's todo were started

	// files are the report's files (see listFile).
	files          []FileReport
	filesMu        sync.Mutex
	filesListed    map[string]int    // by state
	filesNotListed map[string]int64  // by state
	eventNames     encode.EventNames // read from name columns, for the report's TTLs
}

// Run imports the inputs of cfg. It returns the report and nil, or
// ErrIncomplete (some rows rejected), ErrCredentials, ErrInterrupted,
// *ConfigError, checkpoint.ErrLeaseHeld or another error; the report is
// filled as far as the run got in every case but a config error.
func Run(ctx context.Context, cfg *Config, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	start := opts.Now()
	r := &run{cfg: cfg, opts: opts, log: opts.Logger, job: cfg.JobID(opts.ShardIndex, opts.ShardCount)}
	rep := &Report{Job: r.job, DryRun: opts.DryRun, Started: start, RejectsFile: opts.RejectsPath}
	err := r.run(ctx)
	return rep, r.report(rep, start, err)
}

func (r *run) run(ctx context.Context) error {
	p, err := plan.Make(ctx, r.cfg, plan.Options{
		Job: r.job, Store: r.opts.Store, Restart: r.opts.Restart, DryRun: r.opts.DryRun,
		ShardIndex: r.opts.ShardIndex, ShardCount: r.opts.ShardCount, RejectLimit: r.opts.MaxRejects != nil,
		Now: r.opts.Now, Log: r.log, List: r.listFile,
	})
	r.plan = p
	if err != nil {
		return err
	}
	if err := r.setupRejects(p.State); err != nil {
		return err
	}
	// The archive (files finished by earlier runs) served the plan; the
	// store keeps it, and the ledger hands it only the files it archives
	// from now on (checkpoint.State.Archived).
	p.State.Archived = nil
	var store checkpoint.Store
	if !r.opts.DryRun {
		store = r.opts.Store
	}
	r.tally = ledger.NewTally(r.opts.MaxRejects)
	start := time.Now()
	r.commit = ledger.NewCommitter(p.State, store, r.rejects, ledger.Options{
		Job: r.job, Where: cmp.Or(r.opts.StoreName, "the checkpoint store"), Interval: r.opts.SaveInterval,
		Workers: r.workers(), Tally: r.tally, Now: r.opts.Now, FileDone: r.fileDone,
		Progress: func() { r.progress(start) },
		Log:      func(msg string, args ...any) { r.log.Warn(msg, args...) },
		Open: func(ctx context.Context, file string, at readers.Position) (readers.Reader, error) {
			return readers.Open(ctx, file, p.ScanOptions(&at))
		},
	})
	r.order = batch.NewOrder()
	rps := r.cfg.Delivery.RequestsPerSecond / float64(r.opts.ShardCount)
	r.sender = newSender(r.cfg, r.opts.APIKey, r.opts.HTTPClient, rps, func(msg string, args ...any) { r.log.Warn(msg, args...) })

	err = r.pipeline(ctx, p.Todo)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = ErrInterrupted
	}
	cerr := r.commit.Close(ctx)
	r.fileReports(p.Todo)
	if cerr != nil {
		if errors.Is(cerr, checkpoint.ErrLeaseHeld) || err == nil {
			return cerr
		}
		r.log.Error("saving the checkpoint failed", "error", cerr.Error())
	}
	return err
}

// workers is how many deliver batches at once: one in a dry run.
func (r *run) workers() int {
	if r.opts.DryRun {
		return 1
	}
	return r.cfg.Delivery.Workers
}

// pipeline runs the stages: one producer reads the files in order (scan,
// batch), Workers deliver the batches, and the commit stage records and
// saves. The first error, or ctx (a signal), stops the run: nothing more is
// read and no request starts; requests on the wire get the grace period.
func (r *run) pipeline(ctx context.Context, todo []plan.Task) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	wire, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	r.sender.SetWire(wire)
	// The grace timer starts when ctx ends; graceDone lets pipeline return
	// only after the callback has finished, so nothing logs after Run.
	graceDone := make(chan struct{})
	grace := context.AfterFunc(ctx, func() {
		defer close(graceDone)
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

	workers := r.workers()
	// Up to eight batches wait ready for the workers, of at most
	// queueBytes of request bodies together; each is listed in flight
	// when queued: dispatching one starts the checkpoint write that covers
	// it (Committer.Dispatch), so it is under way while the batch waits.
	// The workers wait for those writes together, 10 ms apart; the queue
	// lets the producer run on meanwhile.
	batches := make(chan *batch.Batch, min(workers, 8))
	r.queued = semaphore.NewWeighted(queueBytes)
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
	if !grace() {
		<-graceDone
	}
	return err
}

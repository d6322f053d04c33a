package importer

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/plan"
)

// Errors Run returns besides config and I/O errors.
var (
	// ErrIncomplete: the run finished, but some rows or users were rejected
	// (see the rejects file).
	ErrIncomplete = ledger.ErrIncomplete
	// ErrInterrupted: the run was stopped by its context (a signal); the
	// checkpoint is saved and running again resumes.
	ErrInterrupted = errors.New("interrupted: the checkpoint is saved, run the same command again to resume")
	// ErrChangedInput: an input differs from the one the checkpoint was
	// written for (see package importer/plan).
	ErrChangedInput = plan.ErrChangedInput
	// ErrTooManyRejects: the run stopped early because rows were rejected
	// systematically (Options.MaxRejects).
	ErrTooManyRejects = ledger.ErrTooManyRejects
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
	// dry run, instead of sending). body is valid only during the call: it
	// is used again for a later request once this one is answered.
	OnBatch      func(body []byte)
	HTTPClient   *http.Client
	Now          func() time.Time
	SaveInterval time.Duration // 0 means 2s
	// StoreName names Store in messages (a directory, an s3:// prefix).
	StoreName string
}

// withDefaults fills in the zero values Options documents.
func (opts Options) withDefaults() Options {
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
	return opts
}

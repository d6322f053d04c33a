package checkpoint

import (
	"context"
	"errors"
	"time"

	"github.com/insider-import/insider-import/readers"
)

// Version is the format version of State written by this build. Load reads
// this version and version 1 (which had no archive: a version 1 checkpoint
// is a version 2 one whose finished files are all in Files), and refuses
// any other.
const Version = 2

// State is everything a job needs to resume: per input file, how far it got.
type State struct {
	Version int    `json:"version"`
	Job     string `json:"job"`
	// ConfigHash is a hash of the mapping and everything else that shapes
	// payloads; a resume with another hash is refused.
	ConfigHash string                `json:"config_hash"`
	Files      map[string]*FileState `json:"files"` // by input URI as listed
	// Archived holds finished files moved out of Files (see archive.go),
	// so that a save does not rewrite every file a job ever finished. A
	// State that Load returns holds the whole archive here, in the order it
	// was written; a file in Files as well is as Files says. Save appends:
	// the archive it saves is that of the State this store last loaded or
	// saved for the job (none after Delete, or before either), followed by
	// st.Archived, the files archived since. A caller drops what it passed
	// in Archived once Save succeeds, and passes it again if Save fails.
	Archived []ArchivedFile `json:"-"`
	// Rejects records the rejects files the job appends to; nil in a
	// checkpoint of a run that wrote none, or of an older build.
	Rejects *RejectsState `json:"rejects,omitempty"`
	Updated time.Time     `json:"updated"`
}

// RejectsState is what a checkpoint knows of the job's rejects files (JSON
// lines and CSV).
type RejectsState struct {
	// Lengths holds, by path, each file's committed length: its first bytes
	// that hold, as whole lines, exactly the rejects of the rows this State
	// counts as finished. A killed run may have written more; a resume
	// truncates each file to its length, and the rows of those lines are
	// rejected again when their batches are redone.
	Lengths map[string]int64 `json:"lengths"`
	// Closed is set by the last save of a run that ended without a crash:
	// the files then end at their lengths, so a resume truncates nothing
	// (bytes added since are not this job's: another job that shares the
	// file appended them).
	Closed bool `json:"closed,omitempty"`
}

// FileState is the progress of one input file.
type FileState struct {
	Identity readers.Identity `json:"identity"`
	// RefTime is the "now" against which event TTLs were measured when the
	// file was first read; a resume reuses it so re-sent batches are
	// byte-identical to their first attempt.
	RefTime time.Time `json:"ref_time"`
	// Frontier is the first row not yet finished: every row before it was
	// acknowledged by the API, rejected, or dropped with a reason.
	Frontier readers.Position `json:"frontier"`
	// Done lists finished ranges beyond the frontier (batches complete out
	// of order), sorted, not overlapping.
	Done []Range `json:"done,omitempty"`
	// InFlight lists the batches that were sent or about to be sent and not
	// yet answered; a resume re-sends exactly these row ranges.
	InFlight []Range `json:"in_flight,omitempty"`
	// Finished is set once every row of the file is finished.
	Finished bool `json:"finished"`
	// Unreadable, when set, is why reading stopped early: the input was
	// truncated or corrupt. A later run resumes at the frontier of the
	// input as it is then, even if it changed (was fixed) since.
	Unreadable string `json:"unreadable,omitempty"`
	// Rows counts the data rows finished so far; Total is the file's row
	// count, known once it has been read to the end (0 before).
	RowsAcked    int64     `json:"rows_acked"`
	RowsRejected int64     `json:"rows_rejected"`
	Total        int64     `json:"total,omitempty"`
	LastRun      time.Time `json:"last_run"`
}

// Range is a half-open range of rows [Start, End) of one file. Both ends are
// resumable positions.
type Range struct {
	Start readers.Position `json:"start"`
	End   readers.Position `json:"end"`
	// Cont marks the part of a batch in a file after the first one the
	// batch spans: the batch began in an earlier file, so a resume that
	// rebuilds it does not close the open batch at Start.
	Cont bool `json:"cont,omitempty"`
}

// Store persists import progress. Implementations are safe for use by one
// goroutine at a time.
type Store interface {
	// Load returns the saved State of job, or ErrNotFound if there is none.
	// A State that cannot be read (truncated, corrupt, other version) is an
	// error, never a silent fresh start.
	Load(ctx context.Context, job string) (State, error)
	// Save replaces the previous State of job atomically: after a crash,
	// Load returns either the old or the new State, never a mix.
	Save(ctx context.Context, job string, s State) error
	// Delete removes the State of job (used by --restart). Deleting a job
	// that has no State is not an error.
	Delete(ctx context.Context, job string) error
	// Close releases the store, including any lease it holds.
	Close(ctx context.Context) error
}

// ErrNotFound is returned by Store.Load when a job has no saved State.
var ErrNotFound = errors.New("checkpoint not found")

// ErrLeaseHeld is returned when another run of the same job holds the lease
// on the checkpoint (or took it over while this run was writing). The run
// that gets it must stop without writing.
var ErrLeaseHeld = errors.New("checkpoint lease is held by another run of this job")

// Peeker is implemented by stores that can read a State without taking the
// job's lock or lease (for `status` while an import runs).
type Peeker interface {
	Peek(ctx context.Context, job string) (State, error)
}

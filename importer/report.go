package importer

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/plan"
)

// Counts are the report's counters (see ledger.Counts: the ledger counts
// them as batches finish).
type Counts = ledger.Counts

// EventTTL is the TTL in force for one event name, and where it comes from
// (see encode.EventTTLs).
type EventTTL = encode.EventTTL

// Report is what a run did.
type Report struct {
	Job      string    `json:"job"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_seconds"`
	Status   string    `json:"status"` // ok, rejects, interrupted, failed
	Error    string    `json:"error,omitempty"`
	Counts
	Requests     int64        `json:"requests"`
	Retries      int64        `json:"retries"`
	Throttled    int64        `json:"throttled"`
	BytesSent    int64        `json:"bytes_sent"`
	RowsPerSec   float64      `json:"rows_per_second"`
	RejectsFile  string       `json:"rejects_file,omitempty"`
	RejectsCount int64        `json:"rejects_written"`
	Files        []FileReport `json:"files"`
	// FilesNotListed counts, by state, the files left out of Files: a run
	// of many files lists the first maxListed of each state (many more of
	// the states that need a look: partial, changed, not started).
	FilesNotListed map[string]int64 `json:"files_not_listed,omitempty"`
	FileDecisions

	// RejectsCSV are the rejects CSV files written (one per distinct input
	// header).
	RejectsCSV []string `json:"rejects_csv,omitempty"`
	// RejectReasons counts rejected rows by column and rule, most first. A
	// row with several problems counts under each.
	RejectReasons []RejectReason `json:"rejected_by_reason,omitempty"`
	// EventTTLs is the TTL in force for each event name the run mapped
	// (see encode.EventTTLs).
	EventTTLs []EventTTL `json:"event_ttls,omitempty"`
}

// The inputs' part of the report is the plan's (package importer/plan
// decides what becomes of each input).
type (
	// FileDecisions count the inputs a run did not simply read or resume:
	// changed since the checkpoint and read again from row 1, or left as
	// they are (source.on_change), and those modified too recently
	// (source.min_age).
	FileDecisions = plan.FileDecisions
	// FileReport is the state of one input at the end of a run.
	FileReport = plan.FileReport
)

// maxReasonLines is how many reasons the text summary lists.
const maxReasonLines = 20

// WriteText writes the human summary.
func (r *Report) WriteText(w io.Writer) {
	var b strings.Builder
	title := "import"
	if r.DryRun {
		title = "dry run (nothing sent)"
	}
	fmt.Fprintf(&b, "insider-import %s: %s in %.1fs\n", title, r.Status, r.Duration)
	if r.Error != "" {
		fmt.Fprintf(&b, "  error: %s\n", r.Error)
	}
	if r.DryRun {
		fmt.Fprintf(&b, "  rows    read %d = valid %d + rejected %d", r.RowsRead, r.RowsMapped, r.RowsRejected)
	} else {
		fmt.Fprintf(&b, "  rows    read %d = mapped %d + rejected %d", r.RowsRead, r.RowsMapped, r.RowsRejected)
	}
	if r.RowsRejectedByAPI > 0 {
		fmt.Fprintf(&b, "  (rejected by Insider after mapping: %d)", r.RowsRejectedByAPI)
	}
	b.WriteString("\n")
	if r.DryRun {
		fmt.Fprintf(&b, "  events  read %d = would be sent %d + dropped by TTL: expired %d + future %d + rejected %d\n",
			r.EventsRead, r.EventsSent, r.EventsExpired, r.EventsFuture, r.EventsRejected)
	} else {
		fmt.Fprintf(&b, "  events  read %d = sent %d + expired (TTL) %d + future %d + rejected %d\n",
			r.EventsRead, r.EventsSent, r.EventsExpired, r.EventsFuture, r.EventsRejected)
	}
	if r.DryRun {
		fmt.Fprintf(&b, "  users   valid %d (would be sent)\n", r.UsersValid)
	} else {
		fmt.Fprintf(&b, "  users   sent %d = accepted %d + rejected by Insider %d\n", r.UsersSent, r.UsersAccepted, r.UsersRejected)
		fmt.Fprintf(&b, "  requests %d (retries %d, throttled %d), %.1f MB sent, %.0f rows/s\n",
			r.Requests, r.Retries, r.Throttled, float64(r.BytesSent)/1e6, r.RowsPerSec)
	}
	for _, f := range r.Files {
		fmt.Fprintf(&b, "  file %s: %s (acked %d, rejected %d)", f.File, f.State, f.RowsAcked, f.RowsRejected)
		if f.Note != "" {
			fmt.Fprintf(&b, " — %s", f.Note)
		}
		b.WriteString("\n")
	}
	if d := r.FileDecisions; d.Reimported > 0 || d.SkippedChanged > 0 {
		fmt.Fprintf(&b, "  files changed since imported: %d re-imported from row 1, %d left as they are (source.on_change)\n", d.Reimported, d.SkippedChanged)
	}
	if r.Waiting > 0 {
		fmt.Fprintf(&b, "  files waiting: %d modified within source.min_age, left for a later run\n", r.Waiting)
	}
	for _, st := range slices.Sorted(maps.Keys(r.FilesNotListed)) {
		fmt.Fprintf(&b, "  ... and %d more files %s (not listed)\n", r.FilesNotListed[st], st)
	}
	if len(r.RejectReasons) > 0 {
		b.WriteString("  rejected rows by reason (a row with several problems counts under each):\n")
		for i, rr := range r.RejectReasons {
			if i == maxReasonLines {
				fmt.Fprintf(&b, "    ... %d more reasons (see the JSON report)\n", len(r.RejectReasons)-i)
				break
			}
			what := rr.Rule
			if rr.Column != "" {
				what = "column " + rr.Column + ": " + rr.Rule
			}
			fmt.Fprintf(&b, "    %8d  %s\n", rr.Rows, what)
			if rr.Example != "" {
				fmt.Fprintf(&b, "              e.g. %s\n", rr.Example)
			}
		}
	}
	if r.DryRun && len(r.EventTTLs) > 0 {
		writeEventTTLs(&b, r.EventTTLs)
	}
	if r.RejectsCount > 0 && r.RejectsFile != "" {
		fmt.Fprintf(&b, "  %d rejected rows written to %s\n", r.RejectsCount, r.RejectsFile)
	}
	if len(r.RejectsCSV) > 0 {
		fmt.Fprintf(&b, "  rejected rows as CSV, to fix and import again with the same config: %s\n", strings.Join(r.RejectsCSV, ", "))
	}
	io.WriteString(w, b.String())
}

func writeEventTTLs(b *strings.Builder, ttls []EventTTL) {
	b.WriteString("  event TTLs (older events are dropped as expired):\n")
	for _, t := range ttls {
		fmt.Fprintf(b, "    %-20s %6s  (%s)\n", t.Name, t.TTL, t.From)
	}
}

// report fills rep with what the run got to, and returns err, or
// ErrIncomplete for a run that finished with rejects.
func (r *run) report(rep *Report, start time.Time, err error) error {
	rep.Duration = r.opts.Now().Sub(start).Seconds()
	if r.commit != nil {
		rep.Counts = r.commit.Totals()
	}
	if r.sender != nil {
		rep.Requests, rep.Retries = r.sender.requests.Load(), r.sender.retries.Load()
		rep.Throttled, rep.BytesSent = r.sender.throttled.Load(), r.sender.bytesSent.Load()
	}
	if rep.Duration > 0 {
		rep.RowsPerSec = float64(rep.RowsRead) / rep.Duration
	}
	if r.rejects != nil {
		rep.RejectsCount = r.rejects.Count()
	}
	r.reportRejects(rep)
	rep.Files, rep.FilesNotListed = r.files, r.filesNotListed
	if r.plan != nil {
		rep.FileDecisions = r.plan.Decided
	}
	rep.EventTTLs = encode.EventTTLs(r.cfg, &r.eventNames)
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
	return err
}

// maxListed is how many files of one state the report lists: those of an
// ordinary state (done, skipped), and those of a state that needs a look.
const (
	maxListed        = 100
	maxListedProblem = 1000
)

// listFile adds fr to the report's files, or counts it once maxListed of
// its state are listed. Safe for concurrent use.
func (r *run) listFile(fr FileReport) {
	r.filesMu.Lock()
	defer r.filesMu.Unlock()
	if r.filesListed == nil {
		r.filesListed = map[string]int{}
	}
	limit := maxListedProblem
	if fr.State == "done" || fr.State == "skipped" {
		limit = maxListed
	}
	if r.filesListed[fr.State] < limit {
		r.filesListed[fr.State]++
		r.files = append(r.files, fr)
		return
	}
	if r.filesNotListed == nil {
		r.filesNotListed = map[string]int64{}
	}
	r.filesNotListed[fr.State]++
}

// fileDone is the ledger's word that this run finished file.
func (r *run) fileDone(file string, fs *checkpoint.FileState) {
	r.listFile(FileReport{File: file, State: "done", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected})
}

// fileReports lists the files of todo this run did not finish (those it
// did are listed as they finish): partial, or not started.
func (r *run) fileReports(todo []plan.Task) {
	begun := int(r.begun.Load())
	partial := map[string]FileReport{}
	r.commit.Unfinished(func(f string, fs *checkpoint.FileState) {
		fr := FileReport{File: f, State: "partial", RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected}
		if fs.Unreadable != "" {
			fr.Note = "reading stopped: " + fs.Unreadable
		} else if r.plan.Reimported[f] {
			fr.Note = "changed since an earlier run imported it: re-imported from row 1 (source.on_change: reimport)"
		}
		partial[f] = fr
	})
	for _, t := range todo[:begun] {
		if fr, ok := partial[t.File]; ok {
			r.listFile(fr)
		}
	}
	for _, t := range todo[begun:] {
		if t.Resume != nil {
			r.listFile(FileReport{File: t.File, State: "partial", RowsAcked: t.Resume.RowsAcked, RowsRejected: t.Resume.RowsRejected})
		} else {
			r.listFile(FileReport{File: t.File, State: "not started"})
		}
	}
}

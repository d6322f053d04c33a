package importer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Counts are the report's counters. When a run finishes they add up:
//
//	RowsRead   = RowsMapped + RowsRejected
//	EventsRead = EventsSent + EventsExpired + EventsFuture + EventsRejected
//	UsersSent  = UsersAccepted + UsersRejected
type Counts struct {
	RowsRead          int64 `json:"rows_read"`
	RowsMapped        int64 `json:"rows_mapped"`
	RowsRejected      int64 `json:"rows_rejected"`
	RowsRejectedByAPI int64 `json:"rows_rejected_by_api"`
	RowsNothingToSend int64 `json:"rows_nothing_to_send"`

	EventsRead     int64 `json:"events_read"`
	EventsSent     int64 `json:"events_sent"`
	EventsExpired  int64 `json:"events_dropped_expired"`
	EventsFuture   int64 `json:"events_dropped_future"`
	EventsRejected int64 `json:"events_rejected"`

	UsersSent     int64 `json:"users_sent"`
	UsersAccepted int64 `json:"users_accepted"`
	UsersRejected int64 `json:"users_rejected"`
	UsersValid    int64 `json:"users_valid,omitempty"` // dry run: users that would be sent
}

func (c *Counts) add(o Counts) {
	c.RowsRead += o.RowsRead
	c.RowsMapped += o.RowsMapped
	c.RowsRejected += o.RowsRejected
	c.RowsRejectedByAPI += o.RowsRejectedByAPI
	c.RowsNothingToSend += o.RowsNothingToSend
	c.EventsRead += o.EventsRead
	c.EventsSent += o.EventsSent
	c.EventsExpired += o.EventsExpired
	c.EventsFuture += o.EventsFuture
	c.EventsRejected += o.EventsRejected
	c.UsersSent += o.UsersSent
	c.UsersAccepted += o.UsersAccepted
	c.UsersRejected += o.UsersRejected
	c.UsersValid += o.UsersValid
}

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

	// RejectsCSV are the rejects CSV files written (one per distinct input
	// header).
	RejectsCSV []string `json:"rejects_csv,omitempty"`
	// RejectReasons counts rejected rows by column and rule, most first. A
	// row with several problems counts under each.
	RejectReasons []RejectReason `json:"rejected_by_reason,omitempty"`
	// EventTTLs is the TTL in force for each event name the run mapped
	// (see eventTTLs).
	EventTTLs []EventTTL `json:"event_ttls,omitempty"`
}

// FileReport is the state of one input at the end of a run.
type FileReport struct {
	File         string `json:"file"`
	State        string `json:"state"` // done, partial, skipped (done earlier), changed
	RowsAcked    int64  `json:"rows_acked"`
	RowsRejected int64  `json:"rows_rejected"`
	Note         string `json:"note,omitempty"`
}

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

// report fills rep with what the run got to, and returns err, or
// ErrIncomplete for a run that finished with rejects.
func (r *run) report(rep *Report, start time.Time, err error) error {
	rep.Duration = r.opts.Now().Sub(start).Seconds()
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
	rep.EventTTLs = r.eventTTLs()
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
		fr := FileReport{File: f, State: state, RowsAcked: fs.RowsAcked, RowsRejected: fs.RowsRejected}
		if fs.Unreadable != "" {
			fr.Note = "reading stopped: " + fs.Unreadable
		}
		r.files = append(r.files, fr)
	}
}

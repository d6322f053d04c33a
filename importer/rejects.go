package importer

import (
	"fmt"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
)

// RejectReasonColumn is the column a rejects CSV adds after the source's
// own columns: why the row was rejected. The mapping ignores it (like any
// column it does not name), so the fixed file imports with the same config.
const RejectReasonColumn = rejects.ReasonColumn

// rejectRecord is a rejected row as the ledger and the tally see it; the
// rejects files get it as a rejects.Record (toRejects).
type rejectRecord struct {
	row      *row
	problems []Problem
	api      []string
	user     int
}

func (rr rejectRecord) reason() string {
	if len(rr.api) > 0 {
		return "rejected by Insider: " + rr.api[0]
	}
	if len(rr.problems) == 1 {
		return rr.problems[0].String()
	}
	s := fmt.Sprintf("%d problems: ", len(rr.problems))
	for i, p := range rr.problems {
		if i > 0 {
			s += "; "
		}
		s += p.String()
	}
	return s
}

// toRejects converts recs for the rejects files. It runs when they are
// written, after the refiller has read again the cells of rows Insider
// rejected.
func toRejects(recs []rejectRecord) []rejects.Record {
	out := make([]rejects.Record, len(recs))
	for i, rr := range recs {
		ps := make([]rejects.Problem, len(rr.problems))
		for j, p := range rr.problems {
			ps[j] = rejects.Problem(p)
		}
		out[i] = rejects.Record{Pos: rr.row.src.Pos, Cells: rr.row.cells(), Reason: rr.reason(), Problems: ps, Messages: rr.api}
	}
	return out
}

// setupRejects creates the rejects writer: JSON lines (Options.RejectsPath)
// and/or CSV (Options.RejectsCSVPath). The CSV starts afresh unless the run
// resumes a checkpoint; a resume after a crash cuts the files to the
// lengths the checkpoint recorded (rejects.Writer.Resume).
func (r *run) setupRejects(st checkpoint.State) error {
	if r.opts.RejectsPath == "" && r.opts.RejectsCSVPath == "" {
		return nil
	}
	var csv *rejects.CSV
	if r.opts.RejectsCSVPath != "" {
		csv = rejects.NewCSV(r.opts.RejectsCSVPath, r.cfg.Source.Delimiter, r.opts.DryRun || len(st.Files) == 0)
	}
	r.rejects = rejects.New(r.opts.RejectsPath, csv)
	warnings, err := r.rejects.Resume(st.Rejects)
	for _, w := range warnings {
		r.log.Warn(w)
	}
	return err
}

// reportRejects adds the rejects by reason and the CSV files written.
func (r *run) reportRejects(rep *Report) {
	if r.tally != nil {
		rep.RejectReasons = r.tally.reasons()
	}
	if r.rejects != nil {
		rep.RejectsCSV = r.rejects.CSVPaths()
	}
}

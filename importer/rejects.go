package importer

import (
	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
)

// RejectReasonColumn is the column a rejects CSV adds after the source's
// own columns: why the row was rejected. The mapping ignores it (like any
// column it does not name), so the fixed file imports with the same config.
const RejectReasonColumn = rejects.ReasonColumn

// The reject limit and the rejects by reason are the ledger's (package
// importer/ledger counts them); these names keep the importer's API.
type (
	// RejectLimit stops a run whose rows are rejected systematically.
	RejectLimit = ledger.RejectLimit
	// TooManyRejectsError stops a run at its RejectLimit.
	TooManyRejectsError = ledger.TooManyRejectsError
	// SystematicRejectsError stops a run without a RejectLimit in which one
	// rule failed on one column on every one of a file's first rows.
	SystematicRejectsError = ledger.SystematicRejectsError
	// RejectReason counts the rejected rows that share a reason.
	RejectReason = ledger.RejectReason
)

// DefaultRejectMinRows is how many rows are read before a percentage limit
// is checked.
const DefaultRejectMinRows = ledger.DefaultRejectMinRows

// ParseRejectLimit reads a limit as given on the command line: a number of
// rows ("500") or a percentage of the rows read ("5%"). "" is no limit (nil).
func ParseRejectLimit(s string) (*RejectLimit, error) { return ledger.ParseRejectLimit(s) }

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
		rep.RejectReasons = r.tally.Reasons()
	}
	if r.rejects != nil {
		rep.RejectsCSV = r.rejects.CSVPaths()
	}
}

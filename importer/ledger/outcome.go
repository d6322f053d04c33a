package ledger

import (
	"fmt"

	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/readers"
)

// Range is a batch as the ledger records it: the rows it covers, one
// Segment per file, in reading order. Committer.Dispatch numbers it; the
// same *Range then goes to WaitDurable and Complete.
type Range struct {
	Segs []Segment
	gen  int64 // dispatch generation: sent only once a checkpoint covers it
}

// Segment is a Range's rows in one file: [Start, End).
type Segment struct {
	File       string
	Start, End readers.Position
}

// Outcome is what became of the rows of a Range: the report's counts, and
// for each of its segments (one per Range.Segs) the rows acknowledged and
// those rejected.
type Outcome struct {
	Counts Counts
	Segs   []SegmentOutcome
}

// SegmentOutcome is what became of a Range's rows in one file.
type SegmentOutcome struct {
	Acked   int64    // rows acknowledged (sent, or with nothing to send)
	Rejects []Reject // in input order
}

// Reject is a rejected row as the ledger sees it: where it was read, its
// cells (Row), and why: the problems found in it, or Insider's messages
// about its user.
type Reject struct {
	Pos      readers.Position
	Row      Row
	Problems []rejects.Problem
	API      []string // Insider's messages, if it refused the row's user
	// Tallied: the Tally counted the row as rejected when it was observed
	// (it had problems then); the others it counts when they finish.
	Tallied bool
}

// Row gives a rejected row's cells for the rejects files. A row that gave
// them up once they were in a request body (Released) gets them back from
// the input, read again by position (Refill), before its reject is written.
type Row interface {
	Cells() []string
	Released() bool
	Refill(rec readers.Record)
}

// Reason is one line saying why the row was rejected.
func (rr Reject) Reason() string {
	if len(rr.API) > 0 {
		return "rejected by Insider: " + rr.API[0]
	}
	if len(rr.Problems) == 1 {
		return rr.Problems[0].String()
	}
	s := fmt.Sprintf("%d problems: ", len(rr.Problems))
	for i, p := range rr.Problems {
		if i > 0 {
			s += "; "
		}
		s += p.String()
	}
	return s
}

// Record converts rr for the rejects files. It is called when they are
// written, after the refiller has read again the cells of rows Insider
// rejected.
func (rr Reject) Record() rejects.Record {
	return rejects.Record{Pos: rr.Pos, Cells: rr.Row.Cells(), Reason: rr.Reason(), Problems: rr.Problems, Messages: rr.API}
}

func records(recs []Reject) []rejects.Record {
	out := make([]rejects.Record, len(recs))
	for i, rr := range recs {
		out[i] = rr.Record()
	}
	return out
}

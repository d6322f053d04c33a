package ledger

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrTooManyRejects: the run stopped early because rows were rejected
// systematically (a RejectLimit, or a SystematicRejectsError).
var ErrTooManyRejects = errors.New("too many rejected rows")

// RejectLimit stops a run whose rows are rejected systematically (a wrong
// layout, a column mapped to the wrong field), instead of rejecting a
// million rows one by one. Set Rows, or Percent.
type RejectLimit struct {
	// Rows: more than this many rejected rows stop the run (0: the first
	// rejected row does). Used when Percent is 0.
	Rows int64
	// Percent: more than this share of the rows read, rejected, stops the
	// run; checked once MinRows rows were read, and after every reject
	// from then on.
	Percent float64
	// MinRows is when Percent starts to count; 0 means 1000.
	MinRows int64
}

// DefaultRejectMinRows is how many rows are read before a percentage limit
// is checked.
const DefaultRejectMinRows = 1000

// ParseRejectLimit reads a limit as given on the command line: a number of
// rows ("500") or a percentage of the rows read ("5%"). "" is no limit (nil).
func ParseRejectLimit(s string) (*RejectLimit, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f >= 100 || f != f {
			return nil, fmt.Errorf("max rejects %q: a percentage is from 0%% to below 100%%, e.g. 5%%", s)
		}
		return &RejectLimit{Percent: f, MinRows: DefaultRejectMinRows}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("max rejects %q: give a number of rows (e.g. 100) or a percentage of the rows read (e.g. 5%%)", s)
	}
	return &RejectLimit{Rows: n}, nil
}

func (l RejectLimit) String() string {
	if l.Percent > 0 {
		return fmt.Sprintf("%s%% of the rows, checked from row %d", strconv.FormatFloat(l.Percent, 'f', -1, 64), l.minRows())
	}
	return fmt.Sprintf("%d rows", l.Rows)
}

func (l RejectLimit) minRows() int64 {
	if l.MinRows > 0 {
		return l.MinRows
	}
	return DefaultRejectMinRows
}

// exceeded reports whether rejected rows of read break the limit.
func (l RejectLimit) exceeded(rejected, read int64) bool {
	if l.Percent > 0 {
		return read >= l.minRows() && float64(rejected)*100 > l.Percent*float64(read)
	}
	return rejected > l.Rows
}

// TooManyRejectsError stops a run at its RejectLimit. It names the reasons
// rows failed for most, which usually point at one wrong column or layout.
// It matches ErrTooManyRejects with errors.Is.
type TooManyRejectsError struct {
	Limit    RejectLimit
	Rejected int64 // rows rejected when the run stopped
	Read     int64 // rows read when the run stopped
	Reasons  []RejectReason
}

func (e *TooManyRejectsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d of the first %d rows were rejected (limit: %s), so the run stopped", ErrTooManyRejects, e.Rejected, e.Read, e.Limit)
	for i, r := range e.Reasons {
		if i == 3 {
			break
		}
		if i == 0 {
			b.WriteString("; likely cause: ")
		} else {
			b.WriteString("; then: ")
		}
		if r.Column != "" {
			fmt.Fprintf(&b, "column %s failed on %d of %d rows: %s", r.Column, r.Rows, e.Read, r.Rule)
		} else {
			fmt.Fprintf(&b, "%d of %d rows: %s", r.Rows, e.Read, r.Rule)
		}
		if i == 0 && r.Example != "" {
			fmt.Fprintf(&b, " (e.g. %s)", r.Example)
		}
	}
	return b.String()
}

func (e *TooManyRejectsError) Unwrap() error { return ErrTooManyRejects }

// SystematicRejectsError stops a run without --max-rejects in which one
// rule failed on one column on every one of a file's first rows: a
// mistake in the mapping (a layout, a missing timezone, a wrong column)
// rather than in the data. It matches ErrTooManyRejects with errors.Is
// (exit 2).
type SystematicRejectsError struct {
	File         string
	Rows         int
	Column, Rule string
	Example      string // the first row's problem, with where it was
}

func (e *SystematicRejectsError) Error() string {
	return fmt.Sprintf("%v: column %s failed %s on every one of the first %d rows of %s, so the run stopped: the mapping does not fit this column; "+
		"fix the field (or set --max-rejects to import the other rows and reject these): e.g. %s", ErrTooManyRejects, e.Column, e.Rule, e.Rows, e.File, e.Example)
}

func (e *SystematicRejectsError) Unwrap() error { return ErrTooManyRejects }

package importer

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/insider-import/insider-import/checkpoint"
)

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

// RejectReason counts the rejected rows that share a reason: the column (if
// the problem is with one) and the rule. A row with several problems counts
// under each. Example is the first such problem, with where it was.
type RejectReason struct {
	Column  string `json:"column,omitempty"`
	Rule    string `json:"rule"`
	Rows    int64  `json:"rows"`
	Example string `json:"example,omitempty"`
}

// Rules for rows rejected after mapping.
const (
	ruleByInsider    = "rejected_by_insider"
	ruleOtherReasons = "other"
	maxReasons       = 100 // distinct reasons kept; the rest count as "other"
)

// rejectTally counts rows and rejects by reason for the report, and applies
// the RejectLimit. The producer shows it every row as it is mapped, in
// input order (observe); the committer shows it the rows rejected later:
// by Insider, or for size (late). A nil tally does nothing.
type rejectTally struct {
	limit *RejectLimit
	read  atomic.Int64

	mu       sync.Mutex
	rejected int64
	byReason map[reasonKey]*RejectReason
	stop     *TooManyRejectsError // set once the limit is broken
}

type reasonKey struct{ column, rule string }

func newRejectTally(limit *RejectLimit) *rejectTally {
	return &rejectTally{limit: limit, byReason: map[reasonKey]*RejectReason{}}
}

// observe counts a row the producer mapped. It returns a
// *TooManyRejectsError once the limit is broken. Rows without problems
// take one atomic add.
func (t *rejectTally) observe(r *row) error {
	if t == nil {
		return nil
	}
	read := t.read.Add(1)
	if len(r.problems) == 0 {
		if t.limit != nil && t.limit.Percent > 0 && read == t.limit.minRows() {
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.check()
		}
		return nil
	}
	r.tallied = true
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count(r, r.problems, nil)
	return t.check()
}

// late counts rejected rows that observe did not see rejected: Insider
// refused them, or their user was too large to send.
func (t *rejectTally) late(recs []rejectRecord) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, rr := range recs {
		if rr.row.tallied { // counted as rejected when it was mapped
			continue
		}
		rr.row.tallied = true
		t.count(rr.row, rr.problems, rr.api)
		n++
	}
	if n == 0 {
		return nil
	}
	return t.check()
}

// count records one rejected row under each of its reasons (once per
// reason). The caller holds mu.
func (t *rejectTally) count(r *row, problems []Problem, api []string) {
	t.rejected++
	if len(api) > 0 {
		t.add(reasonKey{rule: ruleByInsider}, r, api[0])
	}
	for i, p := range problems {
		k := reasonKey{p.Column, p.Rule}
		dup := false
		for _, q := range problems[:i] {
			if q.Column == p.Column && q.Rule == p.Rule {
				dup = true
				break
			}
		}
		if !dup {
			t.add(k, r, p.Msg)
		}
	}
}

func (t *rejectTally) add(k reasonKey, r *row, msg string) {
	rr := t.byReason[k]
	if rr == nil {
		if len(t.byReason) >= maxReasons {
			k = reasonKey{rule: ruleOtherReasons}
			rr = t.byReason[k]
		}
		if rr == nil {
			rr = &RejectReason{Column: k.column, Rule: k.rule, Example: r.pos.String() + ": " + msg}
			t.byReason[k] = rr
		}
	}
	rr.Rows++
}

// check applies the limit; the caller holds mu. Once broken, it keeps
// returning the same error.
func (t *rejectTally) check() error {
	if t.stop != nil {
		return t.stop
	}
	if t.limit == nil {
		return nil
	}
	read := t.read.Load()
	if !t.limit.exceeded(t.rejected, read) {
		return nil
	}
	t.stop = &TooManyRejectsError{Limit: *t.limit, Rejected: t.rejected, Read: read, Reasons: t.sortedLocked()}
	return t.stop
}

// reasons returns the counts by reason, most rows first.
func (t *rejectTally) reasons() []RejectReason {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sortedLocked()
}

func (t *rejectTally) sortedLocked() []RejectReason {
	out := make([]RejectReason, 0, len(t.byReason))
	for _, r := range t.byReason {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b RejectReason) int {
		if c := cmp.Compare(b.Rows, a.Rows); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Column, b.Column); c != 0 {
			return c
		}
		return cmp.Compare(a.Rule, b.Rule)
	})
	return out
}

// setupRejects creates the rejects writer: JSON lines (Options.RejectsPath)
// and/or CSV (Options.RejectsCSVPath). The CSV starts afresh unless the run
// resumes a checkpoint.
func (r *run) setupRejects(st checkpoint.State) {
	if r.opts.RejectsPath == "" && r.opts.RejectsCSVPath == "" {
		return
	}
	r.rejects = newRejectWriter(r.opts.RejectsPath)
	if r.opts.RejectsCSVPath != "" {
		r.rejects.csv = newRejectCSV(r.opts.RejectsCSVPath, r.cfg.Source.Delimiter, r.opts.DryRun || len(st.Files) == 0)
	}
}

// reportRejects adds the rejects by reason and the CSV files written.
func (r *run) reportRejects(rep *Report) {
	if r.ledger != nil {
		rep.RejectReasons = r.ledger.tally.reasons()
	}
	if r.rejects != nil && r.rejects.csv != nil {
		rep.RejectsCSV = slices.Clone(r.rejects.csv.paths)
	}
}

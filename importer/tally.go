package importer

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

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

	// streak, without a limit: one rule failing on one column on every
	// one of a file's first sampleRows rows stops the run (observe only).
	streak *streak
}

type reasonKey struct{ column, rule string }

func newRejectTally(limit *RejectLimit) *rejectTally {
	t := &rejectTally{limit: limit, byReason: map[reasonKey]*RejectReason{}}
	if limit == nil {
		t.streak = &streak{}
	}
	return t
}

// observe counts a row the producer mapped. It returns a
// *TooManyRejectsError once the limit is broken. Rows without problems
// take one atomic add.
func (t *rejectTally) observe(r *row) error {
	if t == nil {
		return nil
	}
	read := t.read.Add(1)
	if st := t.streak; st != nil && (st.active || r.src.Pos.File != st.file) {
		if err := st.step(r); err != nil {
			return err
		}
	}
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
			rr = &RejectReason{Column: k.column, Rule: k.rule, Example: r.src.Pos.String() + ": " + msg}
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

// streak follows the rules that failed on every row of a file so far, over
// its first sampleRows rows: a rule failing on one column on all of them is
// a mistake in the mapping, which would reject every row of the file one by
// one (DSBulk's maxErrors stops so too). It is the producer's: observe
// alone uses it.
type streak struct {
	file   string
	rows   int
	keys   []reasonKey // failing on every row so far
	first  []string    // the first row's message for each key
	active bool        // within the file's first rows, with keys left
}

// step follows row r. It returns a *SystematicRejectsError when a rule has
// failed on one column on every one of the file's first sampleRows rows.
func (s *streak) step(r *row) error {
	if f := r.src.Pos.File; f != s.file {
		s.file, s.rows, s.keys, s.first, s.active = f, 1, s.keys[:0], s.first[:0], true
		for _, p := range r.problems {
			k := reasonKey{p.Column, p.Rule}
			if p.Column != "" && !slices.Contains(s.keys, k) {
				s.keys = append(s.keys, k)
				s.first = append(s.first, r.src.Pos.String()+": "+p.Msg)
			}
		}
	} else {
		s.rows++
		n := 0
		for i, k := range s.keys {
			if slices.ContainsFunc(r.problems, func(p Problem) bool { return p.Column == k.column && p.Rule == k.rule }) {
				s.keys[n], s.first[n] = k, s.first[i]
				n++
			}
		}
		s.keys, s.first = s.keys[:n], s.first[:n]
	}
	if len(s.keys) == 0 {
		s.active = false
		return nil
	}
	if s.rows < sampleRows {
		return nil
	}
	s.active = false
	return &SystematicRejectsError{File: s.file, Rows: s.rows, Column: s.keys[0].column, Rule: s.keys[0].rule, Example: s.first[0]}
}

package ledger

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/readers"
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

// Tally counts rows and rejects by reason for the report, and applies the
// RejectLimit. The producer shows it every row as it is mapped, in input
// order (Observe); the Committer shows it the rows rejected later: by
// Insider, or for size. A nil Tally does nothing.
type Tally struct {
	limit *RejectLimit
	read  atomic.Int64

	mu       sync.Mutex
	rejected int64
	byReason map[reasonKey]*RejectReason
	stop     *TooManyRejectsError // set once the limit is broken

	// streak, without a limit: one rule failing on one column on every
	// one of a file's first encode.SampleRows rows stops the run (Observe only).
	streak *streak
}

type reasonKey struct{ column, rule string }

// NewTally returns a Tally applying limit; without one (nil), one rule
// failing on one column on every one of a file's first rows stops the run
// (a SystematicRejectsError).
func NewTally(limit *RejectLimit) *Tally {
	t := &Tally{limit: limit, byReason: map[reasonKey]*RejectReason{}}
	if limit == nil {
		t.streak = &streak{}
	}
	return t
}

// Observe counts a row the producer mapped, read at pos, with the problems
// found in it (none: it is not rejected, so far). It returns a
// *TooManyRejectsError once the limit is broken. Rows without problems
// take one atomic add.
func (t *Tally) Observe(pos readers.Position, problems []rejects.Problem) error {
	if t == nil {
		return nil
	}
	read := t.read.Add(1)
	if st := t.streak; st != nil && (st.active || pos.File != st.file) {
		if err := st.step(pos, problems); err != nil {
			return err
		}
	}
	if len(problems) == 0 {
		if t.limit != nil && t.limit.Percent > 0 && read == t.limit.minRows() {
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.check()
		}
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count(pos, problems, nil)
	return t.check()
}

// late counts rejected rows that Observe did not see rejected: Insider
// refused them, or their user was too large to send.
func (t *Tally) late(recs []Reject) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for i := range recs {
		rr := &recs[i]
		if rr.Tallied { // counted as rejected when it was mapped
			continue
		}
		rr.Tallied = true
		t.count(rr.Pos, rr.Problems, rr.API)
		n++
	}
	if n == 0 {
		return nil
	}
	return t.check()
}

// count records one rejected row under each of its reasons (once per
// reason). The caller holds mu.
func (t *Tally) count(pos readers.Position, problems []rejects.Problem, api []string) {
	t.rejected++
	if len(api) > 0 {
		t.add(reasonKey{rule: ruleByInsider}, pos, api[0])
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
			t.add(k, pos, p.Msg)
		}
	}
}

func (t *Tally) add(k reasonKey, pos readers.Position, msg string) {
	rr := t.byReason[k]
	if rr == nil {
		if len(t.byReason) >= maxReasons {
			k = reasonKey{rule: ruleOtherReasons}
			rr = t.byReason[k]
		}
		if rr == nil {
			rr = &RejectReason{Column: k.column, Rule: k.rule, Example: pos.String() + ": " + msg}
			t.byReason[k] = rr
		}
	}
	rr.Rows++
}

// check applies the limit; the caller holds mu. Once broken, it keeps
// returning the same error.
func (t *Tally) check() error {
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

// Reasons returns the counts by reason, most rows first.
func (t *Tally) Reasons() []RejectReason {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sortedLocked()
}

func (t *Tally) sortedLocked() []RejectReason {
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
// its first encode.SampleRows rows (as many as the precheck samples): a
// rule failing on one column on all of them is a mistake in the mapping,
// which would reject every row of the file one by one (DSBulk's maxErrors
// stops so too). It is the producer's: Observe alone uses it.
type streak struct {
	file   string
	rows   int
	keys   []reasonKey // failing on every row so far
	first  []string    // the first row's message for each key
	active bool        // within the file's first rows, with keys left
}

// step follows the row read at pos, with problems. It returns a
// *SystematicRejectsError when a rule has failed on one column on every one
// of the file's first encode.SampleRows rows.
func (s *streak) step(pos readers.Position, problems []rejects.Problem) error {
	if f := pos.File; f != s.file {
		s.file, s.rows, s.keys, s.first, s.active = f, 1, s.keys[:0], s.first[:0], true
		for _, p := range problems {
			k := reasonKey{p.Column, p.Rule}
			if p.Column != "" && !slices.Contains(s.keys, k) {
				s.keys = append(s.keys, k)
				s.first = append(s.first, pos.String()+": "+p.Msg)
			}
		}
	} else {
		s.rows++
		n := 0
		for i, k := range s.keys {
			if slices.ContainsFunc(problems, func(p rejects.Problem) bool { return p.Column == k.column && p.Rule == k.rule }) {
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
	if s.rows < encode.SampleRows {
		return nil
	}
	s.active = false
	return &SystematicRejectsError{File: s.file, Rows: s.rows, Column: s.keys[0].column, Rule: s.keys[0].rule, Example: s.first[0]}
}

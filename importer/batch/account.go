package batch

import (
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger"
)

// Outcome is what the API said about a batch.
type Outcome struct {
	Failed map[int][]string // by user index: Insider's messages
	DryRun bool             // nothing was sent: the users are counted valid
}

// Account works out what b's outcome means for each of its rows, for the
// ledger: the counts, and by file the rows acknowledged and the rejects to
// write (rows refused before sending, with their problems; users Insider
// refused, with its messages).
func Account(b *Batch, o Outcome) ledger.Outcome {
	c, recs := countRows(b, o)
	c = userCounts(c, b, o)
	if len(b.segs) > 1 {
		return ledger.Outcome{Counts: c, Segs: splitSegs(b, recs)}
	}
	return ledger.Outcome{Counts: c, Segs: []ledger.SegmentOutcome{{Acked: c.RowsMapped - c.RowsRejectedByAPI, Rejects: recs}}}
}

// count adds row r of the batch, at cut, to what countRows returns for a
// batch taken whole.
func (b *Batch) count(r *encode.Row) { b.rejected, _ = countRow(&b.counts, b.rejected, r) }

// countRow adds row r to c, and to rejects when it has problems; mapped
// says it has none.
func countRow(c *ledger.Counts, rejects []ledger.Reject, r *encode.Row) (_ []ledger.Reject, mapped bool) {
	c.RowsRead++
	c.EventsRead += int64(r.EventsRead)
	if len(r.Problems) > 0 {
		c.RowsRejected++
		c.EventsRejected += int64(r.EventsRead)
		return append(rejects, ledger.Reject{Pos: r.Src.Pos, Row: r, Problems: r.Problems, Tallied: r.Tallied}), false
	}
	c.RowsMapped++
	c.EventsExpired += int64(r.Expired)
	c.EventsFuture += int64(r.Future)
	return rejects, true
}

// countRows counts b's rows and lists its rejects, in input order.
func countRows(b *Batch, o Outcome) (ledger.Counts, []ledger.Reject) {
	// Which user holds a row matters only when Insider refused some: a
	// batch taken whole (the usual case) was counted at cut.
	if len(o.Failed) == 0 {
		c := b.counts
		c.RowsNothingToSend = c.RowsMapped - b.userRows
		return c, b.rejected
	}
	userOf := make(map[*encode.Row]int, len(b.userUnit))
	for i, u := range b.userUnit {
		for _, r := range u.users {
			userOf[r] = i
		}
	}
	var c ledger.Counts
	var rejects []ledger.Reject
	for _, u := range b.units {
		for _, r := range u.rows {
			var mapped bool
			if rejects, mapped = countRow(&c, rejects, r); !mapped {
				continue
			}
			i, inUser := userOf[r]
			if !inUser {
				c.RowsNothingToSend++
				continue
			}
			if msgs, failed := o.Failed[i]; failed {
				c.RowsRejectedByAPI++
				c.EventsRejected += int64(len(r.Evs))
				rejects = append(rejects, ledger.Reject{Pos: r.Src.Pos, Row: r, API: msgs, Tallied: r.Tallied})
				continue
			}
			c.EventsSent += int64(len(r.Evs))
		}
	}
	return c, rejects
}

// userCounts adds the user counts of b's outcome to c.
func userCounts(c ledger.Counts, b *Batch, o Outcome) ledger.Counts {
	users := int64(b.NUsers())
	c.UsersRejected = int64(len(o.Failed))
	c.UsersSent = users
	c.UsersAccepted = users - c.UsersRejected
	if o.DryRun {
		c.UsersSent, c.UsersAccepted = 0, 0
		c.UsersValid = users
	}
	return c
}

// splitSegs divides the rows of b, a batch over several files, by file
// (b.segs): the rows acknowledged in each, and its rejects (rejects is in
// input order, as countRows makes it).
func splitSegs(b *Batch, rejects []ledger.Reject) []ledger.SegmentOutcome {
	out := make([]ledger.SegmentOutcome, len(b.segs))
	j := 0
	for k, sg := range b.segs {
		to := len(b.units)
		if k+1 < len(b.segs) {
			to = b.segs[k+1].unit
		}
		from := j
		for _, u := range b.units[sg.unit:to] {
			for _, r := range u.rows {
				if j < len(rejects) && rejects[j].Row == ledger.Row(r) {
					j++
				} else {
					out[k].Acked++
				}
			}
		}
		out[k].Rejects = rejects[from:j]
	}
	return out
}

// setRange records b as the ledger records it (Range), from b.segs, once
// it is cut.
func (b *Batch) setRange() {
	b.lr.Segs = make([]ledger.Segment, len(b.segs))
	for i, sg := range b.segs {
		b.lr.Segs[i] = ledger.Segment{File: sg.file, Start: sg.start, End: sg.end}
	}
}

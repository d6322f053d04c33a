package importer

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/readers"
)

// ledger is the committer: it learns of every batch when it is dispatched
// and when it is finished, keeps the per-file frontier and ranges the
// checkpoint records, writes rejects, and counts for the report. Batches
// finish out of order; the frontier only advances over a contiguous run of
// finished ones. It is safe for concurrent use.
type ledger struct {
	mu      sync.Mutex
	state   checkpoint.State
	files   map[string]*fileLedger
	rejects *rejectWriter
	counts  Counts
	dirty   bool
	gen     int64 // counts dispatches; a saved State covers all up to its gen
	now     func() time.Time
}

type fileLedger struct {
	fs      *checkpoint.FileState
	entries []*entry // ranges after the frontier, in input order
	eof     bool     // this run read the file to its end
}

type entry struct {
	r        checkpoint.Range
	done     bool
	answered bool // answered, its rejects not written yet (see commit.settle)
}

func newLedger(st checkpoint.State, rejects *rejectWriter, now func() time.Time) *ledger {
	if st.Files == nil {
		st.Files = map[string]*checkpoint.FileState{}
	}
	return &ledger{state: st, files: map[string]*fileLedger{}, rejects: rejects, now: now}
}

// begin starts (or resumes) a file and returns its state and the ranges an
// earlier run recorded beyond the frontier, in input order. They become
// entries: finished ones as done, in-flight ones as placeholders the re-sent
// batches will fill. A file started now gets its frontier at from: the
// start of the file, or of this shard's part of it.
func (l *ledger) begin(file string, id readers.Identity, ref time.Time, from readers.Position) (*checkpoint.FileState, []entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.state.Files[file]
	if fs == nil {
		from.File = ""
		fs = &checkpoint.FileState{Identity: id, RefTime: ref, Frontier: from}
		l.state.Files[file] = fs
	}
	if fs.Unreadable != "" {
		// It stopped reading as unreadable; this is the input as it is now
		// (fixed, or not: then it stops again).
		fs.Identity, fs.Unreadable = id, ""
	}
	fs.LastRun = l.now()
	fl := &fileLedger{fs: fs}
	for _, r := range fs.Done {
		fl.entries = append(fl.entries, &entry{r: r, done: true})
	}
	for _, r := range fs.InFlight {
		fl.entries = append(fl.entries, &entry{r: r})
	}
	slices.SortFunc(fl.entries, func(a, b *entry) int { return cmp.Compare(a.r.Start.Index, b.r.Start.Index) })
	earlier := make([]entry, len(fl.entries))
	for i, e := range fl.entries {
		earlier[i] = *e
	}
	l.files[file] = fl
	l.dirty = true
	return fs, earlier
}

// unreadable records that reading file stopped on a fatal error (why).
func (l *ledger) unreadable(file, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fs := l.state.Files[file]; fs != nil {
		fs.Unreadable = why
		l.dirty = true
	}
}

// dispatch records that b is about to be sent: from now on a checkpoint
// lists it as in flight.
func (l *ledger) dispatch(b *batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fl := l.files[b.file]
	l.gen++
	b.gen = l.gen
	r := checkpoint.Range{Start: b.start, End: b.end}
	found := false
	for _, e := range fl.entries {
		if e.r.Start.Index == r.Start.Index && !e.done {
			e.r = r // a re-sent in-flight batch from an earlier run
			found = true
			break
		}
	}
	if !found {
		fl.entries = append(fl.entries, &entry{r: r})
	}
	// Rebuild fs.InFlight now, not at the next completion: the save a
	// worker waits for before sending b must list b.
	l.advance(fl)
	l.dirty = true
}

// finishFile records that the file was read to its end, at end. A file
// with nothing outstanding (no data rows, or every row finished) gets its
// frontier at end at once.
func (l *ledger) finishFile(file string, end readers.Position) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fl := l.files[file]
	fl.fs.Total, fl.eof = end.Index, true
	if len(fl.entries) == 0 && fl.fs.Frontier.Index == end.Index {
		fl.fs.Frontier = end
	}
	l.advance(fl)
	l.dirty = true
}

// outcome is what the API said about a batch.
type outcome struct {
	failed map[int][]string // by user index: Insider's messages
	dryRun bool
}

// account works out what b's outcome means for each of its rows: the
// counts, and the rejects to write (rows refused before sending, with
// their problems; users Insider refused, with its messages).
func account(b *batch, o outcome) (Counts, []rejectRecord) {
	// Which user holds a row matters only when Insider refused some: for
	// a batch taken whole (the usual case) the counts come without a map
	// from rows to users.
	var userOf map[*row]int
	if len(o.failed) > 0 {
		userOf = make(map[*row]int, len(b.userUnit))
		for i, u := range b.userUnit {
			for _, r := range u.users {
				userOf[r] = i
			}
		}
	}
	var c Counts
	var rejects []rejectRecord
	for _, u := range b.units {
		for _, r := range u.rows {
			c.RowsRead++
			c.EventsRead += int64(r.eventsRead)
			if len(r.problems) > 0 {
				c.RowsRejected++
				c.EventsRejected += int64(r.eventsRead)
				rejects = append(rejects, rejectRecord{row: r, problems: r.problems})
				continue
			}
			c.RowsMapped++
			c.EventsExpired += int64(r.expired)
			c.EventsFuture += int64(r.future)
			if userOf == nil {
				continue // counted below
			}
			i, inUser := userOf[r]
			if !inUser {
				c.RowsNothingToSend++
				continue
			}
			if msgs, failed := o.failed[i]; failed {
				c.RowsRejectedByAPI++
				c.EventsRejected += int64(len(r.evs))
				rejects = append(rejects, rejectRecord{row: r, api: msgs, user: i})
				continue
			}
			c.EventsSent += int64(len(r.evs))
		}
	}
	if userOf == nil {
		// Rows in user objects have no problems: the mapped rows in none
		// are the rest.
		c.RowsNothingToSend = c.RowsMapped
		for _, u := range b.userUnit {
			for _, r := range u.users {
				c.RowsNothingToSend--
				c.EventsSent += int64(len(r.evs))
			}
		}
	}
	return userCounts(c, b, o), rejects
}

// userCounts adds the user counts of b's outcome to c.
func userCounts(c Counts, b *batch, o outcome) Counts {
	users := int64(b.nUsers())
	c.UsersRejected = int64(len(o.failed))
	c.UsersSent = users
	c.UsersAccepted = users - c.UsersRejected
	if o.dryRun {
		c.UsersSent, c.UsersAccepted = 0, 0
		c.UsersValid = users
	}
	return c
}

// answered marks b answered while its rejects wait to be written: it
// stays in flight in the checkpoint until finish.
func (l *ledger) answered(b *batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.files[b.file].entries {
		if e.r.Start.Index == b.start.Index {
			e.answered = true
		}
	}
}

// settledBefore is the input index before which every batch of file this
// run dispatched has been answered: rejects up to there can be read again
// in one forward pass.
func (l *ledger) settledBefore(file string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.files[file].entries {
		if !e.done && !e.answered {
			return e.r.Start.Index
		}
	}
	return math.MaxInt64
}

// finish writes the rejects of b and records it finished, under one lock:
// a snapshot then records rejects files lengths that hold exactly the
// rejects of the ranges it counts finished. If the rejects cannot be
// written, b stays in flight (a resume redoes it, rejects and all).
func (l *ledger) finish(b *batch, c Counts, rejects []rejectRecord) error {
	var enc *encoded
	if len(rejects) > 0 && l.rejects != nil {
		enc = l.rejects.encode(b.file, rejects) // outside the lock: only appending needs it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if enc != nil {
		if err := l.rejects.append(enc); err != nil {
			return err
		}
	}
	l.counts.add(c)
	fl := l.files[b.file]
	for _, e := range fl.entries {
		if e.r.Start.Index == b.start.Index {
			e.done = true
		}
	}
	fl.fs.RowsAcked += c.RowsMapped - c.RowsRejectedByAPI
	fl.fs.RowsRejected += c.RowsRejected + c.RowsRejectedByAPI
	l.advance(fl)
	l.dirty = true
	return nil
}

// advance moves the frontier over finished leading entries and marks the
// file finished once it was read to the end and nothing is outstanding.
func (l *ledger) advance(fl *fileLedger) {
	i := 0
	for i < len(fl.entries) && fl.entries[i].done {
		fl.fs.Frontier = fl.entries[i].r.End
		i++
	}
	fl.entries = fl.entries[i:]
	if fl.eof && len(fl.entries) == 0 && fl.fs.Frontier.Index >= fl.fs.Total {
		fl.fs.Finished = true
	}
	fl.fs.Done, fl.fs.InFlight = fl.fs.Done[:0], fl.fs.InFlight[:0]
	for _, e := range fl.entries {
		if e.done {
			fl.fs.Done = append(fl.fs.Done, e.r)
		} else {
			fl.fs.InFlight = append(fl.fs.InFlight, e.r)
		}
	}
}

// snapshot returns a deep copy of the state to save, whether anything
// changed since the last snapshot, and the dispatch generation it covers.
func (l *ledger) snapshot() (checkpoint.State, bool, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state
	st.Updated = l.now()
	st.Files = make(map[string]*checkpoint.FileState, len(l.state.Files))
	for k, v := range l.state.Files {
		c := *v
		c.Done = slices.Clone(v.Done)
		c.InFlight = slices.Clone(v.InFlight)
		st.Files[k] = &c
	}
	dirty := l.dirty
	if l.rejects != nil {
		rs := l.rejects.state()
		if l.state.Rejects == nil || rs.Closed != l.state.Rejects.Closed {
			dirty = true // the last save of a run says the files end here
		}
		st.Rejects, l.state.Rejects = rs, rs
	}
	l.dirty = false
	return st, dirty, l.gen
}

func (l *ledger) totals() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts
}

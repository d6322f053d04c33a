package ledger

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/readers"
)

// ledger is the Committer's book: it learns of every batch when it is
// dispatched and when it is finished, keeps the per-file frontier and
// ranges the checkpoint records, writes rejects, and counts for the report.
// Batches finish out of order; the frontier only advances over a contiguous
// run of finished ones. It is safe for concurrent use.
type ledger struct {
	mu      sync.Mutex
	state   checkpoint.State
	files   map[string]*fileLedger // files this run reads and has not finished
	rejects *rejects.Writer
	counts  Counts
	dirty   bool
	gen     int64 // counts dispatches; a saved State covers all up to its gen
	now     func() time.Time

	// finished counts the finished files in state.Files; once there are
	// ArchiveAfter, snapshot moves them to archiving, the files the next
	// save archives (checkpoint.State.Archived), until one succeeds.
	finished  int
	archiving []checkpoint.ArchivedFile
	// done, if set, learns of each file this run finishes, once.
	done func(file string, fs *checkpoint.FileState)
	// forgetFinished drops finished files from the state at once: with no
	// store, nothing would ever archive them.
	forgetFinished bool
}

// ArchiveAfter is how many finished files a checkpoint keeps in Files
// before they are archived: a save rewrites at most about this many.
const ArchiveAfter = 1000

type fileLedger struct {
	name    string
	fs      *checkpoint.FileState
	entries []*entry // ranges after the frontier, in input order
	eof     bool     // this run read the file to its end
}

type entry struct {
	r        checkpoint.Range
	done     bool
	answered bool // answered, its rejects not written yet (see Committer.settle)
}

// Recorded is a range an earlier run recorded for a file (Committer.Begin):
// finished (Done), or in flight, to be sent again exactly as it was.
type Recorded struct {
	checkpoint.Range
	Done bool
}

func newLedger(st checkpoint.State, rejects *rejects.Writer, now func() time.Time) *ledger {
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
func (l *ledger) begin(file string, id readers.Identity, ref time.Time, from readers.Position) (*checkpoint.FileState, []Recorded) {
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
	fl := &fileLedger{name: file, fs: fs}
	for _, r := range fs.Done {
		fl.entries = append(fl.entries, &entry{r: r, done: true})
	}
	for _, r := range fs.InFlight {
		fl.entries = append(fl.entries, &entry{r: r})
	}
	slices.SortFunc(fl.entries, func(a, b *entry) int { return cmp.Compare(a.r.Start.Index, b.r.Start.Index) })
	earlier := make([]Recorded, len(fl.entries))
	for i, e := range fl.entries {
		earlier[i] = Recorded{Range: e.r, Done: e.done}
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

// dispatch records that rg is about to be sent: from now on a checkpoint
// lists it as in flight, in each file it holds rows of.
func (l *ledger) dispatch(rg *Range) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	rg.gen = l.gen
	for k, sg := range rg.Segs {
		fl := l.files[sg.File]
		r := checkpoint.Range{Start: sg.Start, End: sg.End, Cont: k > 0}
		found := false
		for _, e := range fl.entries {
			if e.r.Start.Index == r.Start.Index && !e.done {
				e.r = r // a re-sent in-flight batch from an earlier run
				found = true
				break
			}
		}
		if !found {
			// In input order: a batch rebuilt on resume may end before
			// the range recorded for it, and the rest follows it.
			i := len(fl.entries)
			for i > 0 && fl.entries[i-1].r.Start.Index > r.Start.Index {
				i--
			}
			fl.entries = slices.Insert(fl.entries, i, &entry{r: r})
		}
		// Rebuild fs.InFlight now, not at the next completion: the save a
		// worker waits for before sending the batch must list it.
		l.advance(fl)
	}
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

// answered marks rg answered while its rejects wait to be written: it
// stays in flight in the checkpoint until finish.
func (l *ledger) answered(rg *Range) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sg := range rg.Segs {
		for _, e := range l.files[sg.File].entries {
			if e.r.Start.Index == sg.Start.Index {
				e.answered = true
			}
		}
	}
}

// settledBefore is the input index before which every batch of file this
// run dispatched has been answered: rejects up to there can be read again
// in one forward pass.
func (l *ledger) settledBefore(file string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fl := l.files[file]; fl != nil {
		for _, e := range fl.entries {
			if !e.done && !e.answered {
				return e.r.Start.Index
			}
		}
	}
	return math.MaxInt64
}

// finish writes the rejects of rg and records it finished, under one
// lock: a snapshot then records rejects files lengths that hold exactly the
// rejects of the ranges it counts finished. If the rejects cannot be
// written, rg stays in flight (a resume redoes it, rejects and all).
func (l *ledger) finish(rg *Range, o Outcome) error {
	var encs []*rejects.Encoded
	if l.rejects != nil {
		// outside the lock: only appending needs it
		for i, so := range o.Segs {
			if len(so.Rejects) > 0 {
				encs = append(encs, l.rejects.Encode(rg.Segs[i].File, records(so.Rejects)))
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, enc := range encs {
		if err := l.rejects.Append(enc); err != nil {
			return err
		}
	}
	l.counts.add(o.Counts)
	for i, sg := range rg.Segs {
		fl := l.files[sg.File]
		for _, e := range fl.entries {
			if e.r.Start.Index == sg.Start.Index {
				e.done = true
			}
		}
		fl.fs.RowsAcked += o.Segs[i].Acked
		fl.fs.RowsRejected += int64(len(o.Segs[i].Rejects))
		l.advance(fl)
	}
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
	if fl.eof && len(fl.entries) == 0 && fl.fs.Frontier.Index >= fl.fs.Total && !fl.fs.Finished {
		fl.fs.Finished = true
		// Nothing of the file is outstanding: this run forgets it, but for
		// its entry in the checkpoint (archived in time).
		delete(l.files, fl.name)
		l.finished++
		if l.rejects != nil {
			l.rejects.Forget(fl.name)
		}
		if l.done != nil {
			l.done(fl.name, fl.fs)
		}
		if l.forgetFinished {
			delete(l.state.Files, fl.name)
			l.finished--
		}
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
// Once ArchiveAfter files are finished, they move from Files to Archived
// (in the order of their names); archived(n) drops them once saved.
func (l *ledger) snapshot() (checkpoint.State, bool, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished >= ArchiveAfter {
		var names []string
		for name, fs := range l.state.Files {
			if fs.Finished {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			l.archiving = append(l.archiving, checkpoint.ArchivedFile{File: name, FileState: *l.state.Files[name]})
			delete(l.state.Files, name)
		}
		l.finished = 0
		l.dirty = true
	}
	st := l.state
	st.Updated = l.now()
	st.Files = make(map[string]*checkpoint.FileState, len(l.state.Files))
	for k, v := range l.state.Files {
		c := *v
		c.Done = slices.Clone(v.Done)
		c.InFlight = slices.Clone(v.InFlight)
		st.Files[k] = &c
	}
	st.Archived = slices.Clip(l.archiving)
	dirty := l.dirty
	if l.rejects != nil {
		rs := l.rejects.State()
		if l.state.Rejects == nil || rs.Closed != l.state.Rejects.Closed {
			dirty = true // the last save of a run says the files end here
		}
		st.Rejects, l.state.Rejects = rs, rs
	}
	l.dirty = false
	return st, dirty, l.gen
}

// archived drops the first n files waiting to be archived: a save that
// archived them succeeded.
func (l *ledger) archived(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.archiving = l.archiving[n:]
	if len(l.archiving) == 0 {
		l.archiving = nil
	}
}

// unfinished calls f for each file the state records as not finished.
func (l *ledger) unfinished(f func(file string, fs *checkpoint.FileState)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, fs := range l.state.Files {
		if !fs.Finished {
			f(name, fs)
		}
	}
}

func (l *ledger) totals() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts
}

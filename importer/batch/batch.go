package batch

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/readers"
)

// A unit is what the grouper hands the batcher: the consecutive rows of one
// user merged into one user object, plus the rejected or empty rows that
// came between them. Its rows form one contiguous range of the input.
type unit struct {
	first readers.Position
	rows  []*encode.Row // in input order, rejected ones included
	users []*encode.Row // rows whose content goes into the user object; nil when nothing is sent
	few   [4]*encode.Row
}

// maxUnitRows bounds how many consecutive rows of one user merge into one
// user object, so that memory and request size stay bounded.
const maxUnitRows = 500

// grouper merges consecutive rows of the same user. It is deterministic:
// the same rows always give the same units.
type grouper struct {
	pending *unit
	key     []byte
	units   []unit // a block of units to hand out (see newUnit)
}

// unitBlock is how many units one allocation holds. Units of consecutive
// users live about as long as each other (until their batches are
// answered), so a block keeps little alive for long.
const unitBlock = 128

// newUnit returns a unit starting at first, cut from the current block.
func (g *grouper) newUnit(first readers.Position) *unit {
	if len(g.units) == 0 {
		g.units = make([]unit, unitBlock)
	}
	u := &g.units[0]
	g.units = g.units[1:]
	u.first = first
	u.rows = u.few[:0] // most users have a few rows: no slice of their own
	return u
}

// add takes the next row and returns a finished unit, if the row closed one.
func (g *grouper) add(r *encode.Row) *unit {
	ok := len(r.Problems) == 0
	var done *unit
	if g.pending != nil && (len(g.pending.rows) >= maxUnitRows || ok && g.key != nil && !bytes.Equal(g.key, r.Key)) {
		done = g.flush()
	}
	if g.pending == nil {
		g.pending = g.newUnit(r.Src.Pos)
	}
	g.pending.rows = append(g.pending.rows, r)
	if ok && g.key == nil {
		g.key = r.Key
	}
	return done
}

// flush closes the pending unit and picks the rows whose content goes into
// its user object; the batcher encodes it straight into a request body.
func (g *grouper) flush() *unit {
	u := g.pending
	g.pending, g.key = nil, nil
	if u == nil {
		return nil
	}
	usable := func(r *encode.Row) bool { return len(r.Problems) == 0 && (r.Attrs != nil || len(r.Evs) > 0) }
	n := 0
	for _, r := range u.rows {
		if usable(r) {
			n++
		}
	}
	switch {
	case n == len(u.rows):
		u.users = u.rows // the usual unit: every row goes in
	case n > 0:
		u.users = make([]*encode.Row, 0, n)
		for _, r := range u.rows {
			if usable(r) {
				u.users = append(u.users, r)
			}
		}
	}
	return u
}

// Settings are the config's inputs of the batch stage.
type Settings struct {
	Users int // delivery.batch_users: users per request
	Bytes int // delivery.batch_bytes: encoded JSON per request
	// Attributes are the mapping's attributes, in the order of each
	// row's Attrs.
	Attributes []config.Field
	// NotAppend is insider.array_attributes: overwrite.
	NotAppend bool
	// ErrorCallbackURL is insider.error_callback_url, sent with every
	// request.
	ErrorCallbackURL string
}

// SettingsOf returns cfg's settings of the batch stage.
func SettingsOf(cfg *config.Config) Settings {
	return Settings{Users: cfg.Delivery.BatchUsers, Bytes: cfg.Delivery.BatchBytes, Attributes: cfg.Mapping.Attributes,
		NotAppend: cfg.Insider.NotAppend, ErrorCallbackURL: cfg.Insider.ErrorCallbackURL}
}

// Stage is the batch stage: rows in input order, file after file, become
// user objects (grouper), packed into request bodies (batcher), each
// closed batch handed to emit. A user object never spans files; a batch
// does: it holds up to batch_users users from as many files as it takes.
type Stage struct {
	g    grouper
	bt   *batcher
	emit func(*Batch) error
}

// NewStage returns a batch stage that hands each closed batch to emit.
// bodies, if not nil, holds the request bodies of answered batches for
// reuse (Batch.Retire).
func NewStage(s Settings, bodies *sync.Pool, emit func(*Batch) error) *Stage {
	bt := newBatcher(s)
	bt.bodies = bodies
	return &Stage{bt: bt, emit: emit}
}

// BeginFile says the rows that follow are those of file, the seq-th file
// the stage reads.
func (s *Stage) BeginFile(file string, seq int) {
	s.bt.file, s.bt.seq = file, seq
}

// EndFile closes the open user object at the end of the current file (end:
// the position after its last row). The open batch stays open for the
// rows of the next file; its part in this file ends at end.
func (s *Stage) EndFile(end readers.Position) error {
	if u := s.g.flush(); u != nil {
		if err := s.put(s.bt.add(u)); err != nil {
			return err
		}
	}
	if c := s.bt.cur; c != nil {
		if sg := &c.segs[len(c.segs)-1]; sg.seq == s.bt.seq {
			sg.end = end
		}
	}
	return nil
}

// Close closes the open batch after the last file.
func (s *Stage) Close() error {
	if c := s.bt.cur; c != nil {
		return s.put(s.bt.cut(c.segs[len(c.segs)-1].end))
	}
	return nil
}

// Add takes the next row.
func (s *Stage) Add(rw *encode.Row) error {
	if u := s.g.add(rw); u != nil {
		return s.put(s.bt.add(u))
	}
	return nil
}

// Cut closes the open user object and batch at at (the position of the
// next row of the current file); with nothing open it does nothing.
func (s *Stage) Cut(at readers.Position) error {
	if u := s.g.flush(); u != nil {
		if err := s.put(s.bt.add(u)); err != nil {
			return err
		}
	}
	return s.put(s.bt.cut(at))
}

func (s *Stage) put(b *Batch) error {
	if b == nil {
		return nil
	}
	return s.emit(b)
}

// segment is the part of a batch in one file: rows [start, end) of it,
// and the batch's units from unit on (up to the next segment's).
type segment struct {
	file       string
	seq        int // the file's place in the run's reading order
	start, end readers.Position
	unit       int
}

// Batch is one request's worth of users and the contiguous input range
// they came from, with the rows of that range that were rejected before
// sending: rows [start, end) of one file, or, when it spans files (segs),
// from start in file to end in the last one, every row between included.
type Batch struct {
	file       string           // the first file
	start, end readers.Position // start in file, end in the last file
	segs       []segment        // by file, in order; one for a batch within one file
	units      []*unit
	body       []byte
	userOff    []int // offsets of each user object in body, plus the end
	userUnit   []*unit
	userHash   []uint64 // of each user's identifiers (see Order)
	// userAttrs holds, for user k, the hash of each attribute's value at
	// k*nAttrs+i (0: not set by this batch), for Order.
	userAttrs []uint64
	rows      int64        // rows in the range
	lr        ledger.Range // the batch as the ledger records it (Range)
	// At cut, for Account: the counts of the batch taken whole (but
	// RowsNothingToSend), the rows in user objects, and the rows
	// rejected before sending, in input order.
	counts   ledger.Counts
	userRows int64
	rejected []ledger.Reject

	// While the batch is open (its users by hash are in batcher.users):
	// the sizes of their objects, what merging rows into earlier users
	// added, and which users that was (joined[k]; nil when none): their
	// objects are encoded again at cut. When inexact, the sizes of joined
	// users, and so extra, are bounds (encode.GrowthBound), never below
	// the exact ones.
	userSize []int
	extra    int
	joined   []bool
	inexact  bool

	// after are the batches, dispatched earlier and not yet answered, that
	// hold a user of this one: it is sent only once they are answered
	// (Order). answered is closed when it is.
	after    []*Batch
	answered chan struct{}
	// byHash and bits index the users by hash for Order, hashDup says
	// two share one (Batch.indexUsers).
	byHash  userIndex
	bits    *userBits
	hashDup bool
}

// NUsers is the number of user objects in the request.
func (b *Batch) NUsers() int { return len(b.userUnit) }

const maxBatchRows = 20_000 // a batch closes after this many rows even with few users

// batcher packs units into batches of at most Settings.Users users and
// Settings.Bytes bytes of request body. A user met again while its batch is
// still open joins its earlier user object (later attribute values win,
// events follow in row order); a batch never holds two objects of one
// user.
type batcher struct {
	s      Settings
	file   string // the file units come from now (Stage.BeginFile)
	seq    int    // and its place in the reading order
	prefix []byte
	suffix []byte
	cur    *Batch
	// users indexes the open batch's users by hash; hashed is the unit
	// whose hash was worked out last (hashOf).
	users  userIndex
	hashed *unit
	hash   uint64
	// lastSize is the body size of the last batch, to size the next.
	lastSize int
	tooBig   int    // size of the user object place last found over the limit
	scratch  []byte // for sizing merged user objects
	// bodies, if set, holds request bodies of answered batches for reuse.
	bodies *sync.Pool

	attrs []encode.Field // the config's attributes, keyed (encode.KeyedFields)
}

// hashOf returns userHash of u's identifiers, worked out once for join
// and place.
func (bt *batcher) hashOf(u *unit) uint64 {
	if bt.hashed != u {
		bt.hashed, bt.hash = u, userHash(u.users[0].Key)
	}
	return bt.hash
}

// userIndex maps the users of the open batch, by hash, to their index in
// it. It is an open-addressing table that the batcher uses again for
// every batch: a map per batch cost an allocation about as large as the
// batch's other slices together, and its lookups more.
type userIndex struct {
	slots []userSlot
	gen   uint32 // the open batch's: a slot of another one is empty
}

type userSlot struct {
	h   uint64
	k   int32
	gen uint32
}

// reset empties the index for a batch of up to n users.
func (x *userIndex) reset(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	x.gen++
	if len(x.slots) < size || x.gen == 0 {
		x.slots, x.gen = make([]userSlot, max(size, len(x.slots))), 1
	}
}

// get returns the index of the user of hash h, if the batch holds one.
func (x *userIndex) get(h uint64) (int, bool) {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &x.slots[i]
		if sl.gen != x.gen {
			return 0, false
		}
		if sl.h == h {
			return int(sl.k), true
		}
	}
}

// put records that the user of hash h is the k-th, in place of any user
// of that hash before it.
func (x *userIndex) put(h uint64, k int) {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if sl := &x.slots[i]; sl.gen != x.gen || sl.h == h {
			*sl = userSlot{h: h, k: int32(k), gen: x.gen}
			return
		}
	}
}

func (bt *batcher) bodiesGet() ([]byte, bool) {
	if bt.bodies == nil {
		return nil, false
	}
	p, ok := bt.bodies.Get().(*[]byte)
	if !ok {
		return nil, false
	}
	return (*p)[:0], true
}

// freeBody hands the body of an answered batch back for reuse, to pool.
func (b *Batch) freeBody(pool *sync.Pool) {
	if b.body != nil {
		body := b.body[:0]
		b.body = nil
		pool.Put(&body)
	}
}

// Retire frees an answered and accounted batch's body (to pool, the
// Stage's bodies) and lets its rows go: Order may hold the batch a while
// longer (it forgets answered batches lazily), and its units would keep
// whole chunks of rows alive.
func (b *Batch) Retire(pool *sync.Pool) {
	b.freeBody(pool)
	b.units, b.userUnit = nil, nil
}

func newBatcher(s Settings) *batcher {
	prefix, suffix := encode.BodyEnds(s.ErrorCallbackURL)
	return &batcher{s: s, attrs: encode.KeyedFields(s.Attributes), prefix: prefix, suffix: suffix}
}

// add puts a unit in the current batch, encoding its user object straight
// into the request body, or merging it into the object of the same user
// already there; if it does not fit, the current batch is closed and
// returned, and the unit starts the next one. A unit whose user object
// alone is over the byte limit has its rows rejected.
func (bt *batcher) add(u *unit) (closed *Batch) {
	if c := bt.cur; c != nil && c.rows+int64(len(u.rows)) > maxBatchRows {
		closed = bt.cut(u.first)
	}
	if u.users != nil && bt.cur != nil {
		if joined, clash := bt.join(u); clash || !joined && !bt.place(u) {
			closed = bt.cut(u.first)
		}
	}
	if bt.cur == nil {
		// The per-user slices are sized for a full batch (the index of
		// its users too): growing them by doubling cost a dozen
		// allocations a batch.
		n := bt.s.Users
		bt.users.reset(n)
		bt.cur = &Batch{file: bt.file, start: u.first, segs: []segment{{file: bt.file, seq: bt.seq, start: u.first}},
			answered: make(chan struct{}), userOff: make([]int, 0, n+1),
			userUnit: make([]*unit, 0, n), userHash: make([]uint64, 0, n), userSize: make([]int, 0, n),
			userAttrs: make([]uint64, 0, n*len(bt.s.Attributes))}
		// Start at the size the last batch reached: one allocation instead
		// of doubling up to a megabyte.
		if p, ok := bt.bodiesGet(); ok {
			bt.cur.body = append(p, bt.prefix...)
		} else {
			bt.cur.body = append(make([]byte, 0, bt.lastSize+bt.lastSize/8), bt.prefix...)
		}
		if u.users != nil && !bt.place(u) {
			for _, r := range u.users {
				r.Problems = append(r.Problems, encode.Problem{Rule: "size", Msg: fmt.Sprintf(
					"the user object built from rows %d-%d is %d bytes, over delivery.batch_bytes (%d)",
					u.first.Row(), u.rows[len(u.rows)-1].Src.Pos.Row(), bt.tooBig, bt.s.Bytes)})
			}
			u.users = nil
		}
	}
	c := bt.cur
	if c.segs[len(c.segs)-1].seq != bt.seq {
		// The first unit of a later file: the part in the earlier one
		// ended where that file did (Stage.EndFile).
		c.segs = append(c.segs, segment{file: bt.file, seq: bt.seq, start: u.first, unit: len(c.units)})
	}
	c.units = append(c.units, u)
	c.rows += int64(len(u.rows))
	return closed
}

// join merges u into the object of the same user in the current batch, if
// there is one (joined). clash says there is one but the merged object
// would be over the row or byte limits: the batch must close first.
func (bt *batcher) join(u *unit) (joined, clash bool) {
	c := bt.cur
	k, ok := bt.users.get(bt.hashOf(u))
	if !ok {
		return false, false
	}
	prev := c.userUnit[k]
	if !bytes.Equal(prev.users[0].Key, u.users[0].Key) {
		return false, false // another user with the same hash: kept apart
	}
	if len(prev.users)+len(u.users) > maxUnitRows {
		return false, true
	}
	merged := append(prev.users[:len(prev.users):len(prev.users)], u.users...)
	// Most joins are far from the byte limit: a bound of what the rows
	// add decides them without encoding the merged object. Near it, the
	// sizes are worked out exactly, so the batch closes where it would
	// with exact sizes throughout.
	grow, exact := growthBound(bt.attrs, u.users), false
	if !bt.fits(grow) {
		bt.exactSizes()
		bt.scratch = encode.AppendUser(bt.scratch[:0], bt.attrs, merged, bt.s.NotAppend)
		grow, exact = len(bt.scratch)-c.userSize[k], true
		if !bt.fits(grow) {
			return false, true
		}
	}
	if n := len(bt.s.Attributes); n > 0 {
		hashAttrs(c.userAttrs[k*n:(k+1)*n], u.users) // later rows win
	}
	prev.users, u.users = merged, nil
	c.userSize[k] += grow
	c.extra += grow
	c.inexact = c.inexact || !exact
	if len(c.joined) <= k {
		c.joined = append(c.joined, make([]bool, k+1-len(c.joined))...)
	}
	c.joined[k] = true
	return true, false
}

// growthBound is encode.GrowthBound; tests make every join exact with it.
var growthBound = encode.GrowthBound

// fits reports whether the open batch's body, more bytes larger, stays
// within the byte limit, counting what joins add (extra).
func (bt *batcher) fits(more int) bool {
	c := bt.cur
	return len(c.body)+c.extra+more+len(bt.suffix) <= bt.s.Bytes
}

// exactSizes makes userSize and extra exact where joins only bounded
// them (inexact), by encoding the joined user objects.
func (bt *batcher) exactSizes() {
	c := bt.cur
	if !c.inexact {
		return
	}
	for k, j := range c.joined {
		if j {
			bt.scratch = encode.AppendUser(bt.scratch[:0], bt.attrs, c.userUnit[k].users, bt.s.NotAppend)
			c.extra += len(bt.scratch) - c.userSize[k]
			c.userSize[k] = len(bt.scratch)
		}
	}
	c.inexact = false
}

// place appends u's user object to the current batch if it fits within
// the user and byte limits, and reports whether it did.
func (bt *batcher) place(u *unit) bool {
	c := bt.cur
	if c.NUsers()+1 > bt.s.Users {
		return false
	}
	mark := len(c.body)
	if c.NUsers() > 0 {
		c.body = append(c.body, ',')
	}
	start := len(c.body)
	c.body = encode.AppendUser(c.body, bt.attrs, u.users, bt.s.NotAppend)
	if !bt.fits(0) {
		bt.exactSizes() // it may fit once the joins are sized exactly
	}
	if !bt.fits(0) {
		bt.tooBig = len(c.body) - start
		c.body = c.body[:mark]
		return false
	}
	h := bt.hashOf(u)
	bt.users.put(h, len(c.userUnit))
	c.userOff = append(c.userOff, start)
	c.userUnit = append(c.userUnit, u)
	c.userHash = append(c.userHash, h)
	c.userSize = append(c.userSize, len(c.body)-start)
	if n := len(bt.s.Attributes); n > 0 {
		// Hashed while the rows are at hand (Order).
		at := len(c.userAttrs)
		c.userAttrs = slices.Grow(c.userAttrs, n)[:at+n]
		clear(c.userAttrs[at:])
		hashAttrs(c.userAttrs[at:], u.users)
	}
	return true
}

// cut closes the current batch at end (the position of the first row after
// it, in the current file) and returns it, or nil when there is none. A
// batch whose last rows are in an earlier file ends where that file did.
func (bt *batcher) cut(end readers.Position) *Batch {
	c := bt.cur
	if c == nil {
		return nil
	}
	bt.cur = nil
	if sg := &c.segs[len(c.segs)-1]; sg.seq == bt.seq {
		sg.end = end
	}
	c.end = c.segs[len(c.segs)-1].end
	c.setRange()
	if c.joined != nil {
		// Rows joined earlier users: encode those objects again, into a
		// body from the pool, and copy the others as they were first
		// encoded; the old body goes back to the pool.
		body, _ := bt.bodiesGet()
		body = append(slices.Grow(body, len(c.body)+c.extra+len(bt.suffix)), bt.prefix...)
		for i, u := range c.userUnit {
			if i > 0 {
				body = append(body, ',')
			}
			from, to := c.userOff[i], len(c.body)
			if i+1 < len(c.userOff) {
				to = c.userOff[i+1] - 1 // the comma before the next user
			}
			c.userOff[i] = len(body)
			if i < len(c.joined) && c.joined[i] {
				body = encode.AppendUser(body, bt.attrs, u.users, bt.s.NotAppend)
			} else {
				body = append(body, c.body[from:to]...)
			}
		}
		if bt.bodies != nil {
			c.freeBody(bt.bodies)
		}
		c.body = body
	}
	c.userOff = append(c.userOff, len(c.body))
	c.body = append(c.body, bt.suffix...)
	bt.lastSize = len(c.body)
	c.userSize, c.joined = nil, nil
	// The encoded parts now live in the body; until the batch is answered
	// a row keeps only what counts need. Event slots stay (their number is
	// counted), their bytes go, and so do the cells: should Insider reject
	// the user, they are read again from the input by position (refiller).
	// Rows that send nothing keep their cells for the rejects, not their
	// identifiers: the space they were encoded in is used again
	// (encode.RowArena.Recycle). (The units holding users are c.userUnit.)
	// The same pass counts the rows for Account (countRows), while they
	// are at hand: once the batch is answered they are out of cache.
	for _, u := range c.units {
		all := len(u.users) == len(u.rows) // every row is a user's
		for _, r := range u.rows {
			c.count(r)
			if !all {
				r.Key = nil
			}
		}
		for _, r := range u.users {
			c.counts.EventsSent += int64(len(r.Evs))
			c.userRows++
			r.Release()
		}
	}
	return c
}

// Body is the request body: every user object of the batch. It is valid
// until Retire.
func (b *Batch) Body() []byte { return b.body }

// Range is the batch as the ledger records it: its rows, one segment per
// file.
func (b *Batch) Range() *ledger.Range { return &b.lr }

// Last is where the batch ends: the place in the reading order of the
// last file it holds rows of, and the position after its last row there.
func (b *Batch) Last() (seq int, end readers.Position) {
	last := b.segs[len(b.segs)-1]
	return last.seq, last.end
}

// What names users [i, j) of the batch by their rows, for messages.
func (b *Batch) What(i, j int) string {
	s := fmt.Sprintf("%s rows %d-%d", b.file, b.start.Row(), b.end.Index)
	if last := b.segs[len(b.segs)-1]; len(b.segs) > 1 {
		s = fmt.Sprintf("%s row %d to %s row %d (%d files)", b.file, b.start.Row(), last.file, last.end.Index, len(b.segs))
	}
	if n := b.NUsers(); j-i < n {
		s += fmt.Sprintf(" (users %d-%d of %d)", i+1, j, n)
	}
	return s
}

// SubBody builds a request body holding users [i, j) of the batch, for
// splitting a batch the API found too large: the body's own beginning and
// end (before its first user and after its last) around those users.
func (b *Batch) SubBody(i, j int) []byte {
	prefix, suffix := b.body[:b.userOff[0]], b.body[b.userOff[len(b.userOff)-1]:]
	out := append([]byte(nil), prefix...)
	for k := i; k < j; k++ {
		if k > i {
			out = append(out, ',')
		}
		start, end := b.userOff[k], b.userOff[k+1]
		if k+1 < len(b.userOff)-1 {
			end-- // drop the comma before the next user
		}
		out = append(out, b.body[start:end]...)
	}
	return append(out, suffix...)
}

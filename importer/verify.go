package importer

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Verify is Insider's "Integration Confirmation" done by the tool: it
// picks a reproducible random sample of the users a job delivered (from the
// checkpoint and the inputs, mapped again exactly as the run mapped them),
// asks the Get User Profile API for exactly the attributes and events sent
// to each, and prints, per user and field, whether Insider holds what was
// sent. It never sends an upsert.

// ErrVerifyDiffers is returned by Verify when some sampled user's data at
// Insider differs from what was sent or is missing (exit 3).
var ErrVerifyDiffers = fmt.Errorf("verify: Insider's profiles differ from what was sent: %w", ErrIncomplete)

// VerifyOptions are the run-time settings of Verify.
type VerifyOptions struct {
	N    int    // users to sample
	Seed uint64 // same seed, same checkpoint and inputs: same sample
	// APIKey is the profile API's key; it is never printed.
	APIKey string
	// State is the job's checkpoint: which rows were delivered, and the
	// reference time each file's TTL filter used.
	State checkpoint.State
	// Shards, when a job ran as several shards, are the checkpoints of
	// shards 0, 1, ... (State is then not used); a shard not run yet is
	// a zero State.
	Shards []checkpoint.State
	// RejectsPath is the job's rejects file: rows Insider refused are in
	// it and not verified. "" or a missing file: none.
	RejectsPath string
	HTTPClient  *http.Client
	Out         io.Writer // the per-user lines and the summary
	Logger      *slog.Logger
	// Now and Sleep are the clock of the quota pacing (nil: the real one).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// VerifyReport counts what Verify found.
type VerifyReport struct {
	Seed          uint64
	RowsDelivered int64 // delivered rows read again
	Users         int   // sampled
	UsersEqual    int
	UsersDiffer   int // some field different or missing
	UsersNotFound int // 404: Insider knows no such user
	Equal         int // fields
	Different     int
	Missing       int
	Requests      int
	QuotaUsed     float64 // units, as Insider reported them
}

// sampledUser is one user of the sample: what the job sent it, merged
// over its rows as Insider merges them (the last value of each attribute,
// every event).
type sampledUser struct {
	hash   uint64
	key    string   // the encoded identifiers object
	attrs  [][]byte // by index of Mapping.Attributes; nil: not sent
	events [][]byte // encoded event objects
	rows   []readers.Position
	ids    map[string]bool // its identifiers and those of rows merged with it
	// others holds, by the identifiers of the rows merged, the last value
	// of each attribute sent with them: the importer keeps the order of
	// one identifiers' rows, not across them, so when rows of a user came
	// under several, any of these may be the value Insider kept.
	others map[string][][]byte
}

// Verify samples, asks and compares. It returns ErrVerifyDiffers when some
// field differs or is missing, or the error that stopped it (the API
// failing, an input that cannot be read).
func Verify(ctx context.Context, cfg *Config, opts VerifyOptions) (*VerifyReport, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.N < 1 {
		opts.N = cfg.Verify.Sample
	}
	rep := &VerifyReport{Seed: opts.Seed}
	rejected, err := rejectedRows(opts.RejectsPath)
	if err != nil {
		return rep, err
	}
	users, err := sampleUsers(ctx, cfg, opts, rejected, rep)
	if err != nil {
		return rep, err
	}
	if len(users) == 0 {
		return rep, errors.New("verify: the checkpoint records no delivered row to read back (run the import first, with the same config and --profile)")
	}
	rep.Users = len(users)
	cl := newProfileClient(cfg, opts)
	for i, u := range users {
		fmt.Fprintf(opts.Out, "user %d/%d %s (%s)\n", i+1, len(users), u.key, rowsText(u.rows))
		got, err := cl.get(ctx, u.request(cfg))
		rep.Requests, rep.QuotaUsed = cl.requests, cl.used
		if err != nil {
			return rep, err
		}
		if got == nil {
			rep.UsersNotFound++
			rep.UsersDiffer++
			rep.Missing++
			fmt.Fprintf(opts.Out, "  %-10s user: Insider has no user for these identifiers (404)\n", "missing")
			continue
		}
		before := rep.Different + rep.Missing
		for _, l := range compareUser(cfg, u, got) {
			switch l.status {
			case "equal":
				rep.Equal++
			case "different":
				rep.Different++
			case "missing":
				rep.Missing++
			}
			fmt.Fprintf(opts.Out, "  %-10s %s\n", l.status, l.text)
		}
		if rep.Different+rep.Missing > before {
			rep.UsersDiffer++
		} else {
			rep.UsersEqual++
		}
	}
	fmt.Fprintf(opts.Out, "verify: %d users sampled (seed %d) from %d delivered rows: %d equal, %d differ (%d not found); fields: %d equal, %d different, %d missing; %d requests, %.1f quota units\n",
		rep.Users, rep.Seed, rep.RowsDelivered, rep.UsersEqual, rep.UsersDiffer, rep.UsersNotFound,
		rep.Equal, rep.Different, rep.Missing, rep.Requests, rep.QuotaUsed)
	if rep.UsersDiffer > 0 {
		return rep, ErrVerifyDiffers
	}
	return rep, nil
}

func rowsText(rows []readers.Position) string {
	if len(rows) == 1 {
		return rows[0].String()
	}
	return fmt.Sprintf("%s and %d more rows", rows[0].String(), len(rows)-1)
}

// rejectedRows reads the file and row of every line of a rejects file:
// rows refused before sending or by Insider, not to be verified.
func rejectedRows(path string) (map[string]map[int64]bool, error) {
	out := map[string]map[int64]bool{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify: rejects file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var l struct {
			File string `json:"file"`
			Row  int64  `json:"row"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.File == "" {
			continue // a line a killed run left half written
		}
		if out[l.File] == nil {
			out[l.File] = map[int64]bool{}
		}
		out[l.File][l.Row-1] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("verify: rejects file: %w", err)
	}
	return out, nil
}

// sampleUsers reads every delivered row again and keeps the N users whose
// identifiers hash lowest under the seed: a sample that is random, the
// same for the same seed, and chosen in one pass holding N users. Insider
// merges users that share any identifier, so further passes collect, for
// each user of the sample, every delivered row that shares an identifier
// with it (until no new identifier turns up, at most three passes).
func sampleUsers(ctx context.Context, cfg *Config, opts VerifyOptions, rejected map[string]map[int64]bool, rep *VerifyReport) ([]*sampledUser, error) {
	files, err := readers.Expand(ctx, cfg.Source.Paths, cfg.Source.S3)
	if err != nil {
		return nil, err
	}
	shards := opts.Shards
	if len(shards) == 0 {
		shards = []checkpoint.State{opts.State}
	}
	known := make([]map[string]*checkpoint.FileState, len(shards))
	for i := range shards {
		known[i] = shards[i].Index() // Files and the archive
	}
	// each walks every delivered row; the sampler's passes call it again.
	each := func(fn func(r *encode.Row, at readers.Position)) error {
		for _, file := range files {
			for i := range shards {
				if fs := known[i][file]; fs != nil {
					if err := eachDelivered(ctx, cfg, file, fs, shard{i, len(shards)}, rejected[file], opts.Logger, fn); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	s := &sampler{n: opts.N, seed: opts.Seed, users: map[string]*sampledUser{}}
	if err := each(func(r *encode.Row, _ readers.Position) {
		rep.RowsDelivered++
		s.choose(r.Key)
	}); err != nil {
		return nil, err
	}
	users := make([]*sampledUser, 0, len(s.users))
	for _, u := range s.users {
		u.ids = map[string]bool{}
		for _, id := range identifierKeys(u.key) {
			u.ids[id] = true
		}
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b *sampledUser) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	for range 3 {
		byID := map[string][]*sampledUser{}
		for _, u := range users {
			u.attrs, u.events, u.rows, u.others = nil, nil, nil, nil
			for id := range u.ids {
				byID[id] = append(byID[id], u)
			}
		}
		grew := false
		if err := each(func(r *encode.Row, at readers.Position) {
			ids := identifierKeys(string(r.Key))
			var hit []*sampledUser
			for _, id := range ids {
				for _, u := range byID[id] {
					if !slices.Contains(hit, u) {
						hit = append(hit, u)
					}
				}
			}
			for _, u := range hit {
				u.merge(r, at)
				for _, id := range ids {
					if !u.ids[id] {
						u.ids[id], grew = true, true
						byID[id] = append(byID[id], u)
					}
				}
			}
		}); err != nil {
			return nil, err
		}
		if !grew {
			break
		}
	}
	return users, nil
}

// identifierKeys lists the identifiers of an encoded identifiers object as
// "name=value" (custom ones "custom.name=value").
func identifierKeys(key string) []string {
	var m map[string]any
	if json.Unmarshal([]byte(key), &m) != nil {
		return nil
	}
	var out []string
	for k, v := range m {
		if c, ok := v.(map[string]any); ok && k == "custom" {
			for ck, cv := range c {
				out = append(out, fmt.Sprintf("custom.%s=%v", ck, cv))
			}
			continue
		}
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(out)
	return out
}

type sampler struct {
	n     int
	seed  uint64
	users map[string]*sampledUser
	max   uint64 // the highest hash kept, once n are kept
}

// delivered reports whether row idx of a file is among those its
// checkpoint counts as finished: before the frontier or in a done range.
func delivered(fs *checkpoint.FileState, idx int64) bool {
	if idx < fs.Frontier.Index {
		return true
	}
	for _, r := range fs.Done {
		if idx >= r.Start.Index && idx < r.End.Index {
			return true
		}
	}
	return false
}

// shard is shard i of n of a job.
type shard struct{ i, n int }

// eachDelivered maps every delivered row of file again, as the run did,
// and calls fn with those that were sent. For a shard of a job run in
// several, a Parquet file of several row groups is its part of them, as
// the run shared them out (sharePart).
func eachDelivered(ctx context.Context, cfg *Config, file string, fs *checkpoint.FileState, sh shard, rejected map[int64]bool, log *slog.Logger, fn func(*encode.Row, readers.Position)) error {
	last := fs.Frontier.Index
	for _, r := range fs.Done {
		last = max(last, r.End.Index)
	}
	if last == 0 {
		return nil
	}
	src := &cfg.Source
	opts := readers.Options{Format: src.Format, Delimiter: src.Delimiter, Encoding: src.Encoding,
		MaxRecordBytes: src.MaxRecordBytes, S3: src.S3, Columns: cfg.Mapping.Columns()}
	rd, err := readers.Open(ctx, file, opts)
	if err != nil {
		return err
	}
	from := int64(0)
	if sh.n > 1 && readers.FormatOf(file, src.Format) == readers.FormatParquet {
		if splits := readers.Splits(rd); len(splits) > 2 {
			p, _ := sharePart(splits, sh.i, sh.n)
			rd.Close()
			from, last = p.from, min(last, p.to)
			opts.Start, opts.Stop = &readers.Position{File: file, Index: p.from, Offset: -1}, &readers.Position{File: file, Index: p.to, Offset: -1}
			if rd, err = readers.Open(ctx, file, opts); err != nil {
				return err
			}
		}
	}
	defer rd.Close()
	if !rd.Identity().Equal(fs.Identity) {
		log.Warn("verify: input changed since it was imported; its rows are not sampled", "file", file)
		return nil
	}
	mp, err := encode.NewMapper(cfg, file, rd.Columns(), fs.RefTime)
	if err != nil {
		return err
	}
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if isRowError(err) {
				continue // rejected by the run as well
			}
			return readFailed(rd, err)
		}
		idx := rec.Pos.Index
		if idx >= last {
			return nil
		}
		if idx < from || !delivered(fs, idx) || rejected[idx] {
			continue
		}
		r := mp.MapRecord(rec)
		if len(r.Problems) > 0 || (r.Attrs == nil && len(r.Evs) == 0) {
			continue
		}
		fn(r, rec.Pos)
	}
}

// choose takes a delivered user into the sample if it is, or now enters,
// the N lowest hashes.
func (s *sampler) choose(k []byte) {
	key := string(k)
	if s.users[key] != nil {
		return
	}
	h := sampleHash(s.seed, k)
	if len(s.users) >= s.n && h >= s.max {
		return
	}
	s.users[key] = &sampledUser{hash: h, key: key}
	if len(s.users) > s.n {
		s.evict()
	} else {
		s.max = max(s.max, h)
	}
}

// merge adds a row sent to u: its attributes replace earlier values, its
// events add to them.
func (u *sampledUser) merge(r *encode.Row, at readers.Position) {
	if len(u.rows) < 1000 {
		u.rows = append(u.rows, at)
	}
	k := string(r.Key)
	for i, a := range r.Attrs {
		if a != nil {
			if u.attrs == nil {
				u.attrs = make([][]byte, len(r.Attrs))
			}
			u.attrs[i] = slices.Clone(a)
			if u.others == nil {
				u.others = map[string][][]byte{}
			}
			if u.others[k] == nil {
				u.others[k] = make([][]byte, len(r.Attrs))
			}
			u.others[k][i] = u.attrs[i]
		}
	}
	for _, e := range r.Evs {
		if e != nil {
			u.events = append(u.events, slices.Clone(e))
		}
	}
}

// evict drops the user of the highest hash and works out the new highest.
func (s *sampler) evict() {
	var worst *sampledUser
	for _, u := range s.users {
		if worst == nil || u.hash > worst.hash {
			worst = u
		}
	}
	delete(s.users, worst.key)
	s.max = 0
	for _, u := range s.users {
		s.max = max(s.max, u.hash)
	}
}

// sampleHash mixes the seed and a user's identifiers (FNV-1a, then
// splitmix64's finalizer).
func sampleHash(seed uint64, key []byte) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write(key)
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// sentEvent is one event as sent, decoded.
type sentEvent struct {
	name   string
	ts     time.Time
	params []sentParam
}

type sentParam struct {
	name   string
	custom bool
	value  json.RawMessage
}

func decodeSentEvent(b []byte) (sentEvent, error) {
	var e struct {
		Name   string                     `json:"event_name"`
		TS     string                     `json:"timestamp"`
		Params map[string]json.RawMessage `json:"event_params"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return sentEvent{}, err
	}
	ts, err := time.Parse(time.RFC3339, e.TS)
	if err != nil {
		return sentEvent{}, err
	}
	out := sentEvent{name: e.Name, ts: ts}
	for k, v := range e.Params {
		if k == "custom" {
			var custom map[string]json.RawMessage
			if json.Unmarshal(v, &custom) == nil {
				for ck, cv := range custom {
					out.params = append(out.params, sentParam{name: ck, custom: true, value: cv})
				}
			}
			continue
		}
		out.params = append(out.params, sentParam{name: k, value: v})
	}
	slices.SortFunc(out.params, func(a, b sentParam) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// attrName is how the profile API names attribute f: custom ones with
// the c_ prefix.
func attrName(f *config.Field) string {
	if f.Custom {
		return upsert.CustomPrefix + f.Name
	}
	return f.Name
}

func paramName(p sentParam) string {
	if p.custom {
		return upsert.CustomPrefix + p.name
	}
	return p.name
}

// request is the profile request for u: its identifiers, every attribute
// sent, and every event name sent with its params, between the first and
// the last event's timestamps.
func (u *sampledUser) request(cfg *Config) upsert.ProfileRequest {
	req := upsert.ProfileRequest{Quota: true}
	_ = json.Unmarshal([]byte(u.key), &req.Identifiers)
	for i, a := range u.attrs {
		if a != nil {
			req.Attributes = append(req.Attributes, attrName(&cfg.Mapping.Attributes[i]))
		}
	}
	if len(u.events) == 0 {
		return req
	}
	ev := &upsert.ProfileEvents{}
	params := map[string][]string{}
	var names []string
	for _, b := range u.events {
		e, err := decodeSentEvent(b)
		if err != nil {
			continue
		}
		if ev.StartDate == 0 || e.ts.Unix() < ev.StartDate {
			ev.StartDate = e.ts.Unix()
		}
		ev.EndDate = max(ev.EndDate, e.ts.Unix()+1)
		if _, ok := params[e.name]; !ok {
			names = append(names, e.name)
			params[e.name] = []string{"timestamp"}
		}
		for _, p := range e.params {
			if n := paramName(p); !slices.Contains(params[e.name], n) {
				params[e.name] = append(params[e.name], n)
			}
		}
	}
	for _, n := range names {
		ev.Wanted = append(ev.Wanted, upsert.WantedEvent{EventName: n, Params: params[n]})
	}
	req.Events = ev
	return req
}

// sentWith returns identifiers with which value v of attribute i was the
// last one sent, or "".
func (u *sampledUser) sentWith(i int, v []byte, appendMode bool) string {
	var keys []string
	for k, attrs := range u.others {
		if attrs[i] != nil && sameJSON(attrs[i], v, appendMode) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// line is one compared field.
type line struct{ status, text string }

// compareUser compares what was sent to u with Insider's answer.
func compareUser(cfg *Config, u *sampledUser, got *profileAnswer) []line {
	var out []line
	appendMode := !cfg.Insider.NotAppend
	for i, a := range u.attrs {
		if a == nil {
			continue
		}
		f := &cfg.Mapping.Attributes[i]
		name := attrName(f)
		v, ok := got.attribute(f)
		switch {
		case !ok:
			out = append(out, line{"missing", fmt.Sprintf("%s: sent %s, Insider has none", name, a)})
		case sameJSON(a, v, appendMode):
			out = append(out, line{"equal", fmt.Sprintf("%s = %s", name, a)})
		case u.sentWith(i, v, appendMode) != "":
			out = append(out, line{"equal", fmt.Sprintf("%s = %s, as sent with %s (rows under other identifiers of this user are sent in parallel)", name, v, u.sentWith(i, v, appendMode))})
		default:
			out = append(out, line{"different", fmt.Sprintf("%s: sent %s, Insider has %s", name, a, v)})
		}
	}
	// Identical events are stored once: each is compared once.
	seen := map[string]bool{}
	used := map[string][]bool{}
	for _, b := range u.events {
		if seen[string(b)] {
			continue
		}
		seen[string(b)] = true
		e, err := decodeSentEvent(b)
		if err != nil {
			continue
		}
		out = append(out, compareEvent(e, got.Events[e.name], used, e.name))
	}
	return out
}

// compareEvent finds sent event e among Insider's events of its name: one
// at the same instant with every param equal (equal), else one at the same
// instant (different, the first param that differs), else missing.
func compareEvent(e sentEvent, have []map[string]json.RawMessage, used map[string][]bool, name string) line {
	if used[name] == nil {
		used[name] = make([]bool, len(have))
	}
	label := "event " + e.name + " " + e.ts.UTC().Format(time.RFC3339)
	for _, p := range e.params {
		if p.name == "event_group_id" || p.name == "product_id" {
			label += " " + p.name + "=" + strings.Trim(string(p.value), `"`)
		}
	}
	var near int = -1
	var diff string
	for j, h := range have {
		if used[name][j] || !eventAt(h, e.ts) {
			continue
		}
		d := ""
		for _, p := range e.params {
			v, ok := eventParam(h, p)
			if !ok {
				d = fmt.Sprintf("%s: sent %s, Insider has none", paramName(p), p.value)
				break
			}
			if !sameJSON(p.value, v, false) {
				d = fmt.Sprintf("%s: sent %s, Insider has %s", paramName(p), p.value, v)
				break
			}
		}
		if d == "" {
			used[name][j] = true
			return line{"equal", label}
		}
		if near < 0 {
			near, diff = j, d
		}
	}
	if near >= 0 {
		used[name][near] = true
		return line{"different", label + ": " + diff}
	}
	return line{"missing", label + ": Insider has no " + e.name + " event at that time"}
}

// eventAt reports whether Insider's event h is at instant t: by its
// timestamp param or its created_date (which of them carries an imported
// event's time is not documented; either is taken).
func eventAt(h map[string]json.RawMessage, t time.Time) bool {
	for _, k := range []string{"timestamp", "created_date"} {
		var s string
		if json.Unmarshal(h[k], &s) == nil {
			if ht, err := time.Parse(time.RFC3339, s); err == nil && ht.Equal(t) {
				return true
			}
		}
		var n float64
		if json.Unmarshal(h[k], &n) == nil && n != 0 && int64(n) == t.Unix() {
			return true
		}
	}
	return false
}

// eventParam looks param p up in Insider's event h: by its name, for a
// custom param also with the c_ prefix or under "custom".
func eventParam(h map[string]json.RawMessage, p sentParam) (json.RawMessage, bool) {
	if p.custom {
		if v, ok := h[upsert.CustomPrefix+p.name]; ok {
			return v, true
		}
		var custom map[string]json.RawMessage
		if json.Unmarshal(h["custom"], &custom) == nil {
			if v, ok := custom[p.name]; ok {
				return v, true
			}
		}
	}
	v, ok := h[p.name]
	return v, ok
}

// sameJSON compares a value sent with the one Insider answers: numbers by
// value, texts that are both RFC 3339 times by instant, arrays as sets
// (with appendArrays, Insider's may hold more: arrays are appended to).
func sameJSON(sent, got []byte, appendArrays bool) bool {
	a, errA := decodeNumbers(sent)
	b, errB := decodeNumbers(got)
	return errA == nil && errB == nil && sameValue(a, b, appendArrays)
}

func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func sameValue(a, b any, appendArrays bool) bool {
	switch a := a.(type) {
	case json.Number:
		fa, errA := a.Float64()
		switch b := b.(type) {
		case json.Number:
			fb, errB := b.Float64()
			return errA == nil && errB == nil && fa == fb
		case string:
			fb, errB := json.Number(b).Float64()
			return errA == nil && errB == nil && fa == fb
		}
		return false
	case string:
		bs, ok := b.(string)
		if !ok {
			return false
		}
		if a == bs {
			return true
		}
		ta, errA := time.Parse(time.RFC3339, a)
		tb, errB := time.Parse(time.RFC3339, bs)
		return errA == nil && errB == nil && ta.Equal(tb)
	case []any:
		bl, ok := b.([]any)
		if !ok || (!appendArrays && len(bl) != len(a)) {
			return false
		}
		taken := make([]bool, len(bl))
	next:
		for _, x := range a {
			for j, y := range bl {
				if !taken[j] && sameValue(x, y, false) {
					taken[j] = true
					continue next
				}
			}
			return false
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(bm) != len(a) {
			return false
		}
		for k, v := range a {
			if !sameValue(v, bm[k], appendArrays) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

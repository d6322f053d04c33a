package importer

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Problem is one reason a row cannot be sent.
type Problem struct {
	Column string `json:"column,omitempty"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
	Msg    string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Column != "" {
		fmt.Fprintf(&b, "column %s", p.Column)
		if p.Field != "" && p.Field != p.Column {
			fmt.Fprintf(&b, " (%s)", p.Field)
		}
		b.WriteString(": ")
	} else if p.Field != "" {
		fmt.Fprintf(&b, "%s: ", p.Field)
	}
	fmt.Fprintf(&b, "%s: %s", p.Rule, p.Msg)
	return b.String()
}

// row is one record mapped to the parts of a user object. Encoded values
// live in buf; attrs and events are spans of it.
type row struct {
	pos   readers.Position
	src   readers.Record // the record as read, for rejects
	texts *cellTexts     // how src's typed cells are written in rejects
	key   []byte         // the encoded "identifiers" object
	attrs [][]byte       // by index of Mapping.Attributes; nil when absent
	evs   [][]byte       // encoded event objects, TTL filter passed

	eventsRead, expired, future int
	problems                    []Problem
	tallied                     bool // counted as rejected by the rejectTally
}

// release drops the row's encoded parts and cells once they are in a
// request body: the row keeps only what counts need (event slots stay,
// their number is counted; their bytes go).
func (r *row) release() {
	r.key, r.attrs = nil, nil
	clear(r.evs)
	r.src = readers.Record{}
}

// mapper turns records of one input into rows. mapRecord is safe for
// concurrent use: mappers on every core share one mapper.
type mapper struct {
	cfg   *Config
	m     Mapping  // copy whose Fields carry the column indexes of the input
	nulls []string // source.null_values
	// nullLens has bit n set when a null value is n bytes long; cells of
	// 64 bytes or more are always compared (see isNull).
	nullLens uint64
	ref      time.Time // TTL reference time
	file     string
	texts    *cellTexts
	// hint sizes each row's buffer: about what recent rows needed. It is
	// atomic because mappers share a mapper; it is stored only when row
	// sizes change a lot, so the cache line stays shared.
	hint atomic.Int32
}

// newMapper binds the config's mapping to an input's columns. A mapped
// column missing from the header is an error naming the column and the
// YAML line.
func newMapper(cfg *Config, file string, columns []string, ref time.Time) (*mapper, error) {
	idx := make(map[string]int, len(columns))
	dups := map[string]int{}
	for i, c := range columns {
		if _, dup := idx[c]; dup {
			dups[c]++
			continue
		}
		idx[c] = i
	}
	mp := &mapper{cfg: cfg, nulls: cfg.Source.NullValues, ref: ref, file: file}
	for _, n := range mp.nulls {
		if len(n) < 64 {
			mp.nullLens |= 1 << len(n)
		}
	}
	mp.hint.Store(256)
	var problems []ConfigProblem
	missing := false
	bind := func(fs []Field) []Field {
		out := make([]Field, len(fs))
		copy(out, fs)
		for i := range out {
			f := &out[i]
			f.col = -1
			if f.Column == "" {
				continue
			}
			c, ok := idx[f.Column]
			if !ok {
				missing = true
				problems = append(problems, ConfigProblem{File: cfg.File, Line: f.at.Line, Column: f.at.Column,
					Msg: fmt.Sprintf("column %q (for %s) is not in the header of %s", f.Column, f.Name, file)})
			}
			if n := dups[f.Column]; n > 0 {
				problems = append(problems, ConfigProblem{File: cfg.File, Line: f.at.Line, Column: f.at.Column,
					Msg: fmt.Sprintf("column %q (for %s) appears %d times in the header of %s; which one is meant is not clear", f.Column, f.Name, n+1, file)})
			}
			if ok {
				f.col = c
			}
		}
		return out
	}
	mp.m.Identifiers = bind(cfg.Mapping.Identifiers)
	mp.m.Attributes = bind(cfg.Mapping.Attributes)
	for _, e := range cfg.Mapping.Events {
		ne := e
		ne.Timestamp = bind([]Field{e.Timestamp})[0]
		if e.NameColumn != nil {
			nc := bind([]Field{*e.NameColumn})[0]
			ne.NameColumn = &nc
		}
		ne.Params = bind(e.Params)
		if e.NameColumn == nil {
			ne.head = string(appendString([]byte(`{"event_name":`), e.Name)) + `,"timestamp":`
			ne.required = upsert.RequiredParams(e.Name)
			ne.oldest, ne.newest = mp.keeps(e.Name)
		}
		mp.m.Events = append(mp.m.Events, ne)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems, Hints: headerHints(cfg, file, columns, missing)}
	}
	groups := [][]Field{mp.m.Identifiers, mp.m.Attributes}
	for _, e := range mp.m.Events {
		groups = append(groups, []Field{e.Timestamp}, e.Params)
	}
	mp.texts = newCellTexts(len(columns), groups...)
	return mp, nil
}

// headerHints describe the header of file when mapped columns are missing
// from it: the columns found and, when the header is one column that
// holds another delimiter, which delimiter to set.
func headerHints(cfg *Config, file string, columns []string, missing bool) []string {
	if !missing {
		return nil
	}
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = strconv.Quote(c)
	}
	const most = 40
	list := strings.Join(quoted[:min(len(quoted), most)], ", ")
	if len(quoted) > most {
		list += fmt.Sprintf(", ... (%d more)", len(quoted)-most)
	}
	hints := []string{fmt.Sprintf("the header of %s has %d column(s): %s", file, len(columns), list)}
	if len(columns) == 1 && readers.FormatOf(file, cfg.Source.Format) == readers.FormatCSV {
		for _, d := range []string{";", "\t", "|", ","} {
			if d != string(cfg.Source.Delimiter) && strings.Contains(columns[0], d) {
				name := d
				if d == "\t" {
					name = `"\t"`
				} else {
					name = strconv.Quote(d)
				}
				hints = append(hints, fmt.Sprintf("the header is one column holding %s: the file looks %s-separated; set source.csv.delimiter: %s", name, name, name))
				break
			}
		}
	}
	return hints
}

// Rules named in Problems, besides Insider's own keys ("regexp(...)",
// "event_params.required", ...) and "type(T)" for a cell that does not
// convert to its declared type T.
const (
	ruleIdentifierRequired = "identifiers.required"
	ruleDataRequired       = "attributes_or_events.required"
	ruleCountry            = "format(iso3166-1-alpha-2)"
	ruleCurrency           = "format(iso4217)"
	ruleMin0               = "min(0)"
	ruleEventName          = "event_name.regexp(^[a-z0-9_]+$)"
	ruleEventNameRequired  = "event_name.required"
	ruleTimestamp          = "timestamp"
	ruleParamRequired      = "event_params.required"
)

// mapRecord maps one record. Problems are collected, not returned: a row
// with any problem is rejected whole, with every reason found. All encoded
// parts of the row share one buffer, sized from the row before.
func (m *mapper) mapRecord(rec readers.Record) *row {
	return m.mapRecordIn(nil, rec)
}

// rowArena hands out the rows of one chunk and the memory they encode
// into, a few slabs per chunk instead of several allocations per row. The
// rows of a chunk are consecutive and live about as long as each other.
// Once every row of the chunk is encoded into a request (which drops key
// and attrs and clears evs), nothing points into buf or attrs any more and
// they are freed, as the rows' own buffers were: rows stay until their
// batch is answered, their encoded bytes do not.
type rowArena struct {
	rows  []row
	buf   []byte   // encoding space; each row takes what it used
	attrs [][]byte // attribute slots
	evs   [][]byte // event slots (cleared, not dropped, when encoded)
}

// newRowArena returns an arena for n rows of mapper m.
func (m *mapper) newRowArena(n int) *rowArena {
	return &rowArena{
		rows:  make([]row, n),
		buf:   make([]byte, 0, n*int(m.hint.Load())),
		attrs: make([][]byte, 0, n*len(m.m.Attributes)),
		evs:   make([][]byte, 0, n*len(m.m.Events)),
	}
}

// next returns a zeroed row, from the arena when it has one.
func (a *rowArena) next() *row {
	if a == nil || len(a.rows) == 0 {
		return &row{}
	}
	r := &a.rows[0]
	a.rows = a.rows[1:]
	return r
}

// space returns an empty buffer for a row: the arena's free space, or,
// when less than hint is left, a new slab for this row and the ones after
// it.
func (a *rowArena) space(hint int) []byte {
	if a == nil {
		return make([]byte, 0, hint)
	}
	if cap(a.buf)-len(a.buf) < hint {
		a.buf = make([]byte, 0, (len(a.rows)+1)*hint)
	}
	return a.buf[len(a.buf):len(a.buf):cap(a.buf)]
}

// took records that a row used buf, which space gave it. When buf
// outgrew the free space (append moved it), the row's first parts may
// still lie in the arena, so all of it counts as used.
func (a *rowArena) took(buf []byte) {
	if a == nil {
		return
	}
	if cap(buf) == cap(a.buf)-len(a.buf) {
		a.buf = a.buf[:len(a.buf)+len(buf)]
	} else {
		a.buf = a.buf[:cap(a.buf)]
	}
}

// slots returns n empty []byte slots (zero length, capacity n) from slab,
// or new ones when it is full.
func slots(slab *[][]byte, n int) [][]byte {
	s := *slab
	if cap(s)-len(s) < n {
		return make([][]byte, 0, n)
	}
	*slab = s[:len(s)+n]
	return s[len(s) : len(s) : len(s)+n]
}

// attrSlots and evSlots return a row's attribute and event slots.
func (a *rowArena) attrSlots(n int) [][]byte {
	if a == nil {
		return make([][]byte, 0, n)
	}
	return slots(&a.attrs, n)
}

func (a *rowArena) evSlots(n int) [][]byte {
	if a == nil {
		return make([][]byte, 0, n)
	}
	return slots(&a.evs, n)
}

// mapRecordIn is mapRecord taking the row and its memory from a (nil:
// allocated on their own).
func (m *mapper) mapRecordIn(a *rowArena, rec readers.Record) *row {
	r := a.next()
	r.pos, r.src, r.texts = rec.Pos, rec, m.texts
	hint := int(m.hint.Load())
	buf := a.space(hint)

	// Identifiers.
	buf = append(buf, '{')
	first, custom := true, false
	present := 0
	for i := range m.m.Identifiers {
		f := &m.m.Identifiers[i]
		v := m.cell(f, &rec)
		if v.IsNull() {
			continue
		}
		present++
		if v.Kind == readers.KindList {
			r.fail(f, "type(string)", "an identifier must be a single value, not a list")
			continue
		}
		s := text(v)
		lower := false
		if !f.Custom {
			switch f.Name {
			case "email":
				// Emails are lower-cased, which does not change whether
				// they pass the check: done in the buffer, not a copy.
				if !upsert.ValidEmail(s) {
					r.fail(f, "regexp("+upsert.EmailPattern+")", "not a valid email address: "+lowerASCII(s))
					continue
				}
				lower = true
			case "phone_number":
				if !upsert.ValidPhone(s) {
					r.fail(f, "regexp("+upsert.PhonePattern+")", "user has an invalid phone number: "+s+" (E.164 wanted, e.g. +6598765432)")
					continue
				}
			}
		}
		if f.Custom && !custom {
			if !first {
				buf = append(buf, ',')
			}
			buf = append(buf, `"custom":{`...)
			first, custom = true, true
		}
		buf = appendFieldKey(buf, first, f)
		vstart := len(buf)
		buf = appendString(buf, s)
		if lower {
			lowerInPlace(buf[vstart:])
		}
		first = false
	}
	if custom {
		buf = append(buf, '}')
	}
	buf = append(buf, '}')
	if present == 0 {
		cols := make([]string, 0, len(m.m.Identifiers))
		for _, f := range m.m.Identifiers {
			cols = append(cols, f.Column)
		}
		r.problems = append(r.problems, Problem{Column: strings.Join(cols, ", "), Rule: ruleIdentifierRequired,
			Msg: "the row has no identifier: every identifier column is empty"})
	}
	r.key = buf[:len(buf):len(buf)]

	// Attributes.
	for i := range m.m.Attributes {
		f := &m.m.Attributes[i]
		v := m.cell(f, &rec)
		if v.IsNull() {
			continue
		}
		start := len(buf)
		var err error
		buf, err = appendValue(buf, f, v)
		if err == errNoItems {
			buf = buf[:start]
			continue // an array without items is absent, like an empty cell
		}
		if err != nil {
			buf = buf[:start]
			r.fail(f, "type("+string(f.Type)+")", err.Error())
			continue
		}
		if !f.Custom {
			if rule, msg := checkDefaultAttr(f.Name, buf[start:]); msg != "" {
				buf = buf[:start]
				r.fail(f, rule, msg)
				continue
			}
		}
		if r.attrs == nil {
			r.attrs = a.attrSlots(len(m.m.Attributes))[:len(m.m.Attributes)]
		}
		r.attrs[i] = buf[start:len(buf):len(buf)]
	}

	// Events.
	if len(m.m.Events) > 0 {
		r.evs = a.evSlots(len(m.m.Events))
	}
	for i := range m.m.Events {
		buf = m.mapEvent(r, &m.m.Events[i], &rec, buf)
	}
	if len(r.evs) == 0 {
		r.evs = nil
	}
	if len(r.problems) == 0 && r.attrs == nil && r.eventsRead == 0 {
		r.problems = append(r.problems, Problem{Rule: ruleDataRequired, Msg: "the row has no attribute and no event value to send"})
	}
	if len(r.problems) > 0 {
		// Rejected whole: none of its parts is sent or counted as dropped.
		r.attrs, r.evs, r.expired, r.future = nil, nil, 0, 0
	}
	a.took(buf)
	if n := len(buf); n > hint || n < hint/4 {
		m.hint.Store(int32(min(max(n+n/4, 64), 16<<10)))
	}
	return r
}

// checkDefaultAttr checks what a default attribute's JSON type does not
// say: formats and ranges. enc is its encoded value, which it may
// normalise in place (country codes to upper case, emails to lower case).
// It returns the rule and message of a problem, or "" and "".
func checkDefaultAttr(name string, enc []byte) (rule, msg string) {
	switch name {
	case "country":
		upperInPlace(enc)
		if s := unquote(enc); !upsert.ValidCountry(s) {
			return ruleCountry, fmt.Sprintf("country must be an ISO 3166-1 alpha-2 code such as SG, not %s", s)
		}
	case "email":
		lowerInPlace(enc)
		if s := unquote(enc); !upsert.ValidEmail(s) {
			return "regexp(" + upsert.EmailPattern + ")", "not a valid email address: " + s
		}
	case "phone_number":
		if s := unquote(enc); !upsert.ValidPhone(s) {
			return "regexp(" + upsert.PhonePattern + ")", "user has an invalid phone number: " + s + " (E.164 wanted, e.g. +6598765432)"
		}
	case "age":
		if enc[0] == '-' {
			return ruleMin0, "age must not be negative: " + string(enc)
		}
	}
	return "", ""
}

// unquote returns the text of an encoded JSON string for messages and
// checks. Escapes stay as they are: a value that needed escaping fails the
// format checks anyway.
func unquote(enc []byte) string {
	if len(enc) >= 2 && enc[0] == '"' {
		return string(enc[1 : len(enc)-1])
	}
	return string(enc)
}

func upperInPlace(b []byte) {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
}

func lowerInPlace(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
	}
}

// lowerASCII lower-cases ASCII letters, allocating only when s has an
// upper-case one. (strings.ToLower would also fold non-ASCII letters, which
// Insider's email check does not.)
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			lowerInPlace(b[i:])
			return string(b)
		}
	}
	return s
}

func (r *row) fail(f *Field, rule, msg string) {
	r.problems = append(r.problems, Problem{Column: f.Column, Field: f.Name, Rule: rule, Msg: msg})
}

// requiredBit numbers the params some event requires, so that mapEvent
// tracks which are present in a bit set rather than a map.
func requiredBit(param string) uint8 {
	switch param {
	case "event_group_id":
		return 1
	case "currency":
		return 2
	case "unit_sale_price":
		return 4
	case "quantity":
		return 8
	}
	return 0
}

// mapEvent appends the event of spec e in rec to buf and records it in r:
// as an event to send, dropped by the TTL filter, or as problems.
func (m *mapper) mapEvent(r *row, e *EventSpec, rec *readers.Record, buf []byte) []byte {
	tv := m.cell(&e.Timestamp, rec)
	if tv.IsNull() {
		return buf // no timestamp: no event in this row
	}
	r.eventsRead++
	bad := len(r.problems)
	name := e.Name
	if e.NameColumn != nil {
		nv := m.cell(e.NameColumn, rec)
		name = text(nv)
		if nv.IsNull() {
			r.fail(e.NameColumn, ruleEventNameRequired, "the event has a timestamp but no name")
		} else if !upsert.ValidEventName(name) {
			r.fail(e.NameColumn, ruleEventName, "invalid event name: "+name+" (lowercase letters, digits and _)")
		}
	}
	ts, err := toTime(&e.Timestamp, tv)
	if err != nil {
		r.fail(&e.Timestamp, ruleTimestamp, err.Error())
	}

	start := len(buf)
	if e.NameColumn == nil && e.head != "" {
		buf = append(buf, e.head...)
	} else {
		buf = append(buf, `{"event_name":`...)
		buf = appendString(buf, name)
		buf = append(buf, `,"timestamp":`...)
	}
	buf = appendTime(buf, ts)
	first, custom := true, false
	var present uint8
	for i := range e.Params {
		f := &e.Params[i]
		v := m.cell(f, rec)
		if v.IsNull() {
			continue
		}
		mark := len(buf)
		if first {
			buf = append(buf, `,"event_params":{`...)
		}
		opens := f.Custom && !custom // the first custom param opens "custom"
		if opens {
			if !first {
				buf = append(buf, ',')
			}
			buf = append(buf, `"custom":{`...)
		}
		buf = appendFieldKey(buf, first || opens, f)
		vstart := len(buf)
		if buf, err = appendValue(buf, f, v); err == errNoItems {
			buf = buf[:mark]
			continue // an array without items is absent, like an empty cell
		} else if err != nil {
			buf = buf[:mark]
			r.fail(f, "type("+string(f.Type)+")", err.Error())
			continue
		}
		if !f.Custom && f.Name == "currency" {
			enc := buf[vstart:]
			upperInPlace(enc)
			if s := unquote(enc); !upsert.ValidCurrency(s) {
				buf = buf[:mark]
				r.fail(f, ruleCurrency, "currency must be an ISO 4217 code such as USD, not "+s)
				continue
			}
		}
		custom = custom || opens
		first = false
		if !f.Custom {
			present |= requiredBit(f.Name)
		}
	}
	if custom {
		buf = append(buf, '}')
	}
	if !first {
		buf = append(buf, '}')
	}
	buf = append(buf, '}')
	required, oldest, newest := e.required, e.oldest, e.newest
	if e.head == "" {
		required = upsert.RequiredParams(name)
		oldest, newest = m.keeps(name)
	}
	for _, req := range required {
		if present&requiredBit(req) != 0 || r.failedParam(e, req) {
			continue
		}
		col := ""
		for _, f := range e.Params {
			if f.Name == req && !f.Custom {
				col = f.Column
			}
		}
		r.problems = append(r.problems, Problem{Column: col, Field: req, Rule: ruleParamRequired,
			Msg: fmt.Sprintf("%s parameter is required on %s event", req, name)})
	}
	if len(r.problems) > bad {
		return buf[:start]
	}
	switch {
	case ts.Before(oldest):
		r.expired++
		return buf[:start]
	case ts.After(newest):
		r.future++
		return buf[:start]
	}
	r.evs = append(r.evs, buf[start:len(buf):len(buf)])
	return buf
}

// keeps returns the oldest and newest timestamps of name's events that the
// TTL filter keeps.
func (m *mapper) keeps(name string) (oldest, newest time.Time) {
	return m.ref.Add(-m.cfg.Events.TTLFor(name)), m.ref.Add(m.cfg.Events.FutureTolerance)
}

// failedParam reports whether param of e already has a problem in this
// row, so that a bad currency is not also reported as a missing one.
func (r *row) failedParam(e *EventSpec, param string) bool {
	for _, p := range r.problems {
		if p.Field == param {
			for i := range e.Params {
				if f := &e.Params[i]; !f.Custom && f.Name == param && f.Column == p.Column {
					return true
				}
			}
		}
	}
	return false
}

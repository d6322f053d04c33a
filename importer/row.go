package importer

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/unicode/norm"

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
//
// Rows stay until their batch is answered, a few batches' worth of them,
// so the struct is kept small: the position is src's (kept on release),
// the counts are 32-bit.
type row struct {
	src   readers.Record // the record as read (its position stays), for rejects
	texts *cellTexts     // how src's typed cells are written in rejects
	key   []byte         // the encoded "identifiers" object
	attrs [][]byte       // by index of Mapping.Attributes; nil when absent
	evs   [][]byte       // encoded event objects, TTL filter passed

	problems                    []Problem
	eventsRead, expired, future int32
	tallied                     bool // counted as rejected by the rejectTally
}

// release drops the row's encoded parts and cells once they are in a
// request body: the row keeps only what counts need (event slots stay,
// their number is counted; their bytes go).
func (r *row) release() {
	r.key, r.attrs = nil, nil
	clear(r.evs)
	r.src = readers.Record{Pos: r.src.Pos}
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
	names    *eventNames // collects the names read from name columns, or nil
	// hint sizes each row's buffer: about what recent rows needed. It is
	// atomic because mappers share a mapper; it is stored only when row
	// sizes change a lot, so the cache line stays shared.
	hint atomic.Int32
}

// newMapper binds the config's mapping to an input's columns. A mapped
// column missing from the header is an error naming the column and the
// YAML line.
func newMapper(cfg *Config, file string, columns []string, ref time.Time) (*mapper, error) {
	mp := &mapper{cfg: cfg, nulls: cfg.Source.NullValues, ref: ref, file: file}
	for _, n := range mp.nulls {
		if len(n) < 64 {
			mp.nullLens |= 1 << len(n)
		}
	}
	mp.hint.Store(256)
	b := newColumnBinder(cfg, file, columns)
	mp.m.Identifiers = b.bind(cfg.Mapping.Identifiers)
	mp.m.Attributes = b.bind(cfg.Mapping.Attributes)
	for _, e := range cfg.Mapping.Events {
		mp.m.Events = append(mp.m.Events, mp.bindEvent(b, e))
	}
	if len(b.problems) > 0 {
		return nil, &ConfigError{Problems: b.problems, Hints: headerHints(cfg, file, columns, b.missing)}
	}
	groups := [][]Field{mp.m.Identifiers, mp.m.Attributes}
	for _, e := range mp.m.Events {
		groups = append(groups, []Field{e.Timestamp}, e.Params)
	}
	mp.texts = newCellTexts(len(columns), groups...)
	return mp, nil
}

// bindEvent returns a copy of event spec e bound to the input's columns.
// An event of a fixed name gets what can be worked out once: its encoded
// head, its required params and the timestamps the TTL filter keeps.
func (m *mapper) bindEvent(b *columnBinder, e EventSpec) EventSpec {
	ne := e
	ne.Timestamp = b.bind([]Field{e.Timestamp})[0]
	if e.NameColumn != nil {
		nc := b.bind([]Field{*e.NameColumn})[0]
		ne.NameColumn = &nc
	}
	ne.Params = b.bind(e.Params)
	if e.NameColumn == nil {
		ne.head = string(appendString([]byte(`{"event_name":`), e.Name)) + `,"timestamp":`
		ne.required = upsert.RequiredParams(e.Name)
		ne.oldest, ne.newest = m.keeps(e.Name)
	}
	return ne
}

// columnBinder binds fields to the columns of one input's header and
// collects, as config problems, the columns that are not in it or are in
// it more than once.
type columnBinder struct {
	cfg      *Config
	file     string
	idx      map[string]int // column name → its first index
	dups     map[string]int // column name → how many more times it appears
	problems []ConfigProblem
	missing  bool // some mapped column is not in the header
}

func newColumnBinder(cfg *Config, file string, columns []string) *columnBinder {
	b := &columnBinder{cfg: cfg, file: file, idx: make(map[string]int, len(columns)), dups: map[string]int{}}
	for i, c := range columns {
		c = b.key(c)
		if _, dup := b.idx[c]; dup {
			b.dups[c]++
			continue
		}
		b.idx[c] = i
	}
	return b
}

// key is how a column name is looked up: as written, or in lower case
// with source.columns_case: insensitive.
func (b *columnBinder) key(c string) string {
	if b.cfg.Source.ColumnsInsensitive {
		return strings.ToLower(c)
	}
	return c
}

// bind returns a copy of fs with each field's column index set (-1 for a
// field without a column, or whose column is missing).
func (b *columnBinder) bind(fs []Field) []Field {
	out := make([]Field, len(fs))
	copy(out, fs)
	for i := range out {
		f := &out[i]
		f.col = -1
		f.role = roleOf(f)
		if f.Column == "" {
			continue
		}
		c, ok := b.idx[b.key(f.Column)]
		if !ok {
			b.missing = true
			b.problems = append(b.problems, ConfigProblem{File: b.cfg.File, Line: f.at.Line, Column: f.at.Column,
				Msg: fmt.Sprintf("column %q (for %s) is not in the header of %s", f.Column, f.Name, b.file)})
		}
		if n := b.dups[b.key(f.Column)]; n > 0 {
			b.problems = append(b.problems, ConfigProblem{File: b.cfg.File, Line: f.at.Line, Column: f.at.Column,
				Msg: fmt.Sprintf("column %q (for %s) appears %d times in the header of %s; which one is meant is not clear", f.Column, f.Name, n+1, b.file)})
		}
		if ok {
			f.col = c
		}
	}
	return out
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
	hints = append(hints, normalizationHints(cfg, columns)...)
	if !cfg.Source.ColumnsInsensitive {
		for _, f := range mappedColumns(&cfg.Mapping) {
			if !slices.Contains(columns, f) && slices.ContainsFunc(columns, func(c string) bool { return strings.EqualFold(c, f) }) {
				hints = append(hints, fmt.Sprintf("column %q is in the header in another case; set source.columns_case: insensitive", f))
				break
			}
		}
	}
	return hints
}

// normalizationHints name each mapped column that is missing from the
// header only because the header writes the same letters with other code
// points (Unicode NFC vs NFD: "é" as one code point or as "e" and a
// combining accent, as macOS file names and some exports have them), with
// the name to write in the config, escaped, so it can be pasted.
func normalizationHints(cfg *Config, columns []string) []string {
	key := func(s string) string {
		s = norm.NFC.String(s)
		if cfg.Source.ColumnsInsensitive {
			s = strings.ToLower(s)
		}
		return s
	}
	var hints []string
	for _, f := range mappedColumns(&cfg.Mapping) {
		if slices.ContainsFunc(columns, func(c string) bool {
			return c == f || cfg.Source.ColumnsInsensitive && strings.ToLower(c) == strings.ToLower(f)
		}) {
			continue // bound
		}
		for _, c := range columns {
			if c != f && key(c) == key(f) {
				hints = append(hints, fmt.Sprintf("column %q differs from the header's %q only in Unicode normalization (the config writes it in %s, the header in %s: the same letters as other code points); write it as the header does: %s",
					f, c, normForm(f), normForm(c), strconv.QuoteToASCII(c)))
				break
			}
		}
	}
	return hints
}

// normForm names the Unicode normalization form s is in.
func normForm(s string) string {
	switch {
	case norm.NFC.IsNormalString(s):
		return "NFC"
	case norm.NFD.IsNormalString(s):
		return "NFD"
	}
	return "neither NFC nor NFD"
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

// newRowArena returns an arena for n rows of mapper m. Its encoding
// space comes from spare (see recycle) when one there is large enough.
func (m *mapper) newRowArena(n int, spare *sync.Pool) *rowArena {
	a := &rowArena{
		rows:  make([]row, n),
		attrs: make([][]byte, 0, n*len(m.m.Attributes)),
		evs:   make([][]byte, 0, n*len(m.m.Events)),
	}
	want := n * int(m.hint.Load())
	if spare != nil {
		if p, ok := spare.Get().(*[]byte); ok && cap(*p) >= want {
			a.buf = (*p)[:0]
		}
	}
	if a.buf == nil {
		a.buf = make([]byte, 0, want)
	}
	return a
}

// poisonRecycled, set by tests, overwrites recycled space at once, so that
// a row still read after its arena was recycled shows in the output.
var poisonRecycled bool

// recycle hands the arena's encoding space to spare for a later chunk. It
// is for when every row of the arena is encoded into a request body whose
// batch is cut: nothing reads a row's encoded parts after that (the
// batcher cleared them, see batcher.cut).
func (a *rowArena) recycle(spare *sync.Pool) {
	if a == nil || a.buf == nil {
		return
	}
	buf := a.buf[:0]
	a.buf = nil
	if poisonRecycled {
		full := buf[:cap(buf)]
		for i := range full {
			full[i] = '~'
		}
	}
	spare.Put(&buf)
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
// allocated on their own). The row's parts are encoded one after the
// other into one buffer: the identifiers object, the attributes, the
// events.
func (m *mapper) mapRecordIn(a *rowArena, rec readers.Record) *row {
	r := a.next()
	r.src, r.texts = rec, m.texts
	hint := int(m.hint.Load())
	buf := a.space(hint)
	buf = m.mapIdentifiers(r, &rec, buf)
	r.key = buf[:len(buf):len(buf)]
	buf = m.mapAttributes(a, r, &rec, buf)
	buf = m.mapEvents(a, r, &rec, buf)
	r.settle()
	a.took(buf)
	m.resize(hint, len(buf))
	return r
}

// mapIdentifiers appends the row's "identifiers" object to buf: the
// default identifiers, then the custom ones in a "custom" object. A row
// without any identifier value gets a problem.
func (m *mapper) mapIdentifiers(r *row, rec *readers.Record, buf []byte) []byte {
	buf = append(buf, '{')
	first, custom := true, false
	present := 0
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	for i := range m.m.Identifiers {
		f := &m.m.Identifiers[i]
		v := m.cell(f, rec, &tmp)
		if v == nil {
			continue
		}
		present++
		s, lower, ok := r.identifierText(f, v)
		if !ok {
			continue
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
		m.noIdentifier(r)
	}
	return buf
}

// identifierText returns the text of identifier f's value v, and whether
// it is to be lower-cased once encoded (emails are: that does not change
// whether they pass the check, so it is done in the buffer, not a copy).
// A list, an invalid email or phone number is a problem of r, and ok is
// false.
func (r *row) identifierText(f *Field, v *readers.Value) (s string, lower, ok bool) {
	if v.Kind == readers.KindList {
		r.fail(f, "type(string)", "an identifier must be a single value, not a list")
		return "", false, false
	}
	if f.Type == TypeInteger {
		var err error
		if s, err = fieldIDInteger(f, v); err != nil {
			r.fail(f, "type(integer)", cellError(err, v))
			return "", false, false
		}
		return s, false, true
	}
	s = textOf(v)
	switch f.role {
	case roleEmail:
		if !upsert.ValidEmail(s) {
			r.fail(f, "regexp("+upsert.EmailPattern+")", "not a valid email address: "+lowerASCII(s))
			return s, false, false
		}
		return s, true, true
	case rolePhone:
		if !upsert.ValidPhone(s) {
			r.fail(f, "regexp("+upsert.PhonePattern+")", "user has an invalid phone number: "+s+" (E.164 wanted, e.g. +6598765432)")
			return s, false, false
		}
	}
	return s, false, true
}

// noIdentifier records that every identifier column of the row is empty.
func (m *mapper) noIdentifier(r *row) {
	cols := make([]string, 0, len(m.m.Identifiers))
	for _, f := range m.m.Identifiers {
		cols = append(cols, f.Column)
	}
	r.problems = append(r.problems, Problem{Column: strings.Join(cols, ", "), Rule: ruleIdentifierRequired,
		Msg: "the row has no identifier: every identifier column is empty"})
}

// mapAttributes appends the row's attribute values to buf, each in its
// slot of r.attrs (by index of Mapping.Attributes). r.attrs stays nil
// when the row has no attribute value.
func (m *mapper) mapAttributes(a *rowArena, r *row, rec *readers.Record, buf []byte) []byte {
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	for i := range m.m.Attributes {
		f := &m.m.Attributes[i]
		v := m.cell(f, rec, &tmp)
		if v == nil {
			continue
		}
		start := len(buf)
		var err error
		buf, err = appendCell(buf, f, v)
		if err == errNoItems {
			buf = buf[:start]
			continue // an array without items is absent, like an empty cell
		}
		if err != nil {
			buf = buf[:start]
			r.fail(f, "type("+string(f.Type)+")", cellError(err, v))
			continue
		}
		if f.role != roleNone { // only default attributes with a role have checks
			if rule, msg := checkDefaultAttr(f.role, buf[start:]); msg != "" {
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
	return buf
}

// mapEvents appends the row's events to buf, one per event spec whose
// timestamp cell has a value. r.evs stays nil when none is kept.
func (m *mapper) mapEvents(a *rowArena, r *row, rec *readers.Record, buf []byte) []byte {
	if len(m.m.Events) > 0 {
		r.evs = a.evSlots(len(m.m.Events))
	}
	for i := range m.m.Events {
		buf = m.mapEvent(r, &m.m.Events[i], rec, buf)
	}
	if len(r.evs) == 0 {
		r.evs = nil
	}
	return buf
}

// settle decides the mapped row's fate: a row with nothing to send gets a
// problem, and a row with any problem is rejected whole: none of its
// parts is sent or counted as dropped.
func (r *row) settle() {
	if len(r.problems) == 0 && r.attrs == nil && r.eventsRead == 0 {
		r.problems = append(r.problems, Problem{Rule: ruleDataRequired, Msg: "the row has no attribute and no event value to send"})
	}
	if len(r.problems) > 0 {
		r.attrs, r.evs, r.expired, r.future = nil, nil, 0, 0
	}
}

// resize stores a new buffer size hint when a row of n bytes did not fit
// the hint or needed less than a quarter of it.
func (m *mapper) resize(hint, n int) {
	if n > hint || n < hint/4 {
		m.hint.Store(int32(min(max(n+n/4, 64), 16<<10)))
	}
}

// checkDefaultAttr checks what a default attribute's JSON type does not
// say: formats and ranges. enc is its encoded value, which it may
// normalise in place (country codes to upper case, emails to lower case).
// It returns the rule and message of a problem, or "" and "".
func checkDefaultAttr(role fieldRole, enc []byte) (rule, msg string) {
	switch role {
	case roleCountry:
		upperInPlace(enc)
		if s := unquote(enc); !upsert.ValidCountry(s) {
			return ruleCountry, fmt.Sprintf("country must be an ISO 3166-1 alpha-2 code such as SG, not %s", s)
		}
	case roleEmail:
		lowerInPlace(enc)
		if s := unquote(enc); !upsert.ValidEmail(s) {
			return "regexp(" + upsert.EmailPattern + ")", "not a valid email address: " + s
		}
	case rolePhone:
		if s := unquote(enc); !upsert.ValidPhone(s) {
			return "regexp(" + upsert.PhonePattern + ")", "user has an invalid phone number: " + s + " (E.164 wanted, e.g. +6598765432)"
		}
	case roleAge:
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

// lowerInPlace lower-cases the ASCII letters of b (emails, about 25
// bytes), eight bytes a step; the last step overlaps the one before, which
// lower-casing twice does not change.
func lowerInPlace(b []byte) {
	if len(b) < 8 {
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c - 'A' + 'a'
			}
		}
		return
	}
	for i := 0; i < len(b); i += 8 {
		i = min(i, len(b)-8)
		binary.LittleEndian.PutUint64(b[i:], lower8(binary.LittleEndian.Uint64(b[i:])))
	}
}

// lower8 lower-cases the ASCII letters among the eight bytes of w: a byte
// whose low seven bits are 'A' to 'Z' and whose high bit is clear gets
// 0x20 added. (Each sum stays within its byte: seven bits plus 0x3f.)
func lower8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	low7 := w &^ highs
	upper := (low7 + ones*(0x80-'A')) ^ (low7 + ones*(0x80-'Z'-1))
	return w | (upper&^w&highs)>>2
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

// fieldRole is what the mapping does with a default field beyond
// converting it, told by its name: worked out once, when the field is
// bound, rather than from the name on every row.
type fieldRole uint8

const (
	roleNone fieldRole = iota
	roleEmail
	rolePhone
	roleCountry
	roleAge
	roleCurrency
	roleEventGroupID
	roleUnitSalePrice
	roleQuantity
)

// roleOf returns the role of a default field's name; custom fields have
// none.
func roleOf(f *Field) fieldRole {
	if f.Custom {
		return roleNone
	}
	return roleOfName(f.Name)
}

func roleOfName(name string) fieldRole {
	switch name {
	case "email":
		return roleEmail
	case "phone_number":
		return rolePhone
	case "country":
		return roleCountry
	case "age":
		return roleAge
	case "currency":
		return roleCurrency
	case "event_group_id":
		return roleEventGroupID
	case "unit_sale_price":
		return roleUnitSalePrice
	case "quantity":
		return roleQuantity
	}
	return roleNone
}

// requiredBit numbers the params some event requires, so that mapEvent
// tracks which are present in a bit set rather than a map.
func requiredBit(param string) uint8 { return roleOfName(param).bit() }

// bit is a role's requiredBit: 0 for the roles of params no event
// requires.
func (r fieldRole) bit() uint8 {
	switch r {
	case roleEventGroupID:
		return 1
	case roleCurrency:
		return 2
	case roleUnitSalePrice:
		return 4
	case roleQuantity:
		return 8
	}
	return 0
}

// mapEvent appends the event of spec e in rec to buf and records it in r:
// as an event to send, dropped by the TTL filter, or as problems.
func (m *mapper) mapEvent(r *row, e *EventSpec, rec *readers.Record, buf []byte) []byte {
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	tv := m.cell(&e.Timestamp, rec, &tmp)
	if tv == nil {
		return buf // no timestamp: no event in this row
	}
	r.eventsRead++
	bad := len(r.problems)
	name := m.eventName(r, e, rec)
	ts, err := timeOf(&e.Timestamp, tv)
	if err != nil {
		r.fail(&e.Timestamp, ruleTimestamp, cellError(err, tv))
	}

	start := len(buf)
	buf = appendEventHead(buf, e, name, ts)
	buf, present := m.appendParams(r, e, rec, buf)
	buf = append(buf, '}')
	required, oldest, newest := e.required, e.oldest, e.newest
	if e.head == "" {
		required = upsert.RequiredParams(name)
		oldest, newest = m.keeps(name)
	}
	r.requireParams(e, name, required, present)
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

// eventName returns the name of the event of spec e: the spec's own, or
// the one in its name column, which must be given and valid (else a
// problem of r).
func (m *mapper) eventName(r *row, e *EventSpec, rec *readers.Record) string {
	if e.NameColumn == nil {
		return e.Name
	}
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	nv := m.cell(e.NameColumn, rec, &tmp)
	if nv == nil {
		r.fail(e.NameColumn, ruleEventNameRequired, "the event has a timestamp but no name")
		return ""
	}
	name := textOf(nv)
	if !upsert.ValidEventName(name) {
		r.fail(e.NameColumn, ruleEventName, "invalid event name: "+name+" (lowercase letters, digits and _)")
	} else if m.names != nil {
		m.names.saw(name)
	}
	return name
}

// appendEventHead opens an event object: its name and timestamp, from the
// head encoded once when the name is fixed.
func appendEventHead(buf []byte, e *EventSpec, name string, ts time.Time) []byte {
	if e.NameColumn == nil && e.head != "" {
		buf = append(buf, e.head...)
	} else {
		buf = append(buf, `{"event_name":`...)
		buf = appendString(buf, name)
		buf = append(buf, `,"timestamp":`...)
	}
	return appendTime(buf, ts)
}

// appendParams appends the "event_params" object of the event of spec e,
// the custom params in its "custom" object, or nothing when no param has
// a value. present has the requiredBit of each default param appended.
func (m *mapper) appendParams(r *row, e *EventSpec, rec *readers.Record, buf []byte) (_ []byte, present uint8) {
	first, custom := true, false
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	for i := range e.Params {
		f := &e.Params[i]
		v := m.cell(f, rec, &tmp)
		if v == nil {
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
		var ok bool
		if buf, ok = r.appendParamValue(buf, f, v); !ok {
			buf = buf[:mark]
			continue
		}
		custom = custom || opens
		first = false
		present |= f.role.bit()
	}
	if custom {
		buf = append(buf, '}')
	}
	if !first {
		buf = append(buf, '}')
	}
	return buf, present
}

// appendParamValue appends the value v of param f. It returns false when
// there is nothing to send: an array without items (absent, like an empty
// cell), or a value that does not convert or is not a valid currency (a
// problem of r). Currencies are upper-cased.
func (r *row) appendParamValue(buf []byte, f *Field, v *readers.Value) ([]byte, bool) {
	start := len(buf)
	buf, err := appendCell(buf, f, v)
	if err == errNoItems {
		return buf, false
	} else if err != nil {
		r.fail(f, "type("+string(f.Type)+")", cellError(err, v))
		return buf, false
	}
	if f.role == roleCurrency {
		enc := buf[start:]
		upperInPlace(enc)
		if s := unquote(enc); !upsert.ValidCurrency(s) {
			r.fail(f, ruleCurrency, "currency must be an ISO 4217 code such as USD, not "+s)
			return buf, false
		}
	}
	return buf, true
}

// requireParams records a problem for each param the event name requires
// that is not present, unless that param already has a problem.
func (r *row) requireParams(e *EventSpec, name string, required []string, present uint8) {
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

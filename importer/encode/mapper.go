package encode

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Mapper turns records of one input into rows. MapRecord is safe for
// concurrent use: mappers on every core share one Mapper.
type Mapper struct {
	cfg   *config.Config
	m     Mapping  // copy whose Fields carry the column indexes of the input
	nulls []string // source.null_values
	// nullLens has bit n set when a null value is n bytes long; cells of
	// 64 bytes or more are always compared (see isNull).
	nullLens uint64
	ref      time.Time // TTL reference time
	file     string
	texts    *cellTexts
	Names    *EventNames // collects the names read from name columns, or nil
	// hint sizes each row's buffer: about what recent rows needed. It is
	// atomic because mappers share a mapper; it is stored only when row
	// sizes change a lot, so the cache line stays shared.
	hint atomic.Int32
}

// NewMapper binds the config's mapping to an input's columns. A mapped
// column missing from the header is an error naming the column and the
// YAML line.
func NewMapper(cfg *config.Config, file string, columns []string, ref time.Time) (*Mapper, error) {
	mp := &Mapper{cfg: cfg, nulls: cfg.Source.NullValues, ref: ref, file: file}
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
		return nil, &config.ConfigError{Problems: b.problems, Hints: headerHints(cfg, file, columns, b.missing)}
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
func (m *Mapper) bindEvent(b *columnBinder, e config.EventSpec) EventSpec {
	ne := EventSpec{Name: e.Name}
	ne.Timestamp = b.bind([]config.Field{e.Timestamp})[0]
	if e.NameColumn != nil {
		nc := b.bind([]config.Field{*e.NameColumn})[0]
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

// MapRecord maps one record. Problems are collected, not returned: a row
// with any problem is rejected whole, with every reason found. All encoded
// parts of the row share one buffer, sized from the row before.
func (m *Mapper) MapRecord(rec readers.Record) *Row {
	return m.MapRecordIn(nil, rec)
}

// MapRecordIn is MapRecord taking the row and its memory from a (nil:
// allocated on their own). The row's parts are encoded one after the
// other into one buffer: the identifiers object, the attributes, the
// events.
func (m *Mapper) MapRecordIn(a *RowArena, rec readers.Record) *Row {
	r := a.next()
	r.Src, r.texts = rec, m.texts
	hint := int(m.hint.Load())
	buf := a.space(hint)
	buf = m.mapIdentifiers(r, &rec, buf)
	r.Key = buf[:len(buf):len(buf)]
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
func (m *Mapper) mapIdentifiers(r *Row, rec *readers.Record, buf []byte) []byte {
	buf = append(buf, '{')
	first, custom := true, false
	present := 0
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	for i := range m.m.Identifiers {
		f := &m.m.Identifiers[i]
		v := m.Cell(f, rec, &tmp)
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
func (r *Row) identifierText(f *Field, v *readers.Value) (s string, lower, ok bool) {
	if v.Kind == readers.KindList {
		r.fail(f, "type(string)", "an identifier must be a single value, not a list")
		return "", false, false
	}
	if f.Type == config.TypeInteger {
		var err error
		if s, err = fieldIDInteger(f, v); err != nil {
			r.fail(f, "type(integer)", CellError(err, v))
			return "", false, false
		}
		return s, false, true
	}
	s = TextOf(v)
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
func (m *Mapper) noIdentifier(r *Row) {
	cols := make([]string, 0, len(m.m.Identifiers))
	for _, f := range m.m.Identifiers {
		cols = append(cols, f.Column)
	}
	r.Problems = append(r.Problems, Problem{Column: strings.Join(cols, ", "), Rule: RuleIdentifierRequired,
		Msg: "the row has no identifier: every identifier column is empty"})
}

// mapAttributes appends the row's attribute values to buf, each in its
// slot of r.attrs (by index of Mapping.Attributes). r.attrs stays nil
// when the row has no attribute value.
func (m *Mapper) mapAttributes(a *RowArena, r *Row, rec *readers.Record, buf []byte) []byte {
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	for i := range m.m.Attributes {
		f := &m.m.Attributes[i]
		v := m.Cell(f, rec, &tmp)
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
			r.fail(f, "type("+string(f.Type)+")", CellError(err, v))
			continue
		}
		if f.role != roleNone { // only default attributes with a role have checks
			if rule, msg := checkDefaultAttr(f.role, buf[start:]); msg != "" {
				buf = buf[:start]
				r.fail(f, rule, msg)
				continue
			}
		}
		if r.Attrs == nil {
			r.Attrs = a.attrSlots(len(m.m.Attributes))[:len(m.m.Attributes)]
		}
		r.Attrs[i] = buf[start:len(buf):len(buf)]
	}
	return buf
}

// mapEvents appends the row's events to buf, one per event spec whose
// timestamp cell has a value. r.evs stays nil when none is kept.
func (m *Mapper) mapEvents(a *RowArena, r *Row, rec *readers.Record, buf []byte) []byte {
	if len(m.m.Events) > 0 {
		r.Evs = a.evSlots(len(m.m.Events))
	}
	for i := range m.m.Events {
		buf = m.mapEvent(r, &m.m.Events[i], rec, buf)
	}
	if len(r.Evs) == 0 {
		r.Evs = nil
	}
	return buf
}

// resize stores a new buffer size hint when a row of n bytes did not fit
// the hint or needed less than a quarter of it.
func (m *Mapper) resize(hint, n int) {
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

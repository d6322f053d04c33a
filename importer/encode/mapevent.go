package encode

import (
	"fmt"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// mapEvent appends the event of spec e in rec to buf and records it in r:
// as an event to send, dropped by the TTL filter, or as problems.
func (m *Mapper) mapEvent(r *Row, e *EventSpec, rec *readers.Record, buf []byte) []byte {
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	tv := m.Cell(&e.Timestamp, rec, &tmp)
	if tv == nil {
		return buf // no timestamp: no event in this row
	}
	r.EventsRead++
	bad := len(r.Problems)
	name := m.eventName(r, e, rec)
	ts, err := timeOf(&e.Timestamp, tv)
	if err != nil {
		r.fail(&e.Timestamp, ruleTimestamp, CellError(err, tv))
	}

	start := len(buf)
	buf = appendEventHead(buf, e, name, ts, utcText(&e.Timestamp, tv, err))
	buf, present := m.appendParams(r, e, rec, buf)
	buf = append(buf, '}')
	required, oldest, newest := e.required, e.oldest, e.newest
	if e.head == "" {
		required = upsert.RequiredParams(name)
		oldest, newest = m.keeps(name)
	}
	r.requireParams(e, name, required, present)
	if len(r.Problems) > bad {
		return buf[:start]
	}
	switch {
	case ts.Before(oldest):
		r.Expired++
		return buf[:start]
	case ts.After(newest):
		r.Future++
		return buf[:start]
	}
	r.Evs = append(r.Evs, buf[start:len(buf):len(buf)])
	return buf
}

// eventName returns the name of the event of spec e: the spec's own, or
// the one in its name column, which must be given and valid (else a
// problem of r).
func (m *Mapper) eventName(r *Row, e *EventSpec, rec *readers.Record) string {
	if e.NameColumn == nil {
		return e.Name
	}
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	nv := m.Cell(e.NameColumn, rec, &tmp)
	if nv == nil {
		r.fail(e.NameColumn, ruleEventNameRequired, "the event has a timestamp but no name")
		return ""
	}
	name := TextOf(nv)
	if !upsert.ValidEventName(name) {
		r.fail(e.NameColumn, ruleEventName, "invalid event name: "+name+" (lowercase letters, digits and _)")
	} else if m.Names != nil {
		m.Names.saw(name)
	}
	return name
}

// appendEventHead opens an event object: its name and timestamp, from the
// head encoded once when the name is fixed. text, when not "", is the
// timestamp's cell, already written as appendTime writes ts (utcText).
func appendEventHead(buf []byte, e *EventSpec, name string, ts time.Time, text string) []byte {
	if e.NameColumn == nil && e.head != "" {
		buf = append(buf, e.head...)
	} else {
		buf = append(buf, `{"event_name":`...)
		buf = appendString(buf, name)
		buf = append(buf, `,"timestamp":`...)
	}
	if text != "" {
		buf = append(buf, '"')
		buf = append(buf, text...)
		return append(buf, '"')
	}
	return appendTime(buf, ts)
}

// utcText returns the text of timestamp cell v when it is what appendTime
// makes of the time it was read as (err nil): RFC 3339 in UTC without a
// fraction, "2024-01-01T00:06:33Z", as most exports write it; else "". The
// RFC 3339 reader has checked its digits, ranges and date, and reads the
// "Z" as UTC, so the text needs no formatting again (a third of what the
// timestamp cost).
func utcText(f *Field, v *readers.Value, err error) string {
	if err != nil || v.Kind != readers.KindString || f.Type == config.TypeDate || (f.Layout != "" && f.Layout != layoutRFC3339) {
		return ""
	}
	s := v.Str
	if len(s) != 20 || s[10] != 'T' || s[19] != 'Z' {
		return ""
	}
	return s
}

// appendParams appends the "event_params" object of the event of spec e,
// the custom params in its "custom" object, or nothing when no param has
// a value. present has the requiredBit of each default param appended.
func (m *Mapper) appendParams(r *Row, e *EventSpec, rec *readers.Record, buf []byte) (_ []byte, present uint8) {
	first, custom := true, false
	tmp := readers.Value{Kind: readers.KindString} // see mapper.cell
	for i := range e.Params {
		f := &e.Params[i]
		v := m.Cell(f, rec, &tmp)
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
func (r *Row) appendParamValue(buf []byte, f *Field, v *readers.Value) ([]byte, bool) {
	start := len(buf)
	buf, err := appendCell(buf, f, v)
	if err == errNoItems {
		return buf, false
	} else if err != nil {
		r.fail(f, "type("+string(f.Type)+")", CellError(err, v))
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
func (r *Row) requireParams(e *EventSpec, name string, required []string, present uint8) {
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
		r.Problems = append(r.Problems, Problem{Column: col, Field: req, Rule: ruleParamRequired,
			Msg: fmt.Sprintf("%s parameter is required on %s event", req, name)})
	}
}

// keeps returns the oldest and newest timestamps of name's events that the
// TTL filter keeps.
func (m *Mapper) keeps(name string) (oldest, newest time.Time) {
	return m.ref.Add(-m.cfg.Events.TTLFor(name)), m.ref.Add(m.cfg.Events.FutureTolerance)
}

// failedParam reports whether param of e already has a problem in this
// row, so that a bad currency is not also reported as a missing one.
func (r *Row) failedParam(e *EventSpec, param string) bool {
	for _, p := range r.Problems {
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

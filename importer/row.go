package importer

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
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
	cells []readers.Value
	key   []byte   // the encoded "identifiers" object
	attrs [][]byte // by index of Mapping.Attributes; nil when absent
	evs   [][]byte // encoded event objects, TTL filter passed

	eventsRead, expired, future int
	problems                    []Problem
}

// mapper turns records of one input into rows. It is used by one goroutine.
type mapper struct {
	cfg   *Config
	m     Mapping // copy whose Fields carry the column indexes of the input
	nulls map[string]bool
	ref   time.Time // TTL reference time
	file  string
}

// newMapper binds the config's mapping to an input's columns. A mapped
// column missing from the header is an error naming the column and the
// YAML line.
func newMapper(cfg *Config, file string, columns []string, ref time.Time) (*mapper, error) {
	idx := make(map[string]int, len(columns))
	for i, c := range columns {
		if _, dup := idx[c]; !dup {
			idx[c] = i
		}
	}
	mp := &mapper{cfg: cfg, nulls: map[string]bool{}, ref: ref, file: file}
	for _, n := range cfg.Source.NullValues {
		mp.nulls[n] = true
	}
	var problems []ConfigProblem
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
				problems = append(problems, ConfigProblem{File: cfg.File, Line: f.at.Line, Column: f.at.Column,
					Msg: fmt.Sprintf("column %q (for %s) is not in the header of %s", f.Column, f.Name, file)})
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
		mp.m.Events = append(mp.m.Events, ne)
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return mp, nil
}

var countryRe = regexp.MustCompile(`^[A-Za-z]{2}$`)

// mapRecord maps one record. Problems are collected, not returned: a row
// with any problem is rejected whole, with every reason found.
func (m *mapper) mapRecord(rec readers.Record) *row {
	r := &row{pos: rec.Pos, cells: rec.Values}
	var buf []byte

	// Identifiers.
	buf = append(buf, '{')
	first, custom := true, false
	for i := range m.m.Identifiers {
		f := &m.m.Identifiers[i]
		v := m.cell(f, &rec)
		if v.IsNull() {
			continue
		}
		s := strings.TrimSpace(text(v))
		if v.Kind == readers.KindList {
			r.fail(f, "type", "an identifier must be a single value, not a list")
			continue
		}
		if !f.Custom {
			switch f.Name {
			case "email":
				s = strings.ToLower(s)
				if !upsert.ValidEmail(s) {
					r.fail(f, "regexp("+upsert.EmailPattern+")", "not a valid email address: "+s)
					continue
				}
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
		buf = appendKey(buf, first, f.Name)
		buf = appendString(buf, s)
		first = false
	}
	if custom {
		buf = append(buf, '}')
	}
	buf = append(buf, '}')
	if len(buf) == 2 {
		cols := make([]string, 0, len(m.m.Identifiers))
		for _, f := range m.m.Identifiers {
			cols = append(cols, f.Column)
		}
		r.problems = append(r.problems, Problem{Column: strings.Join(cols, ", "), Rule: "identifiers.required", Msg: "the row has no identifier: every identifier column is empty"})
	}
	r.key = buf

	// Attributes.
	var vbuf []byte
	for i := range m.m.Attributes {
		f := &m.m.Attributes[i]
		v := m.cell(f, &rec)
		if v.IsNull() {
			continue
		}
		start := len(vbuf)
		var err error
		vbuf, err = appendValue(vbuf, f, v)
		if err != nil {
			r.fail(f, "type("+string(f.Type)+")", err.Error())
			continue
		}
		enc := vbuf[start:]
		if !f.Custom {
			if msg := checkDefaultAttr(f.Name, enc); msg != "" {
				r.fail(f, "format", msg)
				continue
			}
			if f.Name == "country" {
				copy(enc, bytes.ToUpper(enc))
			}
		}
		if r.attrs == nil {
			r.attrs = make([][]byte, len(m.m.Attributes))
		}
		r.attrs[i] = enc[:len(enc):len(enc)]
	}

	// Events.
	for i := range m.m.Events {
		m.mapEvent(r, &m.m.Events[i], &rec)
	}
	if len(r.problems) == 0 && r.attrs == nil && r.eventsRead == 0 {
		r.problems = append(r.problems, Problem{Rule: "attributes_or_events.required", Msg: "the row has no attribute and no event value to send"})
	}
	return r
}

// checkDefaultAttr checks formats of default attributes beyond their JSON
// type; enc is the encoded value.
func checkDefaultAttr(name string, enc []byte) string {
	switch name {
	case "country":
		if len(enc) < 2 || !countryRe.Match(enc[1:len(enc)-1]) {
			return fmt.Sprintf("country must be an ISO 3166-1 alpha-2 code such as SG, not %s", enc)
		}
	case "email":
		if !upsert.ValidEmail(string(enc[1 : len(enc)-1])) {
			return "not a valid email address: " + string(enc[1:len(enc)-1])
		}
	case "phone_number":
		if !upsert.ValidPhone(string(enc[1 : len(enc)-1])) {
			return "not an E.164 phone number: " + string(enc[1:len(enc)-1])
		}
	case "age":
		if enc[0] == '-' {
			return "age must not be negative"
		}
	}
	return ""
}

func (r *row) fail(f *Field, rule, msg string) {
	r.problems = append(r.problems, Problem{Column: f.Column, Field: f.Name, Rule: rule, Msg: msg})
}

func (m *mapper) mapEvent(r *row, e *EventSpec, rec *readers.Record) {
	tv := m.cell(&e.Timestamp, rec)
	if tv.IsNull() {
		return // no timestamp: no event in this row
	}
	r.eventsRead++
	bad := len(r.problems)
	name := e.Name
	if e.NameColumn != nil {
		nv := m.cell(e.NameColumn, rec)
		name = strings.TrimSpace(text(nv))
		if nv.IsNull() {
			r.fail(e.NameColumn, "event_name.required", "the event has a timestamp but no name")
		} else if !upsert.ValidEventName(name) {
			r.fail(e.NameColumn, "event_name", "invalid event name: "+name+" (lowercase letters, digits and _)")
		}
	}
	ts, err := toTime(&e.Timestamp, tv)
	if err != nil {
		r.fail(&e.Timestamp, "timestamp", err.Error())
	}

	var buf []byte
	buf = append(buf, `{"event_name":`...)
	buf = appendString(buf, name)
	buf = append(buf, `,"timestamp":`...)
	buf = appendTime(buf, ts)
	first, custom := true, false
	present := map[string]bool{}
	for i := range e.Params {
		f := &e.Params[i]
		v := m.cell(f, rec)
		if v.IsNull() {
			continue
		}
		if first {
			buf = append(buf, `,"event_params":{`...)
		}
		if f.Custom && !custom {
			if !first {
				buf = append(buf, ',')
			}
			buf = append(buf, `"custom":{`...)
			first, custom = true, true
		}
		buf = appendKey(buf, first, f.Name)
		first = false
		if buf, err = appendValue(buf, f, v); err != nil {
			r.fail(f, "type("+string(f.Type)+")", err.Error())
			continue
		}
		if !f.Custom {
			present[f.Name] = true
		}
	}
	if custom {
		buf = append(buf, '}')
	}
	if !first {
		buf = append(buf, '}')
	}
	buf = append(buf, '}')
	for _, req := range upsert.RequiredParams(name) {
		if !present[req] {
			col := ""
			for _, f := range e.Params {
				if f.Name == req && !f.Custom {
					col = f.Column
				}
			}
			r.problems = append(r.problems, Problem{Column: col, Field: req, Rule: "event_params.required",
				Msg: fmt.Sprintf("%s parameter is required on %s event", req, name)})
		}
	}
	if len(r.problems) > bad {
		return
	}
	switch {
	case ts.Before(m.ref.Add(-m.cfg.Events.TTLFor(name))):
		r.expired++
	case ts.After(m.ref.Add(m.cfg.Events.FutureTolerance)):
		r.future++
	default:
		r.evs = append(r.evs, buf)
	}
}

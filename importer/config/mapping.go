package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/insider-import/insider-import/importer/upsert"
)

// The named layouts of date and datetime fields (any other layout is a Go
// layout): RFC 3339 (the default) and the epoch layouts.
const (
	LayoutRFC3339 = "rfc3339"
	LayoutUnix    = "unix"    // seconds since 1970-01-01 UTC
	LayoutUnixMs  = "unix_ms" // milliseconds
	LayoutUnixUs  = "unix_us" // microseconds
	LayoutUnixNs  = "unix_ns" // nanoseconds
)

// The choices of a field's dst: which instant a wall clock in a
// daylight-saving gap or overlap is.
const (
	DSTEarlier = "earlier"
	DSTLater   = "later"
)

// The forms of array cells (a field's format).
const (
	ArraySeparator = "separator" // a|b|c (the default)
	ArrayJSON      = "json"      // ["a","b"]
	ArrayPostgres  = "postgres"  // {a,b,"c d",NULL}
	ArrayBrackets  = "brackets"  // [a, b, 'c, d'] (DuckDB)
)

// ArrayFormats lists the array forms, in the order messages name them.
var ArrayFormats = []string{ArraySeparator, ArrayJSON, ArrayPostgres, ArrayBrackets}

// NamedLayout returns the canonical name of a layout that is not a Go
// layout ("RFC3339" is "rfc3339"), or "".
func NamedLayout(layout string) string {
	for _, n := range [...]string{LayoutRFC3339, LayoutUnix, LayoutUnixMs, LayoutUnixUs, LayoutUnixNs} {
		if strings.EqualFold(layout, n) {
			return n
		}
	}
	return ""
}

// mappingSection is mapping: the identifiers, attributes and events.
var mappingSection = &section[Mapping]{
	specs: []spec[Mapping]{
		sub("identifiers", "who each row is: at least one", identifierSection, func(m *Mapping) *[]Field { return &m.Identifiers }),
		sub("attributes", "Insider's default attributes, and custom ones", attributeSection, func(m *Mapping) *[]Field { return &m.Attributes }),
		{key: "events", doc: "a list of event specs, each making one event per row", sub: nested{"[]", eventSection}, decode: decodeEvents},
	},
	after: func(w *walker, _ string, _, _ ast.Node, m *Mapping) {
		sortFields(m.Identifiers)
		sortFields(m.Attributes)
		m.checkNames(w)
	},
}

// identifierSection is mapping.identifiers.
var identifierSection = &section[[]Field]{specs: []spec[[]Field]{
	{key: "email", doc: "a field of addresses: trimmed, lower-cased, checked", decode: appendField(false)},
	{key: "phone_number", doc: "a field of E.164 numbers", decode: appendField(false)},
	{key: "uuid", doc: "a field of ids, sent as strings (type: integer reads 1000001.0 as 1000001)", decode: appendField(false)},
	sub("custom", "identifiers of your own, by name", customSection, func(fs *[]Field) *[]Field { return fs }),
}}

// attributeSection is mapping.attributes: any of Insider's default
// attributes (checked by checkNames), and custom ones.
var attributeSection = &section[[]Field]{
	specs: []spec[[]Field]{sub("custom", "attributes of your own, by name", customSection, func(fs *[]Field) *[]Field { return fs })},
	other: &spec[[]Field]{key: "<attribute>", doc: "one of Insider's default attributes (name, surname, birthday, email_optin, ...): a field", decode: appendField(false)},
}

// paramSection is the params of an event spec: Insider's default event
// params (checked by checkParams), and custom ones.
var paramSection = &section[[]Field]{
	specs: []spec[[]Field]{sub("custom", "params of your own, by name", customSection, func(fs *[]Field) *[]Field { return fs })},
	other: &spec[[]Field]{key: "<param>", doc: "one of Insider's default event params (event_group_id, product_id, currency, ...): a field", decode: appendField(false)},
}

// customSection is the custom fields under "custom", by name.
var customSection = &section[[]Field]{
	other: &spec[[]Field]{key: "<name>", doc: "a field (lowercase letters, digits and _)", decode: appendField(true)},
}

// appendField decodes a field named by its key and appends it.
func appendField(custom bool) func(w *walker, where string, k, v ast.Node, dst *[]Field) {
	return func(w *walker, where string, k, v ast.Node, dst *[]Field) {
		if f, ok := decodeField(w, where, keyText(k), custom, k, v); ok {
			*dst = append(*dst, f)
		}
	}
}

// decodeEvents decodes mapping.events, a list of event specs.
func decodeEvents(w *walker, where string, _, v ast.Node, m *Mapping) {
	seq, ok := v.(*ast.SequenceNode)
	if !ok {
		w.addf(v, "%s must be a list of event specs (- name: ...)", where)
		return
	}
	for i, e := range seq.Values {
		n := unwrap(e)
		ev := eventDecoding{EventSpec: EventSpec{at: pos(firstKey(n))}}
		eventSection.decode(w, fmt.Sprintf("%s[%d]", where, i), nil, n, &ev)
		if ev.ok {
			m.Events = append(m.Events, ev.EventSpec)
		}
	}
}

// eventDecoding is an event spec being decoded.
type eventDecoding struct {
	EventSpec
	haveTS bool // timestamp was given
	ok     bool // the spec can be used: it has a name (or name column) and a timestamp
}

// eventSection is one event spec of mapping.events.
var eventSection = &section[eventDecoding]{
	specs: []spec[eventDecoding]{
		custom("name", "", "the events' name (lowercase letters, digits and _), or", func(w *walker, where string, _, v ast.Node, ev *eventDecoding) {
			w.str(v, where, &ev.Name)
			if !upsert.ValidEventName(ev.Name) {
				w.addf(v, "%s: %q is not an event name Insider accepts (lowercase letters, digits and _)", where, ev.Name)
			}
		}),
		custom("name_column", "", "a field of event names", func(w *walker, where string, k, v ast.Node, ev *eventDecoding) {
			f, ok := decodeField(w, where, "event_name", false, k, v)
			if !ok {
				return
			}
			if f.Type != TypeString {
				w.addAt(f.At, "%s: event names are strings; remove type %s", where, f.Type)
			}
			finishField(w, where, &f)
			if f.Value != nil && !upsert.ValidEventName(strings.TrimSpace(*f.Value)) {
				w.addAt(f.At, "%s.value: %q is not an event name Insider accepts (lowercase letters, digits and _)", where, *f.Value)
			}
			ev.NameColumn = &f
		}),
		custom("timestamp", "", "a field of when the event happened (required; type datetime or date)", func(w *walker, where string, k, v ast.Node, ev *eventDecoding) {
			ev.haveTS = true
			f, ok := decodeField(w, where, "timestamp", false, k, v, TypeDateTime)
			if !ok {
				return
			}
			if f.Type != TypeDateTime && f.Type != TypeDate {
				w.addAt(f.At, "%s: type must be datetime or date, not %s", where, f.Type)
			}
			finishField(w, where, &f)
			checkConstant(w, where, &f)
			ev.Timestamp = f
		}),
		sub("params", "the event's params", paramSection, func(ev *eventDecoding) *[]Field { return &ev.Params }),
	},
	after: func(w *walker, where string, _, _ ast.Node, ev *eventDecoding) {
		ev.ok = true
		if (ev.Name == "") == (ev.NameColumn == nil) {
			w.addAt(ev.at, "%s: give either name or name_column", where)
			ev.ok = false
		}
		if !ev.haveTS {
			w.addAt(ev.at, "%s: timestamp is required (the column holding when the event happened)", where)
			ev.ok = false
		}
		sortFields(ev.Params)
		checkParams(w, where, &ev.EventSpec)
	},
}

// Columns lists the columns the mapping reads, each once, in the order
// the mapping names them.
func (m *Mapping) Columns() []string {
	cols := []string{}
	add := func(fs ...Field) {
		for _, f := range fs {
			if f.Column != "" && !slices.Contains(cols, f.Column) {
				cols = append(cols, f.Column)
			}
		}
	}
	add(m.Identifiers...)
	add(m.Attributes...)
	for _, e := range m.Events {
		add(e.Timestamp)
		if e.NameColumn != nil {
			add(*e.NameColumn)
		}
		add(e.Params...)
	}
	return cols
}

// sortFields orders fields so payload keys come out in one fixed order,
// whatever order the YAML lists them in: default fields first, then custom,
// each by name.
func sortFields(fs []Field) {
	slices.SortStableFunc(fs, func(a, b Field) int {
		if a.Custom != b.Custom {
			if a.Custom {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// decodeField reads the short form (a column name) or the long form
// (fieldSection). Whether the options fit the type is checked by
// finishField, once the type is settled (a default attribute without a
// type takes the one Insider expects).
func decodeField(w *walker, where, name string, custom bool, k, v ast.Node, defType ...FieldType) (Field, bool) {
	f := Field{Name: name, Custom: custom, At: pos(k)}
	if custom && !upsert.ValidCustomName(name) {
		w.addf(k, "%s: %q is not a name Insider accepts for a custom field (lowercase letters, digits and _)", where, name)
	}
	var ok bool
	if _, long := v.(*ast.MappingNode); long {
		ok = decodeFieldLong(w, where, k, v, &f)
	} else {
		ok = decodeFieldShort(w, where, k, v, &f)
	}
	if !ok {
		return f, false
	}
	if f.Type == "" {
		f.Type = TypeString
		if len(defType) > 0 {
			f.Type = defType[0]
		}
	}
	return f, true
}

// decodeFieldShort reads a field given as the name of its column.
func decodeFieldShort(w *walker, where string, k, v ast.Node, f *Field) bool {
	s, ok := w.scalar(v, where)
	if !ok {
		return false
	}
	if s == "" {
		w.addf(k, "%s: name the column it comes from", where)
		return false
	}
	f.Column = s
	return true
}

// decodeFieldLong reads a field given as a mapping of options, which
// must name a column or a constant value, not both.
func decodeFieldLong(w *walker, where string, k, v ast.Node, f *Field) bool {
	fieldSection.decode(w, where, k, v, f)
	if f.Column == "" && f.Value == nil {
		w.addf(k, "%s: give a column (or a constant value)", where)
		return false
	}
	if f.Column != "" && f.Value != nil {
		w.addf(k, "%s: give column or value, not both", where)
	}
	return true
}

// fieldSection is the long form of a field. The defaults of layout,
// separator, format and decimal depend on the type: finishField applies
// them (from this table), once the type is settled.
var fieldSection = &section[Field]{specs: []spec[Field]{
	text("column", "", "the column it comes from, or", func(f *Field) *string { return &f.Column }, nil),
	custom("type", string(TypeString), "string, number, integer, boolean, date, datetime or array; a default field takes the type Insider expects",
		func(w *walker, where string, _, v ast.Node, f *Field) {
			var t string
			w.str(v, where, &t)
			f.Type = FieldType(t)
			f.typed = true
			if !slices.Contains(fieldTypes, f.Type) {
				w.addf(v, "%s must be one of string, number, integer, boolean, date, datetime, array; not %q", where, t)
			}
		}),
	described(text("layout", LayoutRFC3339, "of dates and datetimes: rfc3339, unix, unix_ms, unix_us, unix_ns or a Go layout", func(f *Field) *string { return &f.Layout }, nil)),
	custom("timezone", "", "the IANA zone of dates and datetimes written without one (none: such a value is rejected)",
		func(w *walker, where string, _, v ast.Node, f *Field) { f.Timezone = decodeTimezone(w, where, v) }),
	custom("dst", "", "earlier or later: which instant a local time at a daylight-saving change is", func(w *walker, where string, _, v ast.Node, f *Field) {
		w.str(v, where, &f.DST)
		if f.DST != DSTEarlier && f.DST != DSTLater {
			w.addf(v, "%s must be earlier or later (which instant a local time at a daylight-saving change means), not %q", where, f.DST)
		}
	}),
	custom("separator", "|", "what splits an array cell", func(w *walker, where string, _, v ast.Node, f *Field) {
		w.str(v, where, &f.Separator)
		if f.Separator == "" {
			w.addf(v, "%s must not be empty", where)
			f.Separator = "|"
		}
	}),
	custom("format", ArraySeparator, "how an array cell is written: "+strings.Join(ArrayFormats, ", "), func(w *walker, where string, _, v ast.Node, f *Field) {
		w.str(v, where, &f.Format)
		if !slices.Contains(ArrayFormats, f.Format) {
			w.addf(v, "%s must be one of %s (how an array cell is written), not %q", where, strings.Join(ArrayFormats, ", "), f.Format)
		}
	}),
	custom("decimal", ".", `the decimal mark of numbers: "." or ","`, func(w *walker, where string, _, v ast.Node, f *Field) {
		w.str(v, where, &f.Decimal)
		if f.Decimal != "." && f.Decimal != "," {
			w.addf(v, `%s must be "." or ","`, where)
		}
	}),
	custom("thousands", "", `the digit group separator of numbers: ".", ",", " " or "'"`, func(w *walker, where string, _, v ast.Node, f *Field) {
		w.str(v, where, &f.Thousands)
		if !slices.Contains([]string{".", ",", " ", "'"}, f.Thousands) {
			w.addf(v, `%s must be ".", ",", " " or "'" (what groups the digits of 1.234.567), not %q`, where, f.Thousands)
		}
	}),
	custom("value", "", "a constant sent on every row, instead of a column", func(w *walker, where string, _, v ast.Node, f *Field) {
		var s string
		if _, isNull := v.(*ast.NullNode); isNull {
			w.addf(v, "%s must not be empty", where)
		}
		w.str(v, where, &s)
		f.Value = &s
	}),
}}

// decodeTimezone reads an IANA time zone name; an unknown or empty one is
// a problem, and UTC stands in for it.
func decodeTimezone(w *walker, where string, v ast.Node) *time.Location {
	var tz string
	w.str(v, where, &tz)
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		w.addf(v, "%s: unknown time zone %q (an IANA name such as Europe/Berlin, or UTC)", where, tz)
		loc = time.UTC
	}
	return loc
}

// finishField checks that the options given fit the field's settled type
// and fills in their defaults.
func finishField(w *walker, where string, f *Field) {
	isTime := f.Type == TypeDate || f.Type == TypeDateTime
	if f.Layout != "" && !isTime {
		w.addAt(f.At, "%s: layout applies to date and datetime only, not %s", where, f.Type)
	}
	if f.Timezone != nil && !isTime {
		w.addAt(f.At, "%s: timezone applies to date and datetime only, not %s", where, f.Type)
	}
	if f.Decimal != "" && f.Type != TypeNumber && f.Type != TypeInteger && f.Type != TypeArray {
		w.addAt(f.At, "%s: decimal applies to number, integer and array only, not %s", where, f.Type)
	}
	if f.Thousands != "" && f.Type != TypeNumber && f.Type != TypeInteger {
		w.addAt(f.At, "%s: thousands applies to number and integer only, not %s", where, f.Type)
	} else if f.Thousands != "" && f.Thousands == cmp.Or(f.Decimal, ".") {
		w.addAt(f.At, `%s: thousands and decimal are both %q; for 1.234,05 set thousands: "." and decimal: ","`, where, f.Thousands)
	}
	if f.Separator != "" && f.Type != TypeArray {
		w.addAt(f.At, "%s: separator applies to arrays only, not %s", where, f.Type)
	}
	if f.Format != "" && f.Type != TypeArray {
		w.addAt(f.At, "%s: format applies to arrays only, not %s (a date's form is its layout)", where, f.Type)
	}
	if f.Separator != "" && f.Format != "" && f.Format != ArraySeparator {
		w.addAt(f.At, "%s: separator applies to format: separator only, not %s", where, f.Format)
	}
	if f.DST != "" && !isTime {
		w.addAt(f.At, "%s: dst applies to date and datetime only, not %s", where, f.Type)
	} else if f.DST != "" && f.Timezone == nil {
		w.addAt(f.At, "%s: dst applies to local times in a timezone; set timezone too", where)
	}
	if isTime && f.Layout != "" {
		if n := NamedLayout(f.Layout); n != "" {
			f.Layout = n
		} else if msg := checkLayout(f.Layout); msg != "" {
			w.addAt(f.At, "%s: %s", where, msg)
		}
	}
	if f.Type == TypeArray && f.Separator == "" {
		f.Separator = fieldSection.def("separator")
	}
	if f.Type == TypeArray && f.Format == "" {
		f.Format = fieldSection.def("format")
	}
	if f.Decimal == "" {
		f.Decimal = fieldSection.def("decimal")
	}
	// No default timezone: text without a zone in a field without one is
	// refused row by row, with the reason, rather than read as UTC.
}

// checkNames checks the identifier and attribute names against Insider's
// rules and the declared types against what Insider expects.
func (m *Mapping) checkNames(w *walker) {
	for i := range m.Identifiers {
		f := &m.Identifiers[i]
		where := f.Path("mapping.identifiers")
		switch {
		case f.Type == TypeInteger && !f.Custom && f.Name != "uuid":
			w.addAt(f.At, "%s: type integer is for ids (uuid and custom identifiers), not %s", where, f.Name)
			f.Type = TypeString
		case f.Type != TypeString && f.Type != TypeInteger:
			// type: integer reads an id written as a float (pandas'
			// 1000001.0) as the whole number, sent as its digits.
			w.addAt(f.At, "%s: identifiers are strings; remove type %s (or declare type: integer for ids written as floats, 1000001.0)", where, f.Type)
			f.Type = TypeString
		}
		f.Wants = upsert.TypeString
		finishField(w, where, f)
		checkConstant(w, where, f)
	}
	for i := range m.Attributes {
		f := &m.Attributes[i]
		where := f.Path("mapping.attributes")
		if !f.Custom {
			want, ok := upsert.DefaultAttributes[f.Name]
			if !ok {
				w.addAt(f.At, "mapping.attributes.%s is not one of Insider's default attributes; custom attributes go under mapping.attributes.custom", f.Name)
				continue
			}
			if upsert.IsIdentifier(f.Name) && slices.ContainsFunc(m.Identifiers, func(id Field) bool { return !id.Custom && id.Name == f.Name }) {
				w.addAt(f.At, "%s: %s is mapped under identifiers already, and Insider wants identifiers only there; remove one", where, f.Name)
			}
			f.Wants = want
			checkType(w, where, f, want)
		}
		finishField(w, where, f)
		checkConstant(w, where, f)
	}
}

func checkParams(w *walker, where string, ev *EventSpec) {
	for i := range ev.Params {
		f := &ev.Params[i]
		at := f.Path(where + ".params")
		if !f.Custom {
			want, ok := upsert.DefaultEventParams[f.Name]
			if !ok {
				w.addAt(f.At, "%s.params.%s is not one of Insider's default event params; custom params go under params.custom", where, f.Name)
				continue
			}
			f.Wants = want
			checkType(w, at, f, want)
		}
		finishField(w, at, f)
		checkConstant(w, at, f)
	}
	if ev.Name != "" {
		for _, req := range upsert.RequiredParams(ev.Name) {
			if !slices.ContainsFunc(ev.Params, func(f Field) bool { return !f.Custom && f.Name == req }) {
				w.addAt(ev.at, "%s: Insider requires param %s on %s events; map it under params", where, req, ev.Name)
			}
		}
	}
}

// checkType reports a declared type that cannot produce what Insider wants,
// and gives a field declared without a type the natural one (email_optin:
// optin reads booleans, birthday: dob reads dates).
func checkType(w *walker, where string, f *Field, want upsert.Type) {
	compatible := map[upsert.Type][]FieldType{
		upsert.TypeString:      {TypeString},
		upsert.TypeNumber:      {TypeNumber, TypeInteger},
		upsert.TypeInteger:     {TypeInteger},
		upsert.TypeBoolean:     {TypeBoolean},
		upsert.TypeDateTime:    {TypeDateTime, TypeDate},
		upsert.TypeUTCDateTime: {TypeDate, TypeDateTime},
		upsert.TypeStringArray: {TypeArray},
		upsert.TypeNumberArray: {TypeArray},
	}[want]
	if !f.typed {
		f.Type = compatible[0]
		return
	}
	if !slices.Contains(compatible, f.Type) {
		w.addAt(f.At, "%s: Insider expects %s here, which type %s cannot give", where, withArticle(want.String()), f.Type)
	}
}

// withArticle puts "a" or "an" before a type's name.
func withArticle(s string) string {
	if s != "" && (strings.ContainsRune("aeiou", rune(s[0])) || strings.HasPrefix(s, "RFC")) {
		return "an " + s
	}
	return "a " + s
}

// Path names the field in messages, under section: section.name, or
// section.custom.name.
func (f *Field) Path(section string) string {
	if f.Custom {
		return section + ".custom." + f.Name
	}
	return section + "." + f.Name
}

// firstKey returns the first key of a mapping node, where a problem with
// the whole mapping (an event spec) is best shown; else n.
func firstKey(n ast.Node) ast.Node {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		return m.Values[0].Key
	}
	return n
}

// checkLayout reports a Go time layout that cannot read a full date: one
// written as YYYY-MM-DD instead of with Go's reference time
// (2006-01-02 15:04:05), or one without a year, month or day.
func checkLayout(layout string) string {
	sample := time.Date(2011, 11, 22, 13, 14, 15, 0, time.UTC)
	text := sample.Format(layout)
	if text == layout {
		return fmt.Sprintf("layout %q has no date or time in it: Go layouts are written with the reference time, e.g. \"2006-01-02\" for YYYY-MM-DD or \"02/01/2006 15:04\" for DD/MM/YYYY hh:mm; or use rfc3339", layout)
	}
	got, err := time.Parse(layout, text)
	if err != nil || got.Year() != 2011 || got.Month() != 11 || got.Day() != 22 {
		return fmt.Sprintf("layout %q does not give a full date (year, month and day): write it with Go's reference time 2006-01-02 15:04:05, e.g. \"2006-01-02\"", layout)
	}
	return ""
}

// checkConstant converts a field's constant (value:) once with the
// walker's ValueChecks, so that a constant no row could send is a config
// problem, not a million rejects.
func checkConstant(w *walker, where string, f *Field) {
	if f.Value == nil || strings.TrimSpace(*f.Value) == "" {
		return
	}
	for _, check := range w.checks {
		if err := check(f, strings.TrimSpace(*f.Value)); err != nil {
			w.addAt(f.At, "%s.value: %v", where, err)
			return
		}
	}
	if !f.Custom && f.Wants != 0 {
		var msg string
		switch {
		case f.Name == "email":
			if !upsert.ValidEmail(strings.TrimSpace(*f.Value)) {
				msg = "not a valid email address"
			}
		case f.Name == "phone_number":
			if !upsert.ValidPhone(strings.TrimSpace(*f.Value)) {
				msg = "not an E.164 phone number"
			}
		}
		if msg != "" {
			w.addAt(f.At, "%s.value: %s", where, msg)
		}
	}
}

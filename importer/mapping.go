package importer

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/insider-import/insider-import/importer/upsert"
)

func (c *Config) decodeMapping(w *walker, v ast.Node) {
	m := &c.Mapping
	w.mapping(v, "mapping", []string{"identifiers", "attributes", "events"}, func(key string, k, v ast.Node) {
		switch key {
		case "identifiers":
			w.mapping(v, "mapping.identifiers", []string{"email", "phone_number", "uuid", "custom"}, func(name string, k, v ast.Node) {
				if name == "custom" {
					w.mapping(v, "mapping.identifiers.custom", nil, func(name string, k, v ast.Node) {
						if f, ok := decodeField(w, "mapping.identifiers.custom."+name, name, true, k, v); ok {
							m.Identifiers = append(m.Identifiers, f)
						}
					})
					return
				}
				if f, ok := decodeField(w, "mapping.identifiers."+name, name, false, k, v); ok {
					m.Identifiers = append(m.Identifiers, f)
				}
			})
		case "attributes":
			w.mapping(v, "mapping.attributes", nil, func(name string, k, v ast.Node) {
				if name == "custom" {
					w.mapping(v, "mapping.attributes.custom", nil, func(name string, k, v ast.Node) {
						if f, ok := decodeField(w, "mapping.attributes.custom."+name, name, true, k, v); ok {
							m.Attributes = append(m.Attributes, f)
						}
					})
					return
				}
				if f, ok := decodeField(w, "mapping.attributes."+name, name, false, k, v); ok {
					m.Attributes = append(m.Attributes, f)
				}
			})
		case "events":
			seq, ok := v.(*ast.SequenceNode)
			if !ok {
				w.addf(v, "mapping.events must be a list of event specs (- name: ...)")
				return
			}
			for i, e := range seq.Values {
				if ev, ok := decodeEvent(w, fmt.Sprintf("mapping.events[%d]", i), unwrap(e)); ok {
					m.Events = append(m.Events, ev)
				}
			}
		}
	})
	sortFields(m.Identifiers)
	sortFields(m.Attributes)
	m.checkNames(w)
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

func decodeEvent(w *walker, where string, n ast.Node) (EventSpec, bool) {
	ev := EventSpec{at: pos(n)}
	ok := true
	var haveTS bool
	w.mapping(n, where, []string{"name", "name_column", "timestamp", "params"}, func(key string, k, v ast.Node) {
		switch key {
		case "name":
			w.str(v, where+".name", &ev.Name)
			if !upsert.ValidEventName(ev.Name) {
				w.addf(v, "%s.name: %q is not an event name Insider accepts (lowercase letters, digits and _)", where, ev.Name)
			}
		case "name_column":
			f, fok := decodeField(w, where+".name_column", "event_name", false, k, v)
			if fok {
				ev.NameColumn = &f
			}
		case "timestamp":
			haveTS = true
			f, fok := decodeField(w, where+".timestamp", "timestamp", false, k, v, TypeDateTime)
			if fok {
				if f.Type != TypeDateTime && f.Type != TypeDate {
					w.addAt(f.at, "%s.timestamp: type must be datetime or date, not %s", where, f.Type)
				}
				ev.Timestamp = f
			}
		case "params":
			w.mapping(v, where+".params", nil, func(name string, k, v ast.Node) {
				if name == "custom" {
					w.mapping(v, where+".params.custom", nil, func(name string, k, v ast.Node) {
						if f, ok := decodeField(w, where+".params.custom."+name, name, true, k, v); ok {
							ev.Params = append(ev.Params, f)
						}
					})
					return
				}
				if f, ok := decodeField(w, where+".params."+name, name, false, k, v); ok {
					ev.Params = append(ev.Params, f)
				}
			})
		}
	})
	if (ev.Name == "") == (ev.NameColumn == nil) {
		w.addAt(ev.at, "%s: give either name or name_column", where)
		ok = false
	}
	if !haveTS {
		w.addAt(ev.at, "%s: timestamp is required (the column holding when the event happened)", where)
		ok = false
	}
	sortFields(ev.Params)
	checkParams(w, where, &ev)
	return ev, ok
}

// decodeField reads the short form (a column name) or the long form
// {column, type, layout, timezone, separator, decimal, value}.
func decodeField(w *walker, where, name string, custom bool, k, v ast.Node, defType ...FieldType) (Field, bool) {
	f := Field{Name: name, Custom: custom, at: pos(k)}
	if custom && !upsert.ValidCustomName(name) {
		w.addf(k, "%s: %q is not a name Insider accepts for a custom field (lowercase letters, digits and _)", where, name)
	}
	switch v.(type) {
	case *ast.MappingNode:
		var tz string
		w.mapping(v, where, []string{"column", "type", "layout", "timezone", "separator", "decimal", "value"}, func(key string, _, v ast.Node) {
			switch key {
			case "column":
				w.str(v, where+".column", &f.Column)
			case "type":
				var t string
				w.str(v, where+".type", &t)
				f.Type = FieldType(t)
				if !slices.Contains(fieldTypes, f.Type) {
					w.addf(v, "%s.type must be one of string, number, integer, boolean, date, datetime, array; not %q", where, t)
				}
			case "layout":
				w.str(v, where+".layout", &f.Layout)
			case "timezone":
				w.str(v, where+".timezone", &tz)
				loc, err := time.LoadLocation(tz)
				if err != nil {
					w.addf(v, "%s.timezone: unknown time zone %q", where, tz)
				}
				f.Timezone = loc
			case "separator":
				w.str(v, where+".separator", &f.Separator)
				if f.Separator == "" {
					w.addf(v, "%s.separator must not be empty", where)
				}
			case "decimal":
				w.str(v, where+".decimal", &f.Decimal)
				if f.Decimal != "." && f.Decimal != "," {
					w.addf(v, `%s.decimal must be "." or ","`, where)
				}
			case "value":
				var s string
				if _, isNull := v.(*ast.NullNode); isNull {
					w.addf(v, "%s.value must not be empty", where)
				}
				w.str(v, where+".value", &s)
				f.Value = &s
			}
		})
		if f.Column == "" && f.Value == nil {
			w.addf(k, "%s: give a column (or a constant value)", where)
			return f, false
		}
		if f.Column != "" && f.Value != nil {
			w.addf(k, "%s: give column or value, not both", where)
		}
	default:
		s, ok := w.scalar(v, where)
		if !ok {
			return f, false
		}
		if s == "" {
			w.addf(k, "%s: name the column it comes from", where)
			return f, false
		}
		f.Column = s
	}
	if f.Type == "" {
		f.Type = TypeString
		if len(defType) > 0 {
			f.Type = defType[0]
		}
	}
	if f.Layout != "" && f.Type != TypeDate && f.Type != TypeDateTime {
		w.addAt(f.at, "%s: layout applies to date and datetime only", where)
	}
	if f.Separator != "" && f.Type != TypeArray {
		w.addAt(f.at, "%s: separator applies to arrays only", where)
	}
	if f.Type == TypeArray && f.Separator == "" {
		f.Separator = "|"
	}
	if f.Decimal == "" {
		f.Decimal = "."
	}
	if f.Timezone == nil {
		f.Timezone = time.UTC
	}
	return f, true
}

// checkNames checks the identifier and attribute names against Insider's
// rules and the declared types against what Insider expects.
func (m *Mapping) checkNames(w *walker) {
	for i := range m.Identifiers {
		f := &m.Identifiers[i]
		if f.Type != TypeString && !f.Custom {
			w.addAt(f.at, "mapping.identifiers.%s: identifiers are strings; remove type %s", f.Name, f.Type)
		}
		f.wants = upsert.TypeString
	}
	for i := range m.Attributes {
		f := &m.Attributes[i]
		if f.Custom {
			continue
		}
		want, ok := upsert.DefaultAttributes[f.Name]
		if !ok {
			w.addAt(f.at, "mapping.attributes.%s is not one of Insider's default attributes; custom attributes go under mapping.attributes.custom", f.Name)
			continue
		}
		f.wants = want
		checkType(w, "mapping.attributes."+f.Name, f, want)
	}
}

func checkParams(w *walker, where string, ev *EventSpec) {
	for i := range ev.Params {
		f := &ev.Params[i]
		if f.Custom {
			continue
		}
		want, ok := upsert.DefaultEventParams[f.Name]
		if !ok {
			w.addAt(f.at, "%s.params.%s is not one of Insider's default event params; custom params go under params.custom", where, f.Name)
			continue
		}
		f.wants = want
		checkType(w, where+".params."+f.Name, f, want)
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
// and fills in the natural type where none was declared.
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
	if f.Type == TypeString && !slices.Contains(compatible, TypeString) {
		// Short form with no type: take the type Insider expects.
		f.Type = compatible[0]
		if f.Type == TypeArray && f.Separator == "" {
			f.Separator = "|"
		}
		return
	}
	if !slices.Contains(compatible, f.Type) {
		w.addAt(f.at, "%s: Insider expects a %s here, which type %s cannot give", where, want, f.Type)
	}
}

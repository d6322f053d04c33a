package encode

import "github.com/insider-import/insider-import/internal/jsonstr"

// The request body: {"users":[ user objects ],"skip_hook":true...}, each
// user object merged from the rows of one user.

// AppendUser appends the user object of rows, the rows of one user, to b:
// identifiers from the first row, each attribute from the last row that
// has it, events in row order, and "not_append":true when notAppend
// (insider.not_append). attrs are the config's attributes with their
// encoded keys (KeyedFields).
func AppendUser(b []byte, attrs []Field, rows []*Row, notAppend bool) []byte {
	b = append(b, `{"identifiers":`...)
	b = append(b, rows[0].Key...)
	opened, first, custom := false, true, false
	for i := range attrs {
		var v []byte
		for _, r := range rows {
			if r.Attrs != nil && r.Attrs[i] != nil {
				v = r.Attrs[i]
			}
		}
		if v == nil {
			continue
		}
		if !opened {
			b = append(b, `,"attributes":{`...)
			opened = true
		}
		if attrs[i].Custom && !custom {
			if !first {
				b = append(b, ',')
			}
			b = append(b, `"custom":{`...)
			first, custom = true, true
		}
		b = appendFieldKey(b, first, &attrs[i])
		b = append(b, v...)
		first = false
	}
	if custom {
		b = append(b, '}')
	}
	if opened {
		b = append(b, '}')
	}
	n := 0
	for _, r := range rows {
		for _, e := range r.Evs {
			if n == 0 {
				b = append(b, `,"events":[`...)
			} else {
				b = append(b, ',')
			}
			b = append(b, e...)
			n++
		}
	}
	if n > 0 {
		b = append(b, ']')
	}
	if notAppend {
		b = append(b, `,"not_append":true`...)
	}
	return append(b, '}')
}

// GrowthBound is at least what merging rows into the user object of
// earlier rows of the same user adds to its encoded size (AppendUser):
// each attribute value with its key and a comma, each event with a comma,
// and the brackets of an "attributes", "custom" and "events" member the
// object may not have had.
func GrowthBound(attrs []Field, rows []*Row) int {
	n := len(`,"attributes":{}`) + len(`,"custom":{}`) + len(`,"events":[]`)
	for _, r := range rows {
		for i, v := range r.Attrs {
			if v != nil {
				n += keyBound(&attrs[i]) + 1 + len(v)
			}
		}
		for _, e := range r.Evs {
			n += len(e) + 1
		}
	}
	return n
}

// keyBound is at least the size of f's encoded key (appendFieldKey): a
// name not encoded yet could need six bytes for each of its own.
func keyBound(f *Field) int {
	if f.key != "" {
		return len(f.key)
	}
	return 6*len(f.Name) + 3
}

// BodyEnds returns what a request body holds before its user objects and
// after them: skip_hook, and the error callback when errorCallbackURL
// (insider.error_callback_url) is set.
func BodyEnds(errorCallbackURL string) (prefix, suffix []byte) {
	suffix = []byte(`],"skip_hook":true`)
	if errorCallbackURL != "" {
		suffix = append(suffix, `,"error_callback_endpoint":`...)
		suffix = jsonstr.AppendString(suffix, errorCallbackURL)
	}
	return []byte(`{"users":[`), append(suffix, '}')
}

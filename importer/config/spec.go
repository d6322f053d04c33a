package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// A spec is one key of a config section, declared once (as benthos
// declares its fields): the decoder, the defaults, the strict unknown-key
// check and the reference in docs/config.md all read it, so a key is
// written in one place.
type spec[T any] struct {
	key string
	// def is the default as YAML text ("" for none). When unset reports
	// the key unset after decoding, def is decoded into the section as if
	// it were written; without unset, def says what an absent key means
	// (the zero value, or a default worked out from other keys).
	def string
	doc string // one line for the reference
	// decode reads the key's value v (its key node k, named where in
	// messages) into the section c.
	decode func(w *walker, where string, k, v ast.Node, c *T)
	unset  func(c *T) bool
	// defaults, if set, applies the defaults of a section under this key
	// (sub), whether the key is written or not.
	defaults func(w *walker, c *T)
	// missing, if set, is the problem reported when the key is absent.
	missing string
	// sub lists the keys under this one, for the reference.
	sub reference
}

// A section is the specs of one YAML mapping, in the order messages
// list its keys. other, if set, decodes every key not in specs (the
// mapping's free names: attributes, params); without it, such a key is
// an unknown key. after, if set, checks the section once decoded.
type section[T any] struct {
	specs []spec[T]
	other *spec[T]
	after func(w *walker, where string, k, v ast.Node, c *T)
	// defaults, if set, applies what the specs' defaults cannot say
	// (events.ttl's built-in TTLs), after them.
	defaults func(c *T)
}

// keys returns the section's known keys, nil when any key is accepted.
func (s *section[T]) keys() []string {
	if s.other != nil {
		return nil
	}
	out := make([]string, len(s.specs))
	for i, sp := range s.specs {
		out[i] = sp.key
	}
	return out
}

func (s *section[T]) spec(key string) *spec[T] {
	for i := range s.specs {
		if s.specs[i].key == key {
			return &s.specs[i]
		}
	}
	return s.other
}

// def returns the default of key, as its spec declares it.
func (s *section[T]) def(key string) string { return s.spec(key).def }

// decode reads the mapping v (under key k; where names it in messages,
// "" for the whole file) into c: every key once, unknown keys and
// missing required ones reported.
func (s *section[T]) decode(w *walker, where string, k, v ast.Node, c *T) {
	seen := map[string]bool{}
	w.mapping(v, cmp.Or(where, "config"), s.keys(), func(key string, kk, vv ast.Node) {
		seen[key] = true
		if sp := s.spec(key); sp != nil && sp.decode != nil {
			sp.decode(w, join(where, key), kk, vv, c)
		}
	})
	for _, sp := range s.specs {
		if sp.missing != "" && !seen[sp.key] {
			w.addf(v, "%s", sp.missing)
		}
	}
	if s.after != nil {
		s.after(w, where, k, v, c)
	}
}

// applyDefaults decodes the default of every unset key into c, and those
// of the sections under it. A default the key's own decoder refuses is a
// problem of w (and fails every test).
func (s *section[T]) applyDefaults(w *walker, c *T) {
	for _, sp := range s.specs {
		if sp.def != "" && sp.unset != nil && sp.unset(c) {
			sp.decode(w, "default of "+sp.key, nil, defaultNode(sp.def), c)
		}
		if sp.defaults != nil {
			sp.defaults(w, c)
		}
	}
	if s.defaults != nil {
		s.defaults(c)
	}
}

// defaultNode parses a spec's default as the YAML value it stands for.
func defaultNode(def string) ast.Node {
	f, err := parseYAML([]byte(def))
	if err != nil || len(f.Docs) == 0 {
		panic(fmt.Sprintf("config: the default %q is not YAML", def))
	}
	return unwrap(f.Docs[0].Body)
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

// A KeyDoc is one key of the config as the reference lists it: its path
// (<name> for a name of one's own), its default and what it is.
type KeyDoc struct {
	Key, Default, Doc string
}

type reference interface {
	reference(prefix string) []KeyDoc
}

func (s *section[T]) reference(prefix string) []KeyDoc {
	var out []KeyDoc
	specs := s.specs
	if s.other != nil {
		specs = append(slices.Clip(specs), *s.other)
	}
	for _, sp := range specs {
		out = append(out, KeyDoc{prefix + sp.key, sp.def, sp.doc})
		if sp.sub != nil {
			out = append(out, sp.sub.reference(prefix+sp.key+".")...)
		}
	}
	return out
}

// Reference lists every key of the config with its default and what it
// is, section by section, then the options of a field's long form
// (<field>.column, ...): the reference table of docs/config.md
// (TestDocsConfigKeys holds the two together).
func Reference() []KeyDoc {
	return append(configSection.reference(""), fieldSection.reference("<field>.")...)
}

// described makes sp's default what an absent key means rather than a
// value applied (the zero value means it too, and the config's hash stays
// what it was).
func described[T any](sp spec[T]) spec[T] {
	sp.unset = nil
	return sp
}

// nested is the reference of a section under a key by another name: a
// list's items (path "[]") or a mapping's free names (".<name>").
type nested struct {
	path string
	ref  reference
}

func (n nested) reference(prefix string) []KeyDoc {
	return n.ref.reference(strings.TrimSuffix(prefix, ".") + n.path + ".")
}

// sub is a key holding a section of its own, decoded into the part of c
// that p returns; its defaults apply whether the key is written or not.
func sub[T, S any](key, doc string, s *section[S], p func(*T) *S) spec[T] {
	return spec[T]{key: key, doc: doc, sub: s,
		decode:   func(w *walker, where string, k, v ast.Node, c *T) { s.decode(w, where, k, v, p(c)) },
		defaults: func(w *walker, c *T) { s.applyDefaults(w, p(c)) },
	}
}

// text is a key holding one text. check, if set, is run on a text that
// is not "" and returns the problem with it ("" for none).
func text[T any](key, def, doc string, p func(*T) *string, check func(where, s string) string) spec[T] {
	return spec[T]{key: key, def: def, doc: doc, unset: func(c *T) bool { return *p(c) == "" },
		decode: func(w *walker, where string, _, v ast.Node, c *T) {
			w.str(v, where, p(c))
			if s := *p(c); check != nil && s != "" {
				if msg := check(where, s); msg != "" {
					w.addf(v, "%s", msg)
				}
			}
		}}
}

// texts is a key holding a list of texts, or one.
func texts[T any](key, doc string, p func(*T) *[]string) spec[T] {
	return spec[T]{key: key, doc: doc,
		decode: func(w *walker, where string, _, v ast.Node, c *T) { w.strings(v, where, p(c)) }}
}

// flag is a key holding true or false.
func flag[T any](key, def, doc string, p func(*T) *bool) spec[T] {
	return spec[T]{key: key, def: def, doc: doc,
		decode: func(w *walker, where string, _, v ast.Node, c *T) { w.boolean(v, where, p(c)) }}
}

// whole is a key holding a whole number from lo to hi (no upper bound
// when hi is 0), checked even when it is not a number (then 0).
func whole[T any](key, def, doc string, p func(*T) *int, lo, hi int) spec[T] {
	return spec[T]{key: key, def: def, doc: doc, unset: func(c *T) bool { return *p(c) == 0 },
		decode: func(w *walker, where string, _, v ast.Node, c *T) {
			w.integer(v, where, p(c))
			switch n := *p(c); {
			case hi > 0 && (n < lo || n > hi):
				w.addf(v, "%s must be between %d and %d", where, lo, hi)
			case n < lo:
				w.addf(v, "%s must be at least %d", where, lo)
			}
		}}
}

// positive is a key holding a number above 0.
func positive[T any](key, def, doc string, p func(*T) *float64) spec[T] {
	return spec[T]{key: key, def: def, doc: doc, unset: func(c *T) bool { return *p(c) == 0 },
		decode: func(w *walker, where string, _, v ast.Node, c *T) {
			w.float(v, where, p(c))
			if *p(c) <= 0 {
				w.addf(v, "%s must be above 0", where)
			}
		}}
}

// The bounds of a duration key.
const (
	anyDuration = iota
	aboveZero
	notNegative
)

// duration is a key holding a duration (ParseDuration), within bound.
func duration[T any](key, def, doc string, p func(*T) *time.Duration, bound int) spec[T] {
	return spec[T]{key: key, def: def, doc: doc, unset: func(c *T) bool { return *p(c) == 0 },
		decode: func(w *walker, where string, _, v ast.Node, c *T) {
			w.duration(v, where, p(c))
			switch d := *p(c); {
			case bound == aboveZero && d <= 0:
				w.addf(v, "%s must be above 0", where)
			case bound == notNegative && d < 0:
				w.addf(v, "%s must not be negative", where)
			}
		}}
}

// choice is a key holding one of choices (the first is the default),
// handed to set; anything else is a problem listing them.
func choice[T any](key, doc string, set func(c *T, s string), unset func(c *T) bool, choices ...string) spec[T] {
	return spec[T]{key: key, def: choices[0], doc: doc + " (" + strings.Join(choices, " | ") + ")", unset: unset,
		decode: func(w *walker, where string, _, v ast.Node, c *T) {
			var s string
			w.str(v, where, &s)
			if !slices.Contains(choices, s) {
				w.addf(v, "%s must be %s, not %q", where, orList(choices), s)
			}
			set(c, s)
		}}
}

// orList writes choices as "a, b or c".
func orList(choices []string) string {
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// custom is a key whose value decode reads itself.
func custom[T any](key, def, doc string, decode func(w *walker, where string, k, v ast.Node, c *T)) spec[T] {
	return spec[T]{key: key, def: def, doc: doc, decode: decode}
}

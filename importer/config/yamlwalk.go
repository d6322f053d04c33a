package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// A ConfigProblem is one thing wrong with a config file, with where it is.
type ConfigProblem struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (p ConfigProblem) String() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// ConfigError lists every problem found in a config, so that a user fixes
// them in one go.
type ConfigError struct {
	Problems []ConfigProblem
	// Hints say what the input holds where that helps fix the problems
	// (the header found), after them.
	Hints []string
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	var msg string
	if len(lines) == 1 {
		msg = "config: " + lines[0]
	} else {
		msg = fmt.Sprintf("config: %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
	}
	for _, h := range e.Hints {
		msg += "\n  " + h
	}
	return msg
}

// walker decodes a YAML AST strictly: every key must be known, every value
// of the right kind, and all problems are collected rather than stopping at
// the first.
type walker struct {
	file     string
	problems []ConfigProblem
	checks   []ValueCheck // run on each field's constant (checkConstant)
}

func (w *walker) addf(n ast.Node, format string, args ...any) {
	p := ConfigProblem{File: w.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil && n.GetToken() != nil {
		p.Line, p.Column = n.GetToken().Position.Line, n.GetToken().Position.Column
	}
	w.problems = append(w.problems, p)
}

// Pos is a place in the YAML file, kept with decoded specs so that later
// checks (a column missing from an input's header) can name the line.
type Pos struct{ Line, Column int }

func pos(n ast.Node) Pos {
	if n == nil || n.GetToken() == nil {
		return Pos{}
	}
	return Pos{n.GetToken().Position.Line, n.GetToken().Position.Column}
}

func (w *walker) addAt(a Pos, format string, args ...any) {
	w.problems = append(w.problems, ConfigProblem{File: w.file, Line: a.Line, Column: a.Column, Msg: fmt.Sprintf(format, args...)})
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// mapping calls fn for each key of a mapping node, in order, and reports
// unknown keys (those not in known) and duplicates. A nil or null node is an
// empty mapping.
func (w *walker) mapping(n ast.Node, where string, known []string, fn func(key string, k, v ast.Node)) {
	n = unwrap(n)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		w.addf(n, "%s must be a mapping", where)
		return
	}
	seen := map[string]bool{}
	for _, mv := range m.Values {
		key := keyText(mv.Key)
		if seen[key] {
			w.addf(mv.Key, "%s: key %q appears twice", where, key)
			continue
		}
		seen[key] = true
		if known != nil && !slices.Contains(known, key) {
			w.addf(mv.Key, "%s: unknown key %q (known: %s)", where, key, strings.Join(known, ", "))
			continue
		}
		fn(key, mv.Key, unwrap(mv.Value))
	}
}

// keyText returns the text of a mapping's key node.
func keyText(k ast.Node) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.String()
}

// scalar returns the text of a scalar node; ok is false (and a problem
// recorded) for mappings and sequences. Null is "".
func (w *walker) scalar(n ast.Node, where string) (string, bool) {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	}
	w.addf(n, "%s must be a single value", where)
	return "", false
}

func (w *walker) str(n ast.Node, where string, dst *string) {
	if s, ok := w.scalar(n, where); ok {
		*dst = s
	}
}

func (w *walker) boolean(n ast.Node, where string, dst *bool) {
	parsed(w, n, where, dst, strconv.ParseBool, "%s must be true or false, not %q")
}

func (w *walker) integer(n ast.Node, where string, dst *int) {
	parsed(w, n, where, dst, func(s string) (int, error) { return strconv.Atoi(strings.ReplaceAll(s, "_", "")) },
		"%s must be a whole number, not %q")
}

func (w *walker) float(n ast.Node, where string, dst *float64) {
	parsed(w, n, where, dst, func(s string) (float64, error) { return strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64) },
		"%s must be a number, not %q")
}

func (w *walker) duration(n ast.Node, where string, dst *time.Duration) {
	parsed(w, n, where, dst, ParseDuration, "")
}

// parsed sets dst to the scalar n read by parse. Text parse refuses is a
// problem: bad with where and the text, or where and parse's error when bad
// is "".
func parsed[T any](w *walker, n ast.Node, where string, dst *T, parse func(string) (T, error), bad string) {
	s, ok := w.scalar(n, where)
	if !ok {
		return
	}
	v, err := parse(s)
	switch {
	case err == nil:
		*dst = v
	case bad == "":
		w.addf(n, "%s: %v", where, err)
	default:
		w.addf(n, bad, where, s)
	}
}

func (w *walker) strings(n ast.Node, where string, dst *[]string) {
	switch v := n.(type) {
	case *ast.SequenceNode:
		out := make([]string, 0, len(v.Values))
		for _, e := range v.Values {
			if s, ok := w.scalar(unwrap(e), where); ok {
				out = append(out, s)
			}
		}
		*dst = out
	default:
		if s, ok := w.scalar(n, where+" (a list or a single value)"); ok && s != "" {
			*dst = []string{s}
		}
	}
}

// ParseDuration parses a Go duration ("5m", "36h") or a number of days
// ("90d", "730d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q: want e.g. 90d, 36h or 5m", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q: want e.g. 90d, 36h or 5m", s)
	}
	return d, nil
}

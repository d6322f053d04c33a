package delivery

import (
	"bytes"
	"encoding/base64"
	"html"
	"net/url"
	"slices"
	"strings"
)

// redactor removes a secret from what an answer quotes before the quote
// reaches a log, the report, the rejects file or an error: a proxy or a WAF
// page that echoes the request headers would otherwise print the API key.
// It knows the secret raw, URL-encoded (query and path), HTML-escaped and
// in base64 (standard and URL alphabets, padded or not, and at any of the
// three alignments it can take inside a longer base64 text).
type redactor struct {
	forms [][]byte // longest first
}

// redacted replaces the secret in a quote.
const redacted = "[REDACTED]"

// minSecretForm is the shortest form looked for: shorter ones (a tiny test
// key's base64 core) would match ordinary text.
const minSecretForm = 6

func newRedactor(secret string) *redactor {
	r := &redactor{}
	if secret == "" {
		return r
	}
	seen := map[string]bool{}
	add := func(f string) {
		if len(f) >= minSecretForm && !seen[f] {
			seen[f] = true
			r.forms = append(r.forms, []byte(f))
		}
	}
	add(secret)
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	add(html.EscapeString(secret))
	for o := range 3 {
		// The characters of base64(o bytes, secret) that depend on the
		// secret's bits alone: what any text holding it encoded shows.
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, o), secret...))
		core := enc[(8*o+5)/6 : 8*(o+len(secret))/6]
		add(core)
		add(strings.NewReplacer("+", "-", "/", "_").Replace(core))
	}
	slices.SortFunc(r.forms, func(a, b []byte) int { return len(b) - len(a) })
	return r
}

// bytes returns b with every form of the secret replaced; b itself when
// none is in it.
func (r *redactor) bytes(b []byte) []byte {
	for _, f := range r.forms {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, []byte(redacted))
		}
	}
	return b
}

func (r *redactor) string(s string) string {
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, string(f), redacted)
	}
	return s
}

// error returns err with the secret removed from its text; errors.Is and
// errors.As still see err.
func (r *redactor) error(err error) error {
	if err == nil {
		return nil
	}
	if s := r.string(err.Error()); s != err.Error() {
		return &redactedError{msg: s, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

package delivery

import (
	"encoding/base64"
	"errors"
	"html"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRedactorForms: the key raw, URL-encoded, HTML-escaped and in base64
// (alone, or inside a longer encoded text at any alignment, either
// alphabet) leaves no trace in a quote, and the text around it stays.
func TestRedactorForms(t *testing.T) {
	const key = "k3y+with/odd=chars&<>-0123456789"
	r := newRedactor(key)
	std, urlb := base64.StdEncoding, base64.URLEncoding
	quotes := []string{
		key,
		url.QueryEscape(key),
		url.PathEscape(key),
		html.EscapeString(key),
		std.EncodeToString([]byte(key)),
		base64.RawStdEncoding.EncodeToString([]byte(key)),
		urlb.EncodeToString([]byte(key)),
		std.EncodeToString([]byte("acme:" + key)),    // Basic auth
		std.EncodeToString([]byte("x-token:" + key)), // another alignment
		urlb.EncodeToString([]byte("ab" + key + "tail")),
	}
	for _, q := range quotes {
		got := r.string("before " + q + " after")
		assert.Contains(t, got, redacted, "%q", q)
		assert.NotContains(t, got, key)
		assert.Contains(t, got, "before ")
		assert.Contains(t, got, " after")
		for _, form := range r.forms {
			assert.NotContains(t, got, string(form))
		}
		assert.Equal(t, got, string(r.bytes([]byte("before "+q+" after"))))
	}
	inner := errors.New("POST http://h/?token=" + url.QueryEscape(key) + ": refused")
	err := r.error(inner)
	assert.NotContains(t, err.Error(), url.QueryEscape(key))
	assert.ErrorIs(t, err, inner, "the chain is kept")
	assert.Equal(t, "plain", newRedactor("").string("plain"))
}

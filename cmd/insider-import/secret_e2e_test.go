package main

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
)

// TestE2EEchoingProxyLeaksNoKey: a gateway in front of the stand-in echoes
// every request header, raw, URL-encoded and in base64, in a 400 HTML page
// (for the requests that hold one bad user) and in a 200 body that is not
// Insider's (every third other request). The run quotes both (the log, the
// report, the rejects file); the API key appears in none of its outputs,
// stdout, stderr, report.json, the rejects file and the checkpoint, in any
// of the three forms, and the quotes are there with the key redacted.
func TestE2EEchoingProxyLeaksNoKey(t *testing.T) {
	const key = "s3cr3t+Key/with=odd&chars-0123456789abcdef"
	const badEmail = "user7@example.com"
	srv := fakeapi.New(fakeapi.Options{Token: key})
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var echo strings.Builder
		// The token first, so that it is within what a message quotes.
		first := func(k string) int {
			if k == "X-Request-Token" {
				return 0
			}
			return 1
		}
		names := slices.SortedFunc(maps.Keys(r.Header), func(a, b string) int {
			return cmp.Or(cmp.Compare(first(a), first(b)), strings.Compare(a, b))
		})
		for _, k := range names {
			v := r.Header.Get(k)
			fmt.Fprintf(&echo, "%s: %s | url %s | b64 %s\n", k, v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v)))
		}
		switch {
		case bytes.Contains(body, []byte(`"`+badEmail+`"`)):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<html><body><h1>400 Bad Request</h1><pre>%s</pre></body></html>", html.EscapeString(echo.String()))
		case n.Add(1)%3 == 1:
			fmt.Fprintf(w, `{"proxy":"debug","request_headers":%q}`, echo.String())
		default:
			r.Body = io.NopCloser(bytes.NewReader(body))
			srv.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	port := ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]

	d := genE2E(t, time.Now(), 16, 120, false)
	e := newE2EEnv(t, d, &fake{Port: port}, 20, 2, 1000)
	e.withConfig(t, "  requests_per_second: 1000\n", "  requests_per_second: 1000\n  max_attempts: 10\n")
	res := runImport(t, []string{"INSIDER_API_KEY=" + key}, e.args()...)
	require.Equal(t, 3, res.Code, "exit 3: finished with the bad user rejected\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))

	outputs := map[string][]byte{"stdout": []byte(res.Stdout), "stderr": []byte(res.Stderr)}
	for _, p := range []string{e.report, e.rejects} {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		outputs[filepath.Base(p)] = b
	}
	require.NoError(t, filepath.WalkDir(e.checkpoints, func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			b, err := os.ReadFile(p)
			outputs[p] = b
			return err
		}
		return err
	}))
	forms := map[string]string{"raw": key, "URL-encoded": url.QueryEscape(key), "base64": base64.StdEncoding.EncodeToString([]byte(key))}
	for name, b := range outputs {
		for form, s := range forms {
			assert.False(t, strings.Contains(string(b), s), "%s holds the key %s", name, form)
		}
	}
	// The quotes are there, redacted: the test would see a leak.
	assert.True(t, strings.Contains(res.Stderr, "X-Request-Token: [REDACTED] | url [REDACTED] | b64 [REDACTED]"), "the 200 body quoted in the retry log")
	assert.True(t, strings.Contains(string(outputs["rejects.jsonl"]), "X-Request-Token: [REDACTED] | url [REDACTED] | b64 [REDACTED]"), "the 400 page quoted as the bad user's reason")
	t.Logf("outputs checked: %d; %d requests answered by the echo", len(outputs), n.Load())
}

package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// After SIGTERM no request starts, waits included: at 1 request/s, with
// every answer a 429 asking to wait 10s, the other workers wait on the rate
// and the shared pause; a SIGTERM then ends the run at once (143) and no
// request arrives after the signal (before, they waited under the grace
// period and sent when the pause ended: 3 requests after the signal).
func TestNoSendAfterStop(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":"rate limited"}`)
	}))
	defer ts.Close()
	_, port, err := net.SplitHostPort(ts.Listener.Addr().String())
	require.NoError(t, err)

	d := genE2E(t, time.Now(), 21, 200, false)
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "users.csv")
	writeCSV(t, csvPath, e2eHeader, d.rows)
	config := writeFile(t, dir, "import.yaml", e2eConfig(csvPath, port, 10, 4, 1))
	p := startImport(t, []string{"INSIDER_API_KEY=" + testKey}, "run", "-c", config, "--checkpoint", filepath.Join(dir, "ck"),
		"--progress", "none", "--log-format", "json")

	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(arrivals)
		mu.Unlock()
		if n > 0 {
			break
		}
		require.False(t, p.exited(), "the import ended before its first request")
		require.True(t, time.Now().Before(deadline), "no request within a minute")
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // every worker is now waiting out the 10s
	mu.Lock()
	before := len(arrivals)
	mu.Unlock()
	signalled := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	res := p.wait(t, time.Minute)
	assert.Equal(t, exitSIGTERM, res.Code, res.Stderr)
	assert.Less(t, res.Elapsed-signalled.Sub(p.start), 5*time.Second, "the run stops without waiting out the 10s")

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, before, len(arrivals), "requests after the signal")
	for _, at := range arrivals {
		assert.False(t, at.After(signalled), "a request arrived %v after the signal", at.Sub(signalled))
	}
	t.Logf("%d requests before the signal, none after; exit %d %v after it", before, res.Code, res.Elapsed-signalled.Sub(p.start))
}

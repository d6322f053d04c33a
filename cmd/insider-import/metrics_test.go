package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startPushgateway starts a real Prometheus Pushgateway (Debian's
// prometheus-pushgateway; .ci/run installs it) on a free loopback port and
// returns its URL. Without the binary the test is skipped, except under
// CI=true, where it fails.
func startPushgateway(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("IMPORTER_PUSHGATEWAY")
	if bin == "" {
		bin, _ = exec.LookPath("prometheus-pushgateway")
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no prometheus-pushgateway binary (apt-get install prometheus-pushgateway; see .ci/run)")
		}
		t.Skip("no prometheus-pushgateway binary (apt-get install prometheus-pushgateway)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), "pushgateway.log"))
	require.NoError(t, err)
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=")
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("pushgateway log:\n%s", tail(b, 2000))
		}
	})
	url := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := httpClient.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the pushgateway did not get ready")
	return url
}

// scrape returns the insider_import_* values the Pushgateway holds for
// job and shard, by metric name.
func scrape(t *testing.T, url, job, shard string) map[string]float64 {
	t.Helper()
	resp, err := httpClient.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for name, fam := range fams {
		if !strings.HasPrefix(name, "insider_import_") {
			continue
		}
		for _, m := range fam.GetMetric() {
			if label(m, "job") == job && label(m, "shard") == shard {
				out[name] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestMetricsPushgateway runs imports against a real Pushgateway: the
// figures pushed during a run and at its end land grouped by job and shard,
// the final ones equal the run's report, the last success time is set by a
// run that exits 0 and kept by a later run that fails, and a Pushgateway
// that cannot be reached fails nothing.
func TestMetricsPushgateway(t *testing.T) {
	pg := startPushgateway(t)
	f := startFake(t, "--delay", "50ms", "--token", testKey)
	d := genE2E(t, time.Now(), 11, 600, false)
	e := newE2EEnv(t, d, f, 10, 2, 200)
	cfg, err := os.ReadFile(e.config)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(e.config, append(cfg, "metrics:\n  job: nightly-e2e\n"...), 0o600))
	env := []string{"INSIDER_API_KEY=" + testKey}

	// Run 1 exits 0. Pushes every 100ms: one during the run is seen with
	// run_finished 0 before the process ends.
	started := time.Now()
	p := startImport(t, env, e.args("--pushgateway", pg, "--push-interval", "100ms")...)
	var during map[string]float64
	require.Eventually(t, func() bool {
		m := scrape(t, pg, "nightly-e2e", "0")
		if v, ok := m["insider_import_run_finished"]; ok && v == 0 && !p.exited() {
			during = m
			return true
		}
		return false
	}, 60*time.Second, 50*time.Millisecond, "no push during the run")
	assert.NotContains(t, during, metricExitCode, "no exit code while running")
	res := p.wait(t, 2*time.Minute)
	finished := time.Now()
	require.Equal(t, 0, res.Code, res.Stderr)
	rep := readReport(t, e.report)
	got := scrape(t, pg, "nightly-e2e", "0")
	want := map[string]float64{
		"insider_import_rows_read":             float64(rep.RowsRead),
		"insider_import_rows_mapped":           float64(rep.RowsMapped),
		"insider_import_rows_rejected":         float64(rep.RowsRejected),
		"insider_import_rows_rejected_by_api":  float64(rep.RowsRejectedByAPI),
		"insider_import_events_sent":           float64(rep.EventsSent),
		"insider_import_events_expired":        float64(rep.EventsExpired),
		"insider_import_events_future":         float64(rep.EventsFuture),
		"insider_import_events_rejected":       float64(rep.EventsRejected),
		"insider_import_users_accepted":        float64(rep.UsersAccepted),
		"insider_import_users_rejected":        float64(rep.UsersRejected),
		"insider_import_requests":              float64(rep.Requests),
		"insider_import_retries":               float64(rep.Retries),
		"insider_import_throttled":             float64(rep.Throttled),
		"insider_import_bytes_sent":            float64(rep.BytesSent),
		"insider_import_duration_seconds":      rep.Duration,
		"insider_import_files_skipped_changed": 0,
		"insider_import_files_reimported":      0,
		"insider_import_files_waiting":         0,
		"insider_import_run_finished":          1,
		metricExitCode:                         0,
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
	assert.Positive(t, got["insider_import_events_sent"])
	assert.Positive(t, got["insider_import_requests"])
	lastSuccess := got[metricLastSuccess]
	assert.InDelta(t, float64(started.Unix()+finished.Unix())/2, lastSuccess, finished.Sub(started).Seconds()/2+1, "last success time within the run")
	assert.Empty(t, scrape(t, pg, "nightly-e2e", "1"), "grouped by shard: shard 1 pushed nothing")
	t.Logf("pushed: rows_read %v, events_sent %v, requests %v, duration %.2fs, exit %v",
		got["insider_import_rows_read"], got["insider_import_events_sent"], got["insider_import_requests"], got["insider_import_duration_seconds"], got[metricExitCode])

	// Run 2 of the same job and shard fails (credentials refused, exit 4):
	// exit code and figures are replaced, the last success stays.
	bad := []string{"INSIDER_API_KEY=not-the-key"}
	res = runImport(t, bad, e.args("--pushgateway", pg, "--push-interval", "100ms", "--restart")...)
	require.Equal(t, exitCredentials, res.Code, res.Stderr)
	rep = readReport(t, e.report)
	got = scrape(t, pg, "nightly-e2e", "0")
	assert.Equal(t, float64(exitCredentials), got[metricExitCode])
	assert.Equal(t, lastSuccess, got[metricLastSuccess], "a failed run keeps the last success time")
	assert.Equal(t, float64(rep.EventsSent), got["insider_import_events_sent"])
	assert.Equal(t, float64(rep.Requests), got["insider_import_requests"])
	assert.NotContains(t, res.Stdout+res.Stderr, testKey)

	// A Pushgateway that is not there: a warning, and the import succeeds.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := "http://" + l.Addr().String()
	l.Close()
	res = runImport(t, env, e.args("--pushgateway", gone, "--push-interval", "100ms", "--restart")...)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "pushing metrics to the Pushgateway failed; the import goes on")

	// The config's metrics.pushgateway works like the flag.
	require.NoError(t, os.WriteFile(e.config, append(cfg, fmt.Sprintf("metrics: {pushgateway: %q, job: from-config}\n", pg)...), 0o600))
	res = runImport(t, env, e.args("--restart")...)
	require.Equal(t, 0, res.Code, res.Stderr)
	rep = readReport(t, e.report)
	got = scrape(t, pg, "from-config", "0")
	assert.Equal(t, float64(rep.EventsSent), got["insider_import_events_sent"])
	assert.Equal(t, 0.0, got[metricExitCode])
	assert.Contains(t, got, metricLastSuccess)
}

// TestMetricsRejectsAreASuccess: a run that finishes with rejected rows is
// a success for scheduling. It exits 3 and pushes the last success time
// with insider_import_rows_rejected, the gauge to alert on; with
// delivery.rejects_exit_code: 0 the same run exits 0 and pushes the same.
func TestMetricsRejectsAreASuccess(t *testing.T) {
	pg := startPushgateway(t)
	f := startFake(t, "--token", testKey)
	d := genE2E(t, time.Now(), 18, 200, true)
	e := newE2EEnv(t, d, f, 50, 2, 500)
	cfg, err := os.ReadFile(e.config)
	require.NoError(t, err)
	env := []string{"INSIDER_API_KEY=" + testKey}
	for _, c := range []struct {
		job, extra string
		code       int
	}{
		{"rejects-default", "", exitRejects},
		{"rejects-zero", "  rejects_exit_code: 0\n", exitOK},
	} {
		conf := strings.Replace(string(cfg), "delivery:\n", "delivery:\n"+c.extra, 1)
		require.NoError(t, os.WriteFile(e.config, []byte(conf+"metrics:\n  job: "+c.job+"\n"), 0o600))
		before := time.Now()
		res := runImport(t, env, e.args("--pushgateway", pg, "--restart")...)
		require.Equal(t, c.code, res.Code, res.Stderr)
		rep := readReport(t, e.report)
		require.Positive(t, rep.RowsRejected)
		assert.Equal(t, "finished with rejected rows", rep.Status)
		got := scrape(t, pg, c.job, "0")
		assert.Equal(t, float64(c.code), got[metricExitCode], c.job)
		assert.Equal(t, float64(rep.RowsRejected), got["insider_import_rows_rejected"], c.job)
		assert.GreaterOrEqual(t, got[metricLastSuccess], float64(before.Unix()), "%s: the last success time moves", c.job)
		t.Logf("%s: exit %d, rows_rejected %v, last success %v", c.job, res.Code, got["insider_import_rows_rejected"], got[metricLastSuccess])
	}
}

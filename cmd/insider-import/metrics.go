package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/insider-import/insider-import/importer"
)

// Metrics pushed to a Prometheus Pushgateway, grouped by job and shard. They
// are gauges holding this run's figures (a batch job has no process to
// scrape); every push sends the whole set, so each push replaces the last.
const (
	metricLastSuccess = "insider_import_last_success_timestamp_seconds"
	metricExitCode    = "insider_import_exit_code"
)

var metricHelp = map[string]string{
	"insider_import_rows_read":              "Data rows finished by this run: mapped or rejected.",
	"insider_import_rows_mapped":            "Rows that became a user object.",
	"insider_import_rows_rejected":          "Rows rejected before sending (see the rejects file).",
	"insider_import_rows_rejected_by_api":   "Rows whose user Insider rejected.",
	"insider_import_events_sent":            "Events sent to Insider.",
	"insider_import_events_expired":         "Events dropped as older than their TTL.",
	"insider_import_events_future":          "Events dropped as too far in the future.",
	"insider_import_events_rejected":        "Events of rejected rows or users.",
	"insider_import_users_accepted":         "Users Insider accepted.",
	"insider_import_users_rejected":         "Users Insider rejected.",
	"insider_import_requests":               "Upsert requests sent, retries included.",
	"insider_import_retries":                "Requests sent again after a temporary failure.",
	"insider_import_throttled":              "Requests answered 429.",
	"insider_import_bytes_sent":             "Request body bytes sent.",
	"insider_import_duration_seconds":       "How long this run has been running.",
	"insider_import_files_skipped_changed":  "Inputs changed since they were imported (or partly imported and gone) left as they are (source.on_change: skip).",
	"insider_import_files_reimported":       "Inputs changed since they were imported, imported again from row 1 (source.on_change: reimport).",
	"insider_import_files_waiting":          "Inputs modified within source.min_age, left for a later run.",
	metricExitCode:                          "Exit code of the last finished run (0 ok, 3 rejects, 1 failure, ...).",
	metricLastSuccess:                       "When a run last finished, with exit code 0 or 3 (rows rejected, see insider_import_rows_rejected) (Unix time).",
	"insider_import_push_timestamp_seconds": "When these figures were pushed (Unix time).",
	"insider_import_run_finished":           "1 once the run has ended, 0 while it runs.",
}

// pusher pushes a run's metrics every interval and once at the end. A
// Pushgateway that fails or is slow never fails or holds up the import:
// pushes run beside it and a failure is a warning.
type pusher struct {
	p       func() *push.Pusher
	every   time.Duration
	log     *slog.Logger
	last    atomic.Pointer[importer.Progress]
	started bool
	stop    chan struct{}
	done    chan struct{}
}

// newPusher returns a pusher to url, grouped by job and shard, pushing
// every interval once started; nil when url is empty.
func newPusher(url, job string, shard int, interval time.Duration, log *slog.Logger) *pusher {
	if url == "" {
		return nil
	}
	client := &http.Client{Timeout: 10 * time.Second}
	return &pusher{
		p: func() *push.Pusher {
			return push.New(url, job).Grouping("shard", strconv.Itoa(shard)).Client(client)
		},
		every: interval,
		log:   log,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// start chains into opts.Progress to keep the latest figures and pushes
// them every interval until finish.
func (ps *pusher) start(opts *importer.Options) {
	if ps == nil {
		return
	}
	prev := opts.Progress
	opts.Progress = func(p importer.Progress) {
		ps.last.Store(&p)
		if prev != nil {
			prev(p)
		}
	}
	if opts.ProgressEvery == 0 || opts.ProgressEvery > ps.every {
		opts.ProgressEvery = min(ps.every, time.Second)
	}
	ps.started = true
	go func() {
		defer close(ps.done)
		t := time.NewTicker(ps.every)
		defer t.Stop()
		for {
			select {
			case <-ps.stop:
				return
			case <-t.C:
				if p := ps.last.Load(); p != nil {
					ps.push(progressMetrics(*p), 10*time.Second)
				}
			}
		}
	}()
}

// finish stops the periodic pushes and pushes the final figures of rep (nil
// when the run failed before it started) with the process's exit code; a
// run that finished, exit 0 or 3 (some rows rejected), also sets the last
// success time: for scheduling it succeeded, and the rejects have their own
// gauges (insider_import_rows_rejected, insider_import_rows_rejected_by_api)
// to alert on.
func (ps *pusher) finish(rep *importer.Report, code int, now time.Time) {
	if ps == nil {
		return
	}
	if ps.started {
		close(ps.stop)
		<-ps.done
	}
	m := map[string]float64{}
	if rep != nil {
		m = reportMetrics(rep)
	} else if p := ps.last.Load(); p != nil {
		m = progressMetrics(*p)
	}
	m["insider_import_run_finished"] = 1
	m[metricExitCode] = float64(code)
	if code == exitOK || code == exitRejects {
		m[metricLastSuccess] = float64(now.UnixNano()) / 1e9
	}
	ps.push(m, 5*time.Second)
}

// push sends m with POST (push.Add): it replaces the metrics of the same
// names in the group and keeps the others, so the last success time pushed
// by an earlier run stays when this one fails. PUT (push.Push) would
// replace the whole group and lose it.
func (ps *pusher) push(m map[string]float64, timeout time.Duration) {
	m["insider_import_push_timestamp_seconds"] = float64(time.Now().UnixNano()) / 1e9
	reg := prometheus.NewRegistry()
	for name, v := range m {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: metricHelp[name]})
		g.Set(v)
		reg.MustRegister(g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := ps.p().Gatherer(reg).AddContext(ctx); err != nil {
		ps.log.Warn("pushing metrics to the Pushgateway failed; the import goes on", "error", err.Error())
	}
}

func countsMetrics(c importer.Counts) map[string]float64 {
	return map[string]float64{
		"insider_import_rows_read":            float64(c.RowsRead),
		"insider_import_rows_mapped":          float64(c.RowsMapped),
		"insider_import_rows_rejected":        float64(c.RowsRejected),
		"insider_import_rows_rejected_by_api": float64(c.RowsRejectedByAPI),
		"insider_import_events_sent":          float64(c.EventsSent),
		"insider_import_events_expired":       float64(c.EventsExpired),
		"insider_import_events_future":        float64(c.EventsFuture),
		"insider_import_events_rejected":      float64(c.EventsRejected),
		"insider_import_users_accepted":       float64(c.UsersAccepted),
		"insider_import_users_rejected":       float64(c.UsersRejected),
	}
}

func progressMetrics(p importer.Progress) map[string]float64 {
	m := countsMetrics(p.Counts)
	m["insider_import_requests"] = float64(p.Requests)
	m["insider_import_retries"] = float64(p.Retries)
	m["insider_import_throttled"] = float64(p.Throttled)
	m["insider_import_bytes_sent"] = float64(p.BytesSent)
	m["insider_import_duration_seconds"] = p.Elapsed.Seconds()
	m["insider_import_run_finished"] = 0
	return m
}

func reportMetrics(rep *importer.Report) map[string]float64 {
	m := countsMetrics(rep.Counts)
	m["insider_import_requests"] = float64(rep.Requests)
	m["insider_import_retries"] = float64(rep.Retries)
	m["insider_import_throttled"] = float64(rep.Throttled)
	m["insider_import_bytes_sent"] = float64(rep.BytesSent)
	m["insider_import_duration_seconds"] = rep.Duration
	m["insider_import_files_skipped_changed"] = float64(rep.SkippedChanged)
	m["insider_import_files_reimported"] = float64(rep.Reimported)
	m["insider_import_files_waiting"] = float64(rep.Waiting)
	return m
}

package importer

import (
	"time"
)

// Progress is a live snapshot for progress bars and log lines.
type Progress struct {
	RowsRead     int64
	RowsDone     int64
	RowsRejected int64
	EventsSent   int64
	Requests     int64
	Retries      int64
	Throttled    int64
	BytesRead    int64 // of the inputs, as far as known
	BytesTotal   int64
	BytesSent    int64 // request bodies
	Elapsed      time.Duration
	// Counts are the report's counters so far (rows and events finished:
	// acknowledged, rejected or dropped).
	Counts Counts
}

func (r *run) progress(start time.Time) {
	if r.opts.Progress == nil {
		return
	}
	c := r.commit.Totals()
	p := Progress{
		RowsRead: r.rowsRead.Load(), RowsDone: c.RowsRead, RowsRejected: c.RowsRejected + c.RowsRejectedByAPI,
		EventsSent: c.EventsSent, BytesRead: r.bytesDone.Load() + r.bytesCur.Load(), BytesTotal: r.plan.BytesTotal,
		Elapsed: time.Since(start), Counts: c,
	}
	if r.sender != nil {
		p.Requests, p.Retries, p.Throttled = r.sender.requests.Load(), r.sender.retries.Load(), r.sender.throttled.Load()
		p.BytesSent = r.sender.bytesSent.Load()
	}
	r.opts.Progress(p)
}

package ledger

// Counts are the report's counters. When a run finishes they add up:
//
//	RowsRead   = RowsMapped + RowsRejected
//	EventsRead = EventsSent + EventsExpired + EventsFuture + EventsRejected
//	UsersSent  = UsersAccepted + UsersRejected
type Counts struct {
	RowsRead          int64 `json:"rows_read"`
	RowsMapped        int64 `json:"rows_mapped"`
	RowsRejected      int64 `json:"rows_rejected"`
	RowsRejectedByAPI int64 `json:"rows_rejected_by_api"`
	RowsNothingToSend int64 `json:"rows_nothing_to_send"`

	EventsRead     int64 `json:"events_read"`
	EventsSent     int64 `json:"events_sent"`
	EventsExpired  int64 `json:"events_dropped_expired"`
	EventsFuture   int64 `json:"events_dropped_future"`
	EventsRejected int64 `json:"events_rejected"`

	UsersSent     int64 `json:"users_sent"`
	UsersAccepted int64 `json:"users_accepted"`
	UsersRejected int64 `json:"users_rejected"`
	UsersValid    int64 `json:"users_valid,omitempty"` // dry run: users that would be sent
}

func (c *Counts) add(o Counts) {
	c.RowsRead += o.RowsRead
	c.RowsMapped += o.RowsMapped
	c.RowsRejected += o.RowsRejected
	c.RowsRejectedByAPI += o.RowsRejectedByAPI
	c.RowsNothingToSend += o.RowsNothingToSend
	c.EventsRead += o.EventsRead
	c.EventsSent += o.EventsSent
	c.EventsExpired += o.EventsExpired
	c.EventsFuture += o.EventsFuture
	c.EventsRejected += o.EventsRejected
	c.UsersSent += o.UsersSent
	c.UsersAccepted += o.UsersAccepted
	c.UsersRejected += o.UsersRejected
	c.UsersValid += o.UsersValid
}

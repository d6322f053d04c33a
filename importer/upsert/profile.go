package upsert

// Insider's Get User Profile API (see ../shared/docs/insider-upsert-api.md,
// §8b): one user by identifiers, the attributes and events asked for, and
// the request's cost against a quota per minute.
const (
	ProfilePath = "/api/user/v1/profile"
	// ProfileQuota is the profile API's quota: units a minute per account.
	ProfileQuota = 1000
	// CustomPrefix is how a custom attribute is named in a profile request
	// and answer (c_member_code for the custom attribute member_code).
	CustomPrefix = "c_"
)

// ProfileRequest is the body of a profile request.
type ProfileRequest struct {
	Identifiers map[string]any `json:"identifiers"`
	Attributes  []string       `json:"attributes,omitempty"`
	Events      *ProfileEvents `json:"events,omitempty"`
	Quota       bool           `json:"quota,omitempty"`
}

// ProfileEvents asks for events of the given names between two instants
// (unix seconds, both included).
type ProfileEvents struct {
	StartDate int64         `json:"start_date"`
	EndDate   int64         `json:"end_date"`
	Wanted    []WantedEvent `json:"wanted"`
}

// WantedEvent is one event name and the params asked for.
type WantedEvent struct {
	EventName string   `json:"event_name"`
	Params    []string `json:"params"`
}

// ProfileQuotaReport is the "quota" of a profile answer asked with
// "quota": true: this request's cost, the units used this minute and the
// quota.
type ProfileQuotaReport struct {
	Cost  float64 `json:"cost"`
	Used  float64 `json:"used"`
	Total float64 `json:"total"`
}

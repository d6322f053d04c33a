package encode

import "github.com/insider-import/insider-import/readers"

// Row is one record mapped to the parts of a user object: Key, Attrs and
// Evs are encoded JSON for AppendUser (spans of one buffer, the RowArena's
// under MapRecordIn); Src, Problems and the event counts are what the
// importer counts and the ledger writes in the rejects.
//
// Rows stay until their batch is answered, a few batches' worth of them,
// so the struct is kept small: the position is Src's (kept on Release),
// the counts are 32-bit.
type Row struct {
	Src   readers.Record // the record as read (its position stays), for rejects
	texts *cellTexts     // how src's typed cells are written in rejects
	Key   []byte         // the encoded "identifiers" object
	Attrs [][]byte       // by index of Mapping.Attributes; nil when absent
	Evs   [][]byte       // encoded event objects, TTL filter passed

	Problems []Problem // why the row is rejected; none when it is sent
	// Events read, and dropped by the TTL filter as older than their TTL
	// (Expired) or ahead of the clock by more than the tolerance (Future).
	EventsRead, Expired, Future int32
	Tallied                     bool // counted as rejected by the ledger.Tally (Observe)
}

// Release drops the row's encoded parts and cells once they are in a
// request body: the row keeps only what counts need (event slots stay,
// their number is counted; their bytes go).
func (r *Row) Release() {
	r.Key, r.Attrs = nil, nil
	clear(r.Evs)
	r.Src.Text, r.Src.Values = nil, nil // the position stays
}

// Rules named in Problems, besides Insider's own keys ("regexp(...)",
// "event_params.required", ...) and "type(T)" for a cell that does not
// convert to its declared type T.
const (
	RuleIdentifierRequired = "identifiers.required"
	ruleDataRequired       = "attributes_or_events.required"
	ruleCountry            = "format(iso3166-1-alpha-2)"
	ruleCurrency           = "format(iso4217)"
	ruleMin0               = "min(0)"
	ruleEventName          = "event_name.regexp(^[a-z0-9_]+$)"
	ruleEventNameRequired  = "event_name.required"
	ruleTimestamp          = "timestamp"
	ruleParamRequired      = "event_params.required"
)

// settle decides the mapped row's fate: a row with nothing to send gets a
// problem, and a row with any problem is rejected whole: none of its
// parts is sent or counted as dropped.
func (r *Row) settle() {
	if len(r.Problems) == 0 && r.Attrs == nil && r.EventsRead == 0 {
		r.Problems = append(r.Problems, Problem{Rule: ruleDataRequired, Msg: "the row has no attribute and no event value to send"})
	}
	if len(r.Problems) > 0 {
		r.Attrs, r.Evs, r.Expired, r.Future = nil, nil, 0, 0
	}
}

func (r *Row) fail(f *Field, rule, msg string) {
	r.Problems = append(r.Problems, Problem{Column: f.Column, Field: f.Name, Rule: rule, Msg: msg})
}

// The row's side of ledger.Row: its cells for the rejects files, given up
// once encoded (Release) and read again by position (the ledger's refiller).

// Cells returns the row's cells as the rejects files write them.
func (r *Row) Cells() []string { return r.cells() }

// Released reports whether Release gave up the row's cells.
func (r *Row) Released() bool { return r.Src.Len() == 0 }

// Refill puts back the cells of a released row, read again at its position.
func (r *Row) Refill(rec readers.Record) { r.Src = rec }

package importer

import (
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/readers"
)

// Problem is one reason a row cannot be sent (rejects.Problem: the ledger
// counts it and the rejects files write it as it is).
type Problem = rejects.Problem

// row is one record mapped to the parts of a user object. Encoded values
// live in buf; attrs and events are spans of it.
//
// Rows stay until their batch is answered, a few batches' worth of them,
// so the struct is kept small: the position is src's (kept on release),
// the counts are 32-bit.
type row struct {
	src   readers.Record // the record as read (its position stays), for rejects
	texts *cellTexts     // how src's typed cells are written in rejects
	key   []byte         // the encoded "identifiers" object
	attrs [][]byte       // by index of Mapping.Attributes; nil when absent
	evs   [][]byte       // encoded event objects, TTL filter passed

	problems                    []Problem
	eventsRead, expired, future int32
	tallied                     bool // counted as rejected by the ledger.Tally (Observe)
}

// release drops the row's encoded parts and cells once they are in a
// request body: the row keeps only what counts need (event slots stay,
// their number is counted; their bytes go).
func (r *row) release() {
	r.key, r.attrs = nil, nil
	clear(r.evs)
	r.src = readers.Record{Pos: r.src.Pos}
}

// Rules named in Problems, besides Insider's own keys ("regexp(...)",
// "event_params.required", ...) and "type(T)" for a cell that does not
// convert to its declared type T.
const (
	ruleIdentifierRequired = "identifiers.required"
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
func (r *row) settle() {
	if len(r.problems) == 0 && r.attrs == nil && r.eventsRead == 0 {
		r.problems = append(r.problems, Problem{Rule: ruleDataRequired, Msg: "the row has no attribute and no event value to send"})
	}
	if len(r.problems) > 0 {
		r.attrs, r.evs, r.expired, r.future = nil, nil, 0, 0
	}
}

func (r *row) fail(f *Field, rule, msg string) {
	r.problems = append(r.problems, Problem{Column: f.Column, Field: f.Name, Rule: rule, Msg: msg})
}

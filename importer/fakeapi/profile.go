package fakeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
)

// The stand-in answers Insider's Get User Profile API (POST
// /api/user/v1/profile) from what it accepted: users are merged by any
// identifier they share, attributes keep the last value (arrays are
// appended to unless not_append), identical events are stored once.
//
// The shape of answers follows the API notes (§8b): custom attributes are
// asked for and answered with the c_ prefix; an event is answered with the
// params asked for (custom ones under their c_ name), its "timestamp" as
// sent and "created_date" in UTC. Each answer costs quota units: 1, plus 1
// for each event name asked for, plus 0.01 for each event returned.

// ProfileOptions configures the profile API of a Server.
type ProfileOptions struct {
	// Quota is the units a minute the profile API allows (0:
	// upsert.ProfileQuota); a request over it is answered 429.
	Quota float64
	// Drop names an attribute (as the profile API names it, c_tier, or as
	// sent, tier) the stand-in answers as if it had never stored it;
	// Change one whose value it answers altered. They let a test see
	// verify report a difference.
	Drop, Change string
}

type profileStore struct {
	mu    sync.Mutex
	users []*storedUser
	byID  map[string]*storedUser // "email=…", "custom.loyalty_id=…"
	spent []spend                // quota units of the last minute
}

type spend struct {
	at   time.Time
	cost float64
}

type storedUser struct {
	attrs  map[string]any // default attributes by name
	custom map[string]any // custom attributes by name
	events []storedEvent
	keys   map[string]bool // canonical JSON of each event, stored once
}

type storedEvent struct {
	name   string
	ts     time.Time
	tsText string
	params map[string]any // default params
	custom map[string]any
}

func (p *profileStore) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users, p.byID, p.spent = nil, nil, nil
}

// idKeys returns the lookup keys of an identifiers object.
func idKeys(ids map[string]any) []string {
	var keys []string
	for _, k := range sortedKeys(ids) {
		if k == "custom" {
			if c, ok := ids[k].(map[string]any); ok {
				for _, ck := range sortedKeys(c) {
					keys = append(keys, fmt.Sprintf("custom.%s=%v", ck, c[ck]))
				}
			}
			continue
		}
		keys = append(keys, fmt.Sprintf("%s=%v", k, ids[k]))
	}
	return keys
}

// store merges the accepted users of a request.
func (p *profileStore) store(res *result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID == nil {
		p.byID = map[string]*storedUser{}
	}
	for _, au := range res.users {
		ids, _ := au.raw["identifiers"].(map[string]any)
		keys := idKeys(ids)
		if id, ok := au.raw["insider_id"].(string); ok && id != "" {
			keys = append(keys, "insider_id="+id)
		}
		var u *storedUser
		for _, k := range keys {
			if u = p.byID[k]; u != nil {
				break
			}
		}
		if u == nil {
			u = &storedUser{attrs: map[string]any{}, custom: map[string]any{}, keys: map[string]bool{}}
			p.users = append(p.users, u)
		}
		for _, k := range keys {
			p.byID[k] = u
		}
		notAppend := res.notAppend
		if b, ok := au.raw["not_append"].(bool); ok {
			notAppend = b
		}
		if attrs, ok := au.raw["attributes"].(map[string]any); ok {
			for k, v := range attrs {
				if k == "custom" {
					if c, ok := v.(map[string]any); ok {
						for ck, cv := range c {
							setAttr(u.custom, ck, cv, notAppend)
						}
					}
					continue
				}
				setAttr(u.attrs, k, v, notAppend)
			}
		}
		evs, _ := au.raw["events"].([]any)
		for _, e := range evs {
			m, _ := e.(map[string]any)
			key := string(canonical(m))
			if u.keys[key] {
				continue
			}
			u.keys[key] = true
			se := storedEvent{params: map[string]any{}, custom: map[string]any{}}
			se.name, _ = m["event_name"].(string)
			se.tsText, _ = m["timestamp"].(string)
			se.ts, _ = time.Parse(time.RFC3339, se.tsText)
			params, _ := m["event_params"].(map[string]any)
			for k, v := range params {
				if k == "custom" {
					c, _ := v.(map[string]any)
					for ck, cv := range c {
						se.custom[ck] = cv
					}
					continue
				}
				se.params[k] = v
			}
			u.events = append(u.events, se)
		}
	}
}

// setAttr sets an attribute; an array is appended to the stored one,
// without repeating items, unless notAppend.
func setAttr(m map[string]any, k string, v any, notAppend bool) {
	list, isList := v.([]any)
	old, hadList := m[k].([]any)
	if !isList || !hadList || notAppend {
		m[k] = v
		return
	}
	out := slices.Clone(old)
	for _, x := range list {
		if !slices.ContainsFunc(out, func(y any) bool { return reflect.DeepEqual(x, y) }) {
			out = append(out, x)
		}
	}
	m[k] = out
}

// handleProfile answers a profile request.
func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	s.add(func(st *Stats) { st.ProfileRequests++ })
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reject(w, r, http.StatusMethodNotAllowed, upsert.ErrorBody{Error: "method " + r.Method + " not allowed: use POST"})
		return
	}
	if status, msg := s.authorize(r); status != 0 {
		reject(w, r, status, upsert.ErrorBody{Error: msg})
		return
	}
	body, msg := s.readBody(r)
	var req struct {
		Identifiers map[string]any        `json:"identifiers"`
		InsiderID   string                `json:"insider_id"`
		Attributes  []string              `json:"attributes"`
		Events      *upsert.ProfileEvents `json:"events"`
		Quota       bool                  `json:"quota"`
	}
	if msg == "" {
		if err := json.Unmarshal(body, &req); err != nil {
			msg = "request data is not in valid JSON format (" + err.Error() + "): bad request"
		} else if len(req.Identifiers) == 0 && req.InsiderID == "" {
			msg = "identifiers or insider_id must be defined: bad request"
		}
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, upsert.ErrorBody{Error: msg})
		return
	}
	cost := 1.0
	if req.Events != nil {
		cost += float64(len(req.Events.Wanted))
	}
	p := &s.profiles
	p.mu.Lock()
	defer p.mu.Unlock()
	now := s.now()
	used := 0.0
	p.spent = slices.DeleteFunc(p.spent, func(sp spend) bool { return !sp.at.After(now.Add(-time.Minute)) })
	for _, sp := range p.spent {
		used += sp.cost
	}
	total := s.opts.Profile.Quota
	if total <= 0 {
		total = upsert.ProfileQuota
	}
	if used+cost > total {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too Many Requests", "status": 429})
		return
	}
	keys := idKeys(req.Identifiers)
	if req.InsiderID != "" {
		keys = append(keys, "insider_id="+req.InsiderID)
	}
	var u *storedUser
	for _, k := range keys {
		if u = p.byID[k]; u != nil {
			break
		}
	}
	if u == nil {
		p.spent = append(p.spent, spend{now, 1})
		writeJSON(w, http.StatusNotFound, upsert.ErrorBody{Error: "no such user for these identifiers: no data"})
		return
	}
	answer := map[string]any{"attributes": s.profileAttributes(u, req.Attributes)}
	if req.Events != nil {
		evs, n := profileEvents(u, req.Events)
		answer["events"] = evs
		cost += 0.01 * float64(n)
	}
	p.spent = append(p.spent, spend{now, cost})
	if req.Quota {
		answer["quota"] = upsert.ProfileQuotaReport{Cost: cost, Used: used + cost, Total: total}
	}
	writeJSON(w, http.StatusOK, answer)
}

// profileAttributes answers the attributes asked for that the user has,
// with the Drop and Change options applied.
func (s *Server) profileAttributes(u *storedUser, names []string) map[string]any {
	out := map[string]any{}
	for _, n := range names {
		var v any
		var ok bool
		plain := n
		if c, isCustom := strings.CutPrefix(n, upsert.CustomPrefix); isCustom {
			plain = c
			v, ok = u.custom[c]
		}
		if !ok {
			v, ok = u.attrs[n]
		}
		if !ok {
			continue
		}
		o := s.opts.Profile
		switch {
		case o.Drop != "" && (o.Drop == n || o.Drop == plain):
			continue
		case o.Change != "" && (o.Change == n || o.Change == plain):
			v = altered(v)
		}
		out[n] = v
	}
	return out
}

// altered returns a value of the same type that differs from v.
func altered(v any) any {
	switch v := v.(type) {
	case bool:
		return !v
	case json.Number:
		return json.Number(v.String() + "1")
	case string:
		return v + " (changed)"
	case []any:
		return append(slices.Clone(v), "changed")
	}
	return "changed"
}

// profileEvents answers the events asked for: each wanted name's events
// within the dates, with the params asked for (all when none is named).
// It returns them and how many there are.
func profileEvents(u *storedUser, q *upsert.ProfileEvents) (map[string][]map[string]any, int) {
	out := map[string][]map[string]any{}
	n := 0
	for _, want := range q.Wanted {
		list := []map[string]any{}
		for _, e := range u.events {
			if e.name != want.EventName || e.ts.Unix() < q.StartDate || e.ts.Unix() > q.EndDate {
				continue
			}
			m := map[string]any{"created_date": e.ts.UTC().Format(time.RFC3339)}
			params := want.Params
			if len(params) == 0 {
				params = append(params, "timestamp")
				for k := range e.params {
					params = append(params, k)
				}
				for k := range e.custom {
					params = append(params, upsert.CustomPrefix+k)
				}
			}
			for _, p := range params {
				if p == "timestamp" {
					m[p] = e.tsText
				} else if c, ok := strings.CutPrefix(p, upsert.CustomPrefix); ok && e.custom[c] != nil {
					m[p] = e.custom[c]
				} else if v, ok := e.params[p]; ok {
					m[p] = v
				}
			}
			list = append(list, m)
			n++
		}
		out[want.EventName] = list
	}
	return out, n
}

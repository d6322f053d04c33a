package fakeapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/upsert"
)

// Rule names and messages of per-user errors. Keys documented by Insider
// (API notes §5.2) are reproduced exactly; the others follow the same
// "<path>.<rule>" and "<path>.*.<rule>" pattern.
const (
	customNamePattern = `^[a-z0-9][a-z0-9_]*$` // upsert.ValidCustomName

	// Insider's live text has the typo "idenifiers".
	msgIdentityRequired = "either insider_id or idenifiers must be specified"
	msgDataRequired     = "either attributes or events must be specified"
	msgUnknownID        = "key must be one of phone_number(pn), email(em) or uuid"
)

// typeRules names each upsert.Type in error keys, e.g. "*.type(boolean)".
var typeRules = map[upsert.Type]string{
	upsert.TypeString:      "string",
	upsert.TypeNumber:      "number",
	upsert.TypeInteger:     "integer",
	upsert.TypeBoolean:     "boolean",
	upsert.TypeDateTime:    "date-time",
	upsert.TypeUTCDateTime: "utc-date-time",
	upsert.TypeStringArray: "string-array",
	upsert.TypeNumberArray: "number-array",
}

// result is a request that passed the whole-request checks.
type result struct {
	skipHook bool
	users    []acceptedUser
	failed   int
	errs     map[string][]string

	notAppend bool // the request's not_append: arrays replace stored ones
}

type acceptedUser struct {
	events []acceptedEvent
	raw    map[string]any // the user as sent, for the profile store
}

type acceptedEvent struct {
	name string
	time time.Time
	key  string
}

// check parses and validates body. It returns a message for a 400 answer
// when the request as a whole is wrong, else the per-user outcome.
func (s *Server) check(body []byte) (*result, string) {
	top, err := decode(body)
	if err != nil {
		return nil, "request data is not in valid JSON format (" + err.Error() + "): bad request"
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, "request body must be a JSON object: bad request"
	}
	res := &result{errs: map[string][]string{}}
	for _, k := range []string{"skip_hook", "not_append", "append"} {
		if v, ok := obj[k]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return nil, k + " must be boolean: bad request"
			}
			if k == "skip_hook" {
				res.skipHook = b
			}
			if k == "not_append" {
				res.notAppend = b
			}
		}
	}
	if v, ok := obj["error_callback_endpoint"]; ok {
		str, _ := v.(string)
		if u, err := url.Parse(str); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "error_callback_endpoint must be an http(s) URL: bad request"
		}
	}
	raw, ok := obj["users"]
	if !ok || raw == nil {
		return nil, msgUsersMissing
	}
	users, ok := raw.([]any)
	switch {
	case !ok:
		return nil, "users must be an array: bad request"
	case len(users) == 0:
		return nil, "users must contain at least 1 user: bad request"
	case len(users) > s.maxUsers:
		return nil, fmt.Sprintf("users must contain at most %d users, got %d: bad request", s.maxUsers, len(users))
	}

	for i, u := range users {
		c := &checker{prefix: "users." + strconv.Itoa(i) + ".", errs: res.errs}
		au := c.user(u)
		if c.failed {
			res.failed++
			continue
		}
		res.users = append(res.users, au)
	}
	return res, ""
}

// decode parses exactly one JSON value, keeping numbers as json.Number.
func decode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

// checker validates one user and collects its errors into errs.
type checker struct {
	prefix string // "users.N."
	errs   map[string][]string
	failed bool
}

func (c *checker) fail(key, msg string) {
	c.errs[c.prefix+key] = append(c.errs[c.prefix+key], msg)
	c.failed = true
}

func (c *checker) user(v any) acceptedUser {
	u, ok := v.(map[string]any)
	if !ok {
		c.fail("type(object)", "user must be an object: "+show(v))
		return acceptedUser{}
	}
	for _, k := range sortedKeys(u) {
		switch k {
		case "identifiers", "insider_id", "attributes", "events":
		case "not_append", "append":
			if _, ok := u[k].(bool); !ok {
				c.fail(k+".type(boolean)", k+" must be boolean: "+show(u[k]))
			}
		default:
			c.fail("*.in(user_keys)", "unknown user key: "+k+" (allowed: identifiers, insider_id, attributes, events, not_append, append)")
		}
	}

	identity := c.identity(u)

	attrs, hasAttrs := u["attributes"]
	hasAttrs = hasAttrs && attrs != nil
	evs, hasEvents := u["events"]
	hasEvents = hasEvents && evs != nil
	if list, ok := evs.([]any); ok && len(list) == 0 {
		hasEvents = false
	}
	if !hasAttrs && !hasEvents {
		c.fail("attributes.required", msgDataRequired)
		c.fail("events.required", msgDataRequired)
	}
	if hasAttrs {
		c.attributes(attrs)
	}
	out := acceptedUser{raw: u}
	if hasEvents {
		out.events = c.events(evs, identity)
	}
	return out
}

// identity checks identifiers and insider_id and returns the canonical JSON
// of the user's identity for event keys.
func (c *checker) identity(u map[string]any) []byte {
	var identity []byte
	present := false
	if v := u["identifiers"]; v != nil {
		ids, ok := v.(map[string]any)
		switch {
		case !ok:
			c.fail("identifiers.type(object)", "identifiers must be an object: "+show(v))
			present = true
		case len(ids) > 0:
			present = true
			c.identifiers(ids)
			identity = canonical(ids)
		}
	}
	if v, ok := u["insider_id"]; ok && v != nil {
		id, isString := v.(string)
		switch {
		case !isString:
			c.fail("insider_id.type(string)", "insider_id must be string: "+show(v))
			present = true
		case id != "":
			present = true
			if identity == nil {
				identity = canonical(map[string]any{"insider_id": id})
			}
		}
	}
	if !present {
		c.fail("identifiers.required", msgIdentityRequired)
		c.fail("insider_id.required", msgIdentityRequired)
	}
	return identity
}

func (c *checker) identifiers(ids map[string]any) {
	for _, k := range sortedKeys(ids) {
		v := ids[k]
		str, isString := v.(string)
		switch k {
		case "email", "phone_number", "uuid":
			if !isString {
				c.fail("identifiers.*.type(string)", k+" must be string: "+show(v))
				continue
			}
		}
		switch k {
		case "email":
			if !upsert.ValidEmail(str) {
				c.fail("identifiers.*.regexp("+upsert.EmailPattern+")", "not a valid email address: "+str)
			}
		case "phone_number":
			if !upsert.ValidPhone(str) {
				c.fail("identifiers.*.regexp("+upsert.PhonePattern+")", "user has an invalid phone number: "+str)
			}
		case "uuid":
			if str == "" {
				c.fail("identifiers.*.min(1)", "uuid must not be empty")
			}
		case "custom":
			c.customIdentifiers(v)
		default:
			c.fail("identifiers.*.in(defaults_column)", msgUnknownID)
		}
	}
}

func (c *checker) customIdentifiers(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail("identifiers.custom.type(object)", "custom identifiers must be an object: "+show(v))
		return
	}
	if len(m) == 0 {
		c.fail("identifiers.custom.min(1)", "custom identifiers must not be empty")
	}
	for _, k := range sortedKeys(m) {
		if !upsert.ValidCustomName(k) {
			c.fail("identifiers.custom.*.regexp("+customNamePattern+")", "invalid custom identifier name: "+k)
		}
		switch str, ok := m[k].(string); {
		case !ok:
			c.fail("identifiers.custom.*.type(string)", "custom identifier "+k+" must be string: "+show(m[k]))
		case str == "":
			c.fail("identifiers.custom.*.min(1)", "custom identifier "+k+" must not be empty")
		}
	}
}

func (c *checker) attributes(v any) {
	attrs, ok := v.(map[string]any)
	if !ok {
		c.fail("attributes.type(object)", "attributes must be an object: "+show(v))
		return
	}
	n := 0
	for _, k := range sortedKeys(attrs) {
		v := attrs[k]
		if k == "custom" {
			n += c.custom("attributes.custom", "custom attribute", v)
			continue
		}
		n++
		t, known := upsert.DefaultAttributes[k]
		if !known {
			c.fail("attributes.*.in(default_attributes)", "unknown default attribute: "+k+" (custom attributes belong under attributes.custom)")
			continue
		}
		if !c.typed("attributes", k, t, v) {
			continue
		}
		switch k {
		case "email":
			if !upsert.ValidEmail(v.(string)) {
				c.fail("attributes.*.regexp("+upsert.EmailPattern+")", "not a valid email address: "+v.(string))
			}
		case "phone_number":
			if !upsert.ValidPhone(v.(string)) {
				c.fail("attributes.*.regexp("+upsert.PhonePattern+")", "user has an invalid phone number: "+v.(string))
			}
		}
	}
	if n == 0 {
		c.fail("attributes.min(1)", "attributes must contain at least one attribute")
	}
}

// custom checks a "custom" object of attributes or event params at path and
// returns how many entries it has. what names an entry in messages.
func (c *checker) custom(path, what string, v any) int {
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(path+".type(object)", path+" must be an object: "+show(v))
		return 0
	}
	for _, k := range sortedKeys(m) {
		if !upsert.ValidCustomName(k) {
			c.fail(path+".*.regexp("+customNamePattern+")", "invalid "+what+" name: "+k+" (lowercase letters, digits and _)")
		}
		if !customValue(m[k]) {
			c.fail(path+".*.type(value)", what+" "+k+" must be a string, number, boolean or an array of strings or numbers: "+show(m[k]))
		}
	}
	return len(m)
}

// customValue reports whether v is a value a custom attribute or param can
// hold: a string, number or boolean, or an array of strings or of numbers.
func customValue(v any) bool {
	switch v := v.(type) {
	case string, json.Number, bool:
		return true
	case []any:
		return isArrayOf[string](v) || isArrayOf[json.Number](v)
	}
	return false
}

func isArrayOf[T any](list []any) bool {
	for _, e := range list {
		if _, ok := e.(T); !ok {
			return false
		}
	}
	return true
}

// typed checks that v, the value of default field name under path, has type
// t. It reports whether it does.
func (c *checker) typed(path, name string, t upsert.Type, v any) bool {
	if hasType(t, v) {
		return true
	}
	c.fail(path+".*.type("+typeRules[t]+")", name+" must be "+t.String()+": "+show(v))
	return false
}

func hasType(t upsert.Type, v any) bool {
	switch t {
	case upsert.TypeString:
		_, ok := v.(string)
		return ok
	case upsert.TypeNumber:
		_, ok := v.(json.Number)
		return ok
	case upsert.TypeInteger:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil
	case upsert.TypeBoolean:
		_, ok := v.(bool)
		return ok
	case upsert.TypeDateTime, upsert.TypeUTCDateTime:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return false
		}
		return t == upsert.TypeDateTime || strings.HasSuffix(s, "Z")
	case upsert.TypeStringArray:
		list, ok := v.([]any)
		return ok && isArrayOf[string](list)
	case upsert.TypeNumberArray:
		list, ok := v.([]any)
		return ok && isArrayOf[json.Number](list)
	}
	return false
}

func (c *checker) events(v any, identity []byte) []acceptedEvent {
	list, ok := v.([]any)
	if !ok {
		c.fail("events.type(array)", "events must be an array: "+show(v))
		return nil
	}
	out := make([]acceptedEvent, 0, len(list))
	for i, e := range list {
		if ae, ok := c.event("events."+strconv.Itoa(i)+".", e, identity); ok {
			out = append(out, ae)
		}
	}
	return out
}

// event checks one event; path is "events.E.". It reports whether the event
// is valid and, if so, returns it with its key.
func (c *checker) event(path string, v any, identity []byte) (acceptedEvent, bool) {
	was := c.failed
	c.failed = false
	defer func() { c.failed = c.failed || was }()

	e, ok := v.(map[string]any)
	if !ok {
		c.fail(path+"type(object)", "event must be an object: "+show(v))
		return acceptedEvent{}, false
	}
	for _, k := range sortedKeys(e) {
		switch k {
		case "event_name", "timestamp", "event_params":
		default:
			c.fail(path+"*.in(event_keys)", "unknown event key: "+k+" (allowed: event_name, timestamp, event_params)")
		}
	}

	name, _ := e["event_name"].(string)
	switch v := e["event_name"]; {
	case v == nil:
		c.fail(path+"event_name.required", "event_name is required")
	case !upsert.ValidEventName(name): // also when v is not a string
		c.fail(path+"event_name.*.regexp("+upsert.EventNamePattern+")", "invalid event name: "+show(v))
	}

	var ts time.Time
	tsText, _ := e["timestamp"].(string)
	switch v := e["timestamp"]; {
	case v == nil:
		c.fail(path+"timestamp.required", "timestamp is required")
	default:
		var err error
		if ts, err = time.Parse(time.RFC3339, tsText); err != nil {
			c.fail(path+"timestamp.*.date(RFC3339)", "invalid timestamp: "+show(v))
		}
	}

	var params map[string]any
	if v := e["event_params"]; v != nil {
		if params, ok = v.(map[string]any); !ok {
			c.fail(path+"event_params.type(object)", "event_params must be an object: "+show(v))
		}
	}
	for _, k := range sortedKeys(params) {
		v := params[k]
		if k == "custom" {
			c.custom(path+"event_params.custom", "custom event param", v)
			continue
		}
		t, known := upsert.DefaultEventParams[k]
		if !known {
			c.fail(path+"event_params.*.in(default_params)", "unknown default event param: "+k+" (custom params belong under event_params.custom)")
			continue
		}
		if v != nil {
			c.typed(path+"event_params", k, t, v)
		}
	}
	for _, p := range upsert.RequiredParams(name) {
		if v := params[p]; v == nil || v == "" {
			c.fail(path+"event_params.*.required", p+" parameter is required on "+name+" event")
		}
	}

	if c.failed {
		return acceptedEvent{}, false
	}
	if params == nil {
		params = map[string]any{}
	}
	return acceptedEvent{name: name, time: ts, key: eventKey(identity, name, tsText, canonical(params))}, true
}

// show renders a value in a message: strings as they are, anything else as
// JSON.
func show(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(canonical(v))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

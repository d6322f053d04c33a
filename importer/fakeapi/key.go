package fakeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// EventKey returns the key under which Server.Events counts an event. Two
// deliveries with the same key are the same event to Insider, which stores
// it once.
//
// The key is the JSON array [identity, event_name, timestamp, params],
// compact, with object keys sorted and numbers and strings exactly as sent:
//
//	[{"email":"a@example.com"},"purchase","2025-06-01T14:32:10Z",{"currency":"GBP","quantity":1}]
//
// identity is the user's "identifiers" object as sent, or, for a user sent
// with insider_id only, {"insider_id": ID}. params is the event's
// "event_params" object ({} when absent or null). Both may be anything that
// encodes to a JSON object (maps, structs, json.RawMessage); the timestamp is
// compared as text, so "…:10Z" and "…:10.000Z" are different events.
func EventKey(identity any, eventName, timestamp string, params any) (string, error) {
	id, err := canonicalOf(identity)
	if err != nil {
		return "", fmt.Errorf("event key identity: %w", err)
	}
	p, err := canonicalOf(params)
	if err != nil {
		return "", fmt.Errorf("event key params: %w", err)
	}
	if bytes.Equal(p, []byte("null")) {
		p = []byte("{}")
	}
	return eventKey(id, eventName, timestamp, p), nil
}

func eventKey(identity []byte, name, timestamp string, params []byte) string {
	var b bytes.Buffer
	b.WriteByte('[')
	b.Write(identity)
	b.WriteByte(',')
	b.Write(canonical(name))
	b.WriteByte(',')
	b.Write(canonical(timestamp))
	b.WriteByte(',')
	b.Write(params)
	b.WriteByte(']')
	return b.String()
}

// canonicalOf encodes v, decodes it keeping numbers as written and encodes
// it again, which sorts object keys at every level.
func canonicalOf(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	generic, err := decode(raw)
	if err != nil {
		return nil, err
	}
	return canonical(generic), nil
}

// canonical encodes a value decoded by decode (maps, slices, strings,
// json.Number, bools, nil): compact, object keys sorted, like encoding/json
// but without HTML escaping. Other types go through encoding/json.
func canonical(v any) []byte { return appendCanonical(nil, v) }

func appendCanonical(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendCanonical(b, v[k])
		}
		return append(b, '}')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return append(b, "null"...) // not reached for values from decode
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendString appends s as a JSON string, escaped as encoding/json does
// with HTML escaping off.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

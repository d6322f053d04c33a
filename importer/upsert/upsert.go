// Package upsert holds the facts of Insider's Upsert User Data API that both
// the importer and the local stand-in (fakeapi) follow: limits, the names and
// types of default attributes and event params, the validation rules with
// Insider's own messages, and the response shapes.
//
// See ../shared/docs/insider-upsert-api.md for where each fact comes from.
package upsert

import (
	"slices"
	"strings"
)

// Limits of one request.
const (
	MaxUsers = 1000      // users per request
	MaxBytes = 5_000_000 // bytes of request body
	Path     = "/api/user/v1/upsert"
)

// Header names.
const (
	HeaderPartner = "X-PARTNER-NAME"
	HeaderToken   = "X-REQUEST-TOKEN"
)

// Type is the JSON type Insider expects for a field.
type Type uint8

// The field types. TypeDateTime is an RFC 3339 string; TypeUTCDateTime must
// also end in "Z" (birthday).
const (
	TypeString Type = iota + 1
	TypeNumber
	TypeInteger
	TypeBoolean
	TypeDateTime
	TypeUTCDateTime
	TypeStringArray
	TypeNumberArray
)

var typeNames = map[Type]string{
	TypeString: "string", TypeNumber: "number", TypeInteger: "integer", TypeBoolean: "boolean",
	TypeDateTime: "RFC 3339 date-time", TypeUTCDateTime: "RFC 3339 date-time in UTC (ending in Z)",
	TypeStringArray: "array of strings", TypeNumberArray: "array of numbers",
}

func (t Type) String() string { return typeNames[t] }

// Identifiers are the keys allowed directly under "identifiers" (besides
// "custom").
var Identifiers = []string{"email", "phone_number", "uuid"}

// DefaultAttributes are the attributes that go at the root of "attributes";
// every other attribute goes under "attributes.custom".
var DefaultAttributes = map[string]Type{
	"email":             TypeString,
	"phone_number":      TypeString,
	"uuid":              TypeString,
	"name":              TypeString,
	"surname":           TypeString,
	"birthday":          TypeUTCDateTime,
	"gender":            TypeString,
	"age":               TypeNumber,
	"language":          TypeString,
	"country":           TypeString,
	"city":              TypeString,
	"email_optin":       TypeBoolean,
	"sms_optin":         TypeBoolean,
	"whatsapp_optin":    TypeBoolean,
	"gdpr_optin":        TypeBoolean,
	"list_id":           TypeNumberArray,
	"static_segment_id": TypeNumberArray,
	"lo":                TypeString,
}

// DefaultEventParams are the params that go at the root of "event_params";
// every other param goes under "event_params.custom".
var DefaultEventParams = map[string]Type{
	"event_group_id":     TypeString,
	"product_id":         TypeString,
	"name":               TypeString,
	"taxonomy":           TypeStringArray,
	"url":                TypeString,
	"currency":           TypeString,
	"quantity":           TypeInteger,
	"unit_price":         TypeNumber,
	"unit_sale_price":    TypeNumber,
	"locale":             TypeString,
	"color":              TypeString,
	"size":               TypeString,
	"shipping_cost":      TypeString,
	"promotion_name":     TypeString,
	"promotion_discount": TypeNumber,
	"product_image_url":  TypeString,
	"stock":              TypeNumber,
	"session_id":         TypeString,
}

var requiredParams = map[string][]string{
	"purchase":       {"event_group_id", "currency", "unit_sale_price", "quantity"},
	"cart_page_view": {"event_group_id", "currency", "unit_sale_price"},
}

// RequiredParams returns the event params Insider requires for event name,
// in a fixed order. Most events require none.
func RequiredParams(event string) []string { return requiredParams[event] }

var (
	// EmailPattern and PhonePattern are the regular expressions Insider
	// reports in its error keys.
	EmailPattern = `^.+@.+\..+$`
	PhonePattern = `^\+[1-9]\d{6,14}$`
	// EventNamePattern is the documented pattern; the accepted names are
	// stricter (see ValidEventName).
	EventNamePattern = `^[a-z0-9][a-zA-Z0-9._-]*$`
)

// ValidEmail reports whether s passes Insider's email check, EmailPattern:
// something, "@", something, ".", something, on one line. It is a loop
// rather than the regexp because the importer runs it on every row; the
// tests hold it to the regexp.
func ValidEmail(s string) bool {
	// "." in the pattern is any character but a newline, so a newline
	// anywhere fails; otherwise the earliest "@" past the first byte leaves
	// the most room for ".+\..+" after it.
	// strings.IndexByte looks at many bytes a step, where a loop looked
	// at one: this ran on every row's email.
	if len(s) < 2 || strings.IndexByte(s, '\n') >= 0 {
		return false
	}
	at := strings.IndexByte(s[1:], '@') + 1
	if at == 0 {
		return false
	}
	// The last "." with at least one character after it must have at least
	// one between it and the "@".
	dot := strings.LastIndexByte(s[:len(s)-1], '.')
	return dot > at+1
}

// ValidPhone reports whether s is an E.164 number as Insider checks it,
// PhonePattern: "+", a digit 1-9, then 6 to 14 more digits.
func ValidPhone(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidCurrency reports whether s looks like an ISO 4217 currency code:
// three upper-case ASCII letters, e.g. USD.
func ValidCurrency(s string) bool { return len(s) == 3 && upperASCII(s) }

// ValidCountry reports whether s looks like an ISO 3166-1 alpha-2 country
// code: two upper-case ASCII letters, e.g. SG.
func ValidCountry(s string) bool { return len(s) == 2 && upperASCII(s) }

func upperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ValidEventName reports whether s is an event name Insider accepts:
// lowercase letters, digits and "_", not starting with "_". Insider's sample
// rejects "homepageView" although it matches the documented pattern, so
// this is stricter than EventNamePattern.
func ValidEventName(s string) bool { return validSystemName(s) }

// ValidCustomName reports whether s is a system name Insider accepts for a
// custom attribute, identifier or event param: lowercase letters, digits and
// "_", starting with a letter or digit.
func ValidCustomName(s string) bool { return validSystemName(s) }

func validSystemName(s string) bool {
	if s == "" || s[0] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// IsIdentifier reports whether key may stand directly under "identifiers".
func IsIdentifier(key string) bool { return slices.Contains(Identifiers, key) }

// Response is the body of a 200 answer.
type Response struct {
	Data struct {
		Successful struct {
			Count int `json:"count,omitempty"`
		} `json:"successful"`
		Fail Fail `json:"fail"`
	} `json:"data"`
}

// Fail is the "fail" block of a 200 answer. Errors maps keys such as
// "users.2.identifiers.*.regexp(...)" to Insider's messages; the number after
// "users." is the index of the user in the request.
type Fail struct {
	Count  int                 `json:"count,omitempty"`
	Errors map[string][]string `json:"errors,omitempty"`
}

// ErrorBody is a whole-request error answer. Two envelopes exist:
// {"error": "..."} and {"success": false, "message": "..."}.
type ErrorBody struct {
	Error   string `json:"error,omitempty"`
	Success *bool  `json:"success,omitempty"`
	Message string `json:"message,omitempty"`
}

// Text returns the message of whichever envelope was used.
func (e ErrorBody) Text() string {
	if e.Error != "" {
		return e.Error
	}
	return e.Message
}

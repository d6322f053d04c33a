// Package fakeapi is a local stand-in for Insider's Upsert User Data API
// (POST /api/user/v1/upsert). It validates every request by the rules in
// docs/insider-upsert-api.md, answers in Insider's response shapes (including
// 200 with a "fail" block for per-user errors), can throttle (429) and fail
// (500) on demand, and keeps counts of what it accepted.
//
// It is what `insider-import fake`, `make demo` and the tests import into.
// It owns no Insider facts of its own: limits, field types and messages come
// from package upsert. Where Insider's behaviour is not documented, the fake is
// stricter than Insider is likely to be (unknown keys and wrong default types
// are per-user errors rather than silently ignored), so that importer bugs
// show up here instead of as missing data in a real account.
//
// It also answers Insider's Get User Profile API (POST /api/user/v1/profile)
// from the users it accepted, for `insider-import verify` (see profile.go).
//
// Besides the upsert path, a Server answers GET /stats (Stats as JSON) and
// GET /events (Events as JSON) so that a fake running as a separate process
// can be inspected by scripts and end-to-end tests.
package fakeapi

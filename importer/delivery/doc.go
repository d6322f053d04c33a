// Package delivery owns the HTTP side of a run: posting request bodies to
// Insider's upsert API and deciding what each answer means.
//
//	client.go    Client: Send posts one body, paced and retried until it
//	             is done; Settings are its inputs, Counters its totals
//	classify.go  every answer or transport error -> one Kind (classify),
//	             Insider's 200 checked against the users sent
//	pacer.go     the request rate shared by every worker (AIMD in time)
//	redact.go    the API key removed from whatever an answer quotes
//
// It knows request bodies only as bytes and a count of users: batching,
// splitting and bisecting a refused batch are the importer's (deliver.go),
// which reads a Verdict's Kind and Failed users. It imports only
// importer/upsert, for the API's wire names, internal/ctxsleep and the
// standard library.
package delivery

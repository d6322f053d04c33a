// Package verify is the `verify` command: Insider's "Integration
// Confirmation" done by the tool. Run picks a reproducible random sample of
// the users a job delivered (from its checkpoints and the inputs, mapped
// again exactly as the run mapped them: encode.NewMapper, the shards'
// parts by readers.SharePart), asks Insider's Get User Profile API for
// exactly the attributes and events sent to each (client.go: one user a
// request, paced by the quota Insider reports, retried on 429 and 5xx),
// and prints, per user and field, whether Insider holds what was sent. It
// never sends an upsert.
//
// It imports importer/config, importer/encode, importer/ledger (for
// ErrIncomplete), importer/delivery (Retry-After), importer/upsert,
// readers and checkpoint, never the importer.
package verify

// Package importer owns everything Insider: the YAML config, the mapping of
// records to user objects and their validation, the event TTL filter, the
// JSON payloads, batching, the HTTP sender with its shared rate limit and
// retries, the committer that records checkpoints, the rejects file and the
// report. It reads inputs through package readers and persists progress
// through package checkpoint; neither imports it.
//
// Run is the entry point; cmd/insider-import wires flags, signals, logging and
// the progress bar around it.
package importer

// Package importer runs an import: it plans the inputs, reads them,
// batches the mapped rows into requests, delivers them and reports. The
// YAML config is package importer/config's (Config, ConfigError and
// FieldType here are aliases of its names; ParseConfig adds
// encode.CheckValue, the check of constants). Records become rows and user
// objects through package importer/encode (the mapper: fields bound to an
// input's columns, validation, the event TTL filter, the JSON), and
// batches of users through package importer/batch; requests go through
// package importer/delivery (the HTTP client with its shared rate
// limit, retries and the classification of answers) and the books are kept
// by package importer/ledger (the committer that records checkpoints
// through package checkpoint, the rejects files, the counts and the reject
// limit); none of them imports it.
//
// Run is the entry point; cmd/insider-import wires flags, signals, logging and
// the progress bar around it. A run is a pipeline of stages, each in its
// own file or package, wired in run.go under one errgroup and one context:
//
//	plan.Make   (importer/plan) expand and shard the inputs, load and
//	            check the checkpoint, open every input once (preflight;
//	            the mapping is held against Parquet schemas and the first
//	            CSV rows by encode.SchemaProblems and SampleProblems)
//	scan.go     one file's reader -> rows in input order (encode.Mapper);
//	            cursor is where a resumed file stands against the recorded
//	            ranges; the rows go to batch.Stage (importer/batch: rows ->
//	            units of one user -> request bodies; batch.Order: a user's
//	            changed values wait for its unanswered batches)
//	deliver.go  one batch -> one classified outcome, split or bisected;
//	            the requests go through delivery.Client (importer/delivery:
//	            client.go, classify.go, pacer.go, redact.go); batch.Account
//	            makes the outcome a ledger.Outcome (counts, rejects by
//	            file) for the ledger.Committer (importer/ledger: the only
//	            owner of the checkpoint: ranges in flight, done and
//	            rejected, the write-ahead rule, the saves, the rejects
//	            files, the tally of rejects and the reject limit)
//
// The run's context stops reading and starting requests; requests already
// on the wire have the grace period (delivery.Client.SetWire).
//
// The verify command, reading a sample of the delivered users back from
// Insider's profile API, is package importer/verify's; it shares the
// run's input expansion and shard parts through package readers
// (readers.Expand, readers.SharePart) and does not import this package.
// The `init` command's config writer is package importer/initconfig: it
// maps its sample through importer/config and importer/encode, not
// through this package.
package importer

// Package batch is the run's batch stage: mapped rows, in input order,
// become user objects and request bodies, and batches of them.
//
//	batch.go    Stage: rows -> units of one user (grouper) -> request
//	            bodies (batcher, the JSON is encode.AppendUser's); a Batch
//	            is one request: its body, its users' offsets (SubBody, to
//	            split it) and its rows as the ledger records them (Range)
//	order.go    Order: a user's changed attribute values wait for its
//	            unanswered batches (Dispatch, WaitAfter, Answered)
//	account.go  Account: one batch's Outcome -> a ledger.Outcome (counts,
//	            acknowledged rows and rejects by file)
//
// Its inputs are Settings (the config's batch sizes and attributes), not
// the config. It imports importer/config, importer/encode, importer/ledger
// and readers, never the importer, which reads the files, sends the
// batches and bisects the refused ones.
package batch

// Package ledger is the run's bookkeeping: the Committer, the only owner of
// what the checkpoint says. It keeps each file's frontier and the ranges in
// flight, done and rejected (ledger.go), enforces the write-ahead rule (a
// batch is sent only once a saved checkpoint lists it in flight), saves and
// archives the checkpoint (committer.go), writes the rejects of finished
// ranges through package rejects, first reading again the cells of rows
// Insider refused (refill.go), and counts: the report's Counts, rejects by
// reason and the reject limit (tally.go, limit.go).
//
// The importer hands it a batch as a Range (its rows, one Segment per file)
// and an Outcome (Counts, and per file the rows acknowledged and the
// Rejects, whose cells come through the Row interface). It imports only
// checkpoint, readers, importer/encode (the precheck's sample size) and
// rejects, never the importer.
package ledger

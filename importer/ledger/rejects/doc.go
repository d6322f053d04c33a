// Package rejects writes the rows a run rejects, with why, to files a user
// can read and fix: JSON lines (one object a row: file, row, line, reason,
// the problems found, Insider's messages, the cells by column; Writer and
// jsonlines.go) and, when asked, CSVs in the input's own shape with a
// reject_reason column, to import again with the same config (CSV). Both
// grow by whole records only (appender), and survive a crash: State gives
// the lengths a checkpoint records, and Resume cuts the files back to them.
//
// It imports only readers (positions), checkpoint (RejectsState),
// importer/encode (Problem, what the encoder found) and internal/safefile;
// the ledger converts its rejects to Records.
package rejects

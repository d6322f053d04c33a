// Package readers streams the records of CSV (plain or compressed, in any
// of the text dialects of csvDialect) and Parquet files from local disk or
// S3, one record at a time, in bounded memory. Expand lists directories as
// Spark and Hive do; Open adds an input's partition columns.
//
// It knows files and formats and nothing about Insider: a Reader yields
// Records whose cells are typed Values, each with a resumable Position, and
// Open picks the source by scheme (s3:// or a local path) and the format by
// extension or by the caller's choice. Readers start no goroutines.
//
// Splits and SharePart share one large Parquet file among the shards of a
// job by row group (the import and verify read the same parts);
// ReadFailed turns a fatal error of Next into a *ReadFailedError that says
// where the input stopped and what a rerun does.
package readers

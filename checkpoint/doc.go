// Package checkpoint persists the progress of an import behind a small Store
// interface: a local file store (the default), an S3 store that holds a lease
// so that two runs of one job cannot both write, and an in-memory store for
// tests. Every store passes the suite in checkpointtest.
package checkpoint

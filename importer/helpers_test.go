package importer

import "github.com/insider-import/insider-import/importer/encode/encodetest"

// The helpers the encoder's tests share (encodetest): the clock of mapping
// tests, CSV-like records and the stand-in's verdict on a body.
var (
	testRef     = encodetest.Ref
	record      = encodetest.Record
	fakeVerdict = encodetest.Verdict
)

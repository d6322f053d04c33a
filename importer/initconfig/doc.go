// Package initconfig writes a first import config from the inputs
// themselves (the `init` command): Generate detects the format and CSV
// dialect (text encoding, byte order mark, delimiter, NULL markers), reads
// a sample of rows, places each column as an identifier, a default or
// custom attribute, an event timestamp, name or param, and checks every
// placement by mapping the sample with the importer's own code
// (config.Parse with encode.CheckValue, encode.NewMapper), demoting a
// column whose values do not fit (a typed attribute to text, a default
// attribute to a custom one) and listing, commented out, a column it could
// not place. The YAML it returns is commented for a person to check.
//
//	initconfig.go  Generate, the plan and its columns; settle, the check
//	               by mapping the sample
//	sample.go      the dialect (encoding, byte order mark, gzip,
//	               delimiter), the sample rows, NULL markers, the other
//	               inputs' headers
//	place.go       identifiers, the event (purchase or named) and the
//	               attributes, by column name and values
//	infer.go       the types, layouts and array formats the values support
//	yaml.go        the commented config, one section after the other
//
// It imports importer/config, importer/encode, importer/upsert and
// readers; never the root importer.
package initconfig

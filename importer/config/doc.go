// Package config decodes and checks an import config: the YAML file of
// source, insider, delivery, events, metrics, verify and mapping. Load and
// Parse decode it strictly (yamlwalk.go: unknown keys, wrong kinds and
// values out of bounds are problems with file:line:column, every one
// reported at once in a *ConfigError), apply the defaults and check what
// needs no input file; mapping.go decodes and checks the mapping of
// columns to identifiers, attributes and events against Insider's rules.
//
// Each section is one table of specs (sections.go, mapping.go; the
// machinery in spec.go): a key is declared once, with its default, a line
// of description and its decoder, and the table drives the decoding, the
// defaults, the unknown-key check and Reference, which docs/config.md's
// table of every key is held to.
//
// A Config is data: the mapping's fields are what the YAML says, checked,
// with the type Insider expects of each (Field.Wants). Binding fields to an
// input's columns and encoding them is package importer/encode's (encode.Field);
// the constants (value:) are converted by the ValueCheck the caller passes
// (encode.CheckValue), so that a constant no row could send is a config
// problem too. The package imports only readers (formats, encodings, S3
// options) and importer/upsert (Insider's names and types).
package config

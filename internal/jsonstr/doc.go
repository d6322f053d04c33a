// Package jsonstr appends JSON strings and object keys to byte slices,
// eight bytes a step where the text needs no escaping (most cells): the
// payload encoder's hot path, and the rejects files' encoder, so that both
// write a text the same bytes. Invalid UTF-8 becomes U+FFFD; U+2028 and
// U+2029 are escaped.
package jsonstr

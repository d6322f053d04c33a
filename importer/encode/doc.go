// Package encode turns an input's records into the JSON of Insider's
// upsert request, row by row: NewMapper binds the config's mapping to an
// input's columns (columnbind.go: case, Unicode forms, the header hints),
// and Mapper.MapRecord maps one record to a Row (mapper.go, mapevent.go):
// identifiers, attributes and events encoded once, the event TTL filter
// applied, and every Problem of a rejected row with its column and rule.
// Cells are converted by type (convert.go, timeconv.go, arrays.go), nulls
// told (nullmarker.go), typed cells written back as text for the rejects
// (celltext.go); rows take their memory from a RowArena (rowarena.go).
// AppendUser merges the rows of one user into one user object and
// BodyEnds gives the request body around them (user.go). CheckValue checks
// a config's constants as cells are, CheckedFields the mapping against an
// input's schema or first rows (the importer's precheck).
//
// Batching, ordering and delivery are the importer's. The package imports
// only importer/config, importer/upsert, readers and internal/jsonstr;
// encodetest holds what its tests and the importer's share.
package encode

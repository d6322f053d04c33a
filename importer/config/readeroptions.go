package config

import "github.com/insider-import/insider-import/readers"

// ReaderOptions are the options every reader of the source's inputs opens
// them with: the format, the text dialect (delimiter, encoding, quote,
// escape, header or the columns' names, the null marker), the record size
// limit and S3. The import and verify read the same files alike from
// them; Start, Stop and Columns are the reader's own.
func (s *SourceConfig) ReaderOptions() readers.Options {
	return readers.Options{Format: s.Format, Delimiter: s.Delimiter, Encoding: s.Encoding, MaxRecordBytes: s.MaxRecordBytes, S3: s.S3,
		Quote: s.Quote, Escape: s.Escape, NoHeader: s.NoHeader, Names: s.Columns, TextNullMarker: s.TextNullMarker}
}

// ReadColumns are the columns a reader of rows asks a columnar input
// (Parquet) for: the mapped ones, or every one (nil) with columns_case:
// insensitive, as the file may spell them otherwise.
func (c *Config) ReadColumns() []string {
	if c.Source.ColumnsInsensitive {
		return nil
	}
	return c.Mapping.Columns()
}

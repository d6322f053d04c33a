package readers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Reader streams the records of one input. A Reader is used by one
// goroutine at a time.
//
// Errors from Next follow archive/tar's rule:
//   - io.EOF after the last record, and again on every later call;
//   - a *ParseError concerns that one record alone: Pos has moved past it,
//     the Record holds what could be read of it, and the next call reads
//     the record after it;
//   - any other error is fatal and sticky: the input cannot be read on (a
//     truncated or corrupt file, a broken connection that could not be
//     resumed, an S3 object replaced since it was opened, a cancelled
//     context), Pos stays where it was, and every later call returns an
//     error again. Such errors name the input and, where known, where in it
//     (see ReadError).
//
// readertest holds the suite every Reader passes.
type Reader interface {
	// Columns returns the column names in the order of the Record's cells. For CSV
	// they come from the header row; for Parquet, dotted paths of the leaf
	// columns. The slice must not be modified.
	Columns() []string
	// Next returns the next record, or an error as the Reader's doc says.
	// The returned Record and its Values are owned by the caller and are
	// not reused by later calls.
	Next(ctx context.Context) (Record, error)
	// Pos returns the position of the record the next call to Next would
	// return; after io.EOF it is the end of the input. Opening the same input
	// with Options.Start set to this position resumes there.
	Pos() Position
	// Identity describes the input so that a changed file can be told from
	// the one a checkpoint was written for.
	Identity() Identity
	// Close releases the input. It is safe to call more than once.
	Close() error
}

// Position locates a record in its input and says how to restart reading
// there cheaply.
type Position struct {
	// File is the input as given (local path or s3:// URI).
	File string `json:"-"`
	// Index is the 0-based index of the record among the data rows (the
	// header row excluded). Row numbers shown to people are Index+1.
	Index int64 `json:"index"`
	// Line is the 1-based line of a CSV record's first line (0 for Parquet).
	Line int64 `json:"line,omitempty"`
	// Offset is the byte offset of the record's start in a plain CSV file,
	// or -1 where the input cannot be entered by seeking (gzip).
	Offset int64 `json:"offset"`
	// RowGroup and GroupRow locate a Parquet row: the row group and the
	// 0-based row inside it.
	RowGroup int   `json:"row_group,omitempty"`
	GroupRow int64 `json:"group_row,omitempty"`
}

// Row returns the 1-based data row number people see in messages.
func (p Position) Row() int64 { return p.Index + 1 }

// String formats the position for messages: "file row N (line L)".
func (p Position) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s row %d (line %d)", p.File, p.Row(), p.Line)
	}
	return fmt.Sprintf("%s row %d", p.File, p.Row())
}

// Identity tells one version of an input from another: size and modification
// time for local files, ETag and size for S3 objects.
type Identity struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time,omitzero"`
	ETag    string    `json:"etag,omitempty"`
}

// Equal reports whether two identities describe the same version of a file.
func (id Identity) Equal(o Identity) bool {
	return id.Size == o.Size && id.ModTime.Equal(o.ModTime) && id.ETag == o.ETag
}

// Record is one data row of an input. Text formats (CSV) fill Text with the
// cells as written; typed formats (Parquet) fill Values. Value and Len read
// either, so callers need not care which.
type Record struct {
	Pos    Position
	Text   []string
	Values []Value
}

// Len is the number of cells.
func (r Record) Len() int {
	if r.Values != nil {
		return len(r.Values)
	}
	return len(r.Text)
}

// Value returns cell i typed: as stored for typed formats, as a string (or
// null when empty) for text formats. Keeping CSV cells as the strings the
// parser made, and typing them only when read, saves a Value per cell.
func (r Record) Value(i int) Value {
	if r.Values != nil {
		return r.Values[i]
	}
	return StringValue(r.Text[i])
}

// Strings returns the record's cells as text, as they were written (nulls
// become empty strings), for rejects files.
func (r Record) Strings() []string {
	if r.Values == nil {
		return r.Text
	}
	out := make([]string, len(r.Values))
	for i, v := range r.Values {
		out[i] = v.String()
	}
	return out
}

// Format is the file format of an input.
type Format string

// The formats Open understands. FormatAuto picks by extension: .parquet is
// Parquet, anything else CSV (gzip'd when it ends in .gz).
const (
	FormatAuto    Format = "auto"
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
)

// NoQuote is Options.Quote for text without quoting.
const NoQuote rune = -1

// Options configures Open.
type Options struct {
	Format Format
	// Delimiter separates CSV fields; ',' when zero.
	Delimiter rune
	// Quote is the CSV quote character (ASCII): '"' when zero; NoQuote
	// reads quotes as data.
	Quote rune
	// Escape, when '\\', reads backslash escapes as PostgreSQL's text
	// format and MySQL write them (see csvDialect); 0 reads none.
	Escape rune
	// NoHeader says the CSV input has no header row: Names are its
	// columns, and its first line is a record.
	NoHeader bool
	Names    []string
	// TextNullMarker reads an unquoted \N as the text it is; by default
	// it is null, as PostgreSQL's text format, MySQL, Hive and Snowflake
	// write NULL.
	TextNullMarker bool
	// Columns, when not nil, are the only columns a columnar format
	// (Parquet) needs to read; Reader.Columns then lists those of them the
	// input has. CSV reads every column whatever it says.
	Columns []string
	// Encoding is the text encoding of CSV inputs (see LookupEncoding);
	// "" is UTF-8.
	Encoding string
	// MaxRecordBytes bounds one CSV record as written: a longer one is read
	// past without being held and comes back as a *ParseError. 0 means
	// DefaultMaxRecordBytes.
	MaxRecordBytes int
	// Start, when non-zero, resumes reading at a Position previously
	// returned by Reader.Pos or carried by a Record.
	Start *Position
	// Stop, when set, ends the input at the record with this Index: Next
	// returns io.EOF there. With Start it reads one part of a file, such as
	// a range of Parquet row groups (see Splits).
	Stop *Position
	// S3 configures access to s3:// inputs.
	S3 S3Options
}

// S3Options says how to reach S3 or an S3-compatible store.
type S3Options struct {
	Region    string
	Endpoint  string
	PathStyle bool
	// Client, when set, is used for every object instead of a client made
	// per input by NewS3Client: one credential chain for a whole run (with
	// web identity or an instance role, a new client fetches credentials
	// again).
	Client *s3.Client `json:"-"`
}

// client returns o.Client, or a new one made by NewS3Client.
func (o S3Options) client(ctx context.Context) (*s3.Client, error) {
	if o.Client != nil {
		return o.Client, nil
	}
	return NewS3Client(ctx, o)
}

// ErrChanged is returned by Open when a resume position does not fit the
// input (for example it lies beyond the end of the file).
var ErrChanged = errors.New("input changed since the position was taken")

// ParseError reports a record that could not be read: that record alone
// (see Reader). It names the file and where in it the problem is.
type ParseError struct {
	File string
	Row  int64 // 1-based data row, 0 when unknown
	Line int64 // 1-based line, 0 when unknown
	// Rule names the kind of problem for reports: csv.quote, csv.fields,
	// csv.size, csv.encoding; empty when not classified.
	Rule string
	// Column is the column the problem is in, when it is in one.
	Column string
	Err    error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Row > 0:
		return fmt.Sprintf("%s row %d (line %d): %v", e.File, e.Row, e.Line, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
	case e.Row > 0:
		return fmt.Sprintf("%s row %d: %v", e.File, e.Row, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// InputError reports an input that cannot be used at all, found before
// any of it is read: nothing matches a pattern, an S3 object does not
// exist, a path is not a regular file. It is a usage error, not a failure
// a rerun could get past.
type InputError struct {
	Op    string // "open", or "" when the message says it all
	Input string
	Msg   string
	Err   error // the cause, if any
}

func (e *InputError) Error() string {
	if e.Op != "" {
		return e.Op + " " + e.Input + ": " + e.Msg
	}
	return e.Input + ": " + e.Msg
}
func (e *InputError) Unwrap() error { return e.Err }

// ReadError is a fatal error reading an input (see Reader): the input
// cannot be read on from Where.
type ReadError struct {
	File  string
	Where string // e.g. "after row 12 (line 13), byte 4096"; "" when unknown
	Err   error
}

func (e *ReadError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.File, e.Where, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// ChangedError is a local input that changed while it was being read: it
// was cut short, grew, was rewritten in place, or its name now names
// another file or none. Reading it stops there (a fatal error, see Reader):
// the rows read before it were the file as opened.
type ChangedError struct {
	File   string
	Opened Identity // when opened
	Now    Identity // now, of the file the name names (zero when Gone)
	// Read is how many bytes of it were read, -1 when not counted (random
	// reads).
	Read int64
	// InPlace is set when the name still names the file opened: it was cut,
	// grown or rewritten in place. Otherwise it was replaced (renamed over)
	// or removed (Gone).
	InPlace bool
	Gone    bool
}

func (e *ChangedError) Error() string {
	switch {
	case e.Gone:
		return "changed while it was being read: removed (" + Thousands(e.Opened.Size) + " bytes when opened)"
	case !e.InPlace:
		return fmt.Sprintf("changed while it was being read: replaced by another file (%s bytes when opened, modified %s; %s bytes now, modified %s)",
			Thousands(e.Opened.Size), e.Opened.ModTime.Format(time.RFC3339), Thousands(e.Now.Size), e.Now.ModTime.Format(time.RFC3339))
	case e.Now.Size != e.Opened.Size:
		return fmt.Sprintf("changed while it was being read: %s bytes when opened, %s now", Thousands(e.Opened.Size), Thousands(e.Now.Size))
	case e.Read >= 0 && e.Read != e.Opened.Size:
		return fmt.Sprintf("changed while it was being read: %s bytes when opened, only %s could be read", Thousands(e.Opened.Size), Thousands(e.Read))
	}
	return fmt.Sprintf("changed while it was being read: modified %s when opened, %s now (%s bytes)",
		e.Opened.ModTime.Format(time.RFC3339Nano), e.Now.ModTime.Format(time.RFC3339Nano), Thousands(e.Now.Size))
}

// Is makes a file replaced or removed while read an ErrChanged, like an S3
// object replaced: a new version, not the one being read, repaired. A file
// changed in place is not (it may be whole again later, and resumed).
func (e *ChangedError) Is(target error) bool { return target == ErrChanged && !e.InPlace }

// thousands formats n with commas: 11,114,058.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

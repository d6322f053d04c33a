package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// DefaultEndpoint is Insider's Upsert URL.
const DefaultEndpoint = "https://unification.useinsider.com" + upsert.Path

// Config is a decoded import config. LoadConfig fills it from YAML and
// applies defaults; Validate checks it against the input columns.
type Config struct {
	File     string // path of the YAML file, for messages
	Source   SourceConfig
	Insider  InsiderConfig
	Delivery DeliveryConfig
	Events   EventsConfig
	Mapping  Mapping
	Metrics  MetricsConfig
	Verify   VerifyConfig // see verifyconfig.go
}

// MetricsConfig says where a batch run pushes its Prometheus metrics.
type MetricsConfig struct {
	// Pushgateway is the base URL of a Prometheus Pushgateway; "" pushes
	// nothing.
	Pushgateway string
	// Job is the Pushgateway job label (default insider-import); the shard
	// index is the other grouping label.
	Job string
	// PushInterval is how often metrics are pushed during a run (default 20s).
	PushInterval time.Duration
	at           map[string]Pos
}

// SourceConfig says where the inputs are and how to read them.
type SourceConfig struct {
	Paths     []string
	Format    readers.Format
	Delimiter rune
	// Encoding is the CSV text encoding (readers.LookupEncoding); "" is
	// UTF-8.
	Encoding string
	// MaxRecordBytes bounds one CSV record (0: readers.DefaultMaxRecordBytes);
	// a longer one is rejected.
	MaxRecordBytes int
	// NullValues are cell texts that mean "absent", besides the empty cell
	// (e.g. NULL, \N).
	NullValues []string
	S3         readers.S3Options
	// OnChange is what a run does with an input that differs from the one
	// the checkpoint recorded (finished or partly imported): OnChangeStop
	// (the default), OnChangeReimport or OnChangeSkip. A partly imported
	// input that is gone stops the run unless it is OnChangeSkip.
	OnChange string
	// MinAge, when set, leaves local files modified less than this long ago
	// for a later run (they are listed as waiting): an export still being
	// written is not read.
	MinAge time.Duration
	at     Pos

	// The text dialect (source.csv): Quote is the quote character ('"'
	// when 0, readers.NoQuote for none), Escape '\\' reads backslash
	// escapes; NoHeader says the files have no header row and Columns
	// names their columns.
	Quote    rune
	Escape   rune
	NoHeader bool
	Columns  []string
	// TextNullMarker reads an unquoted \N as text (source.csv.null_marker:
	// ""); by default it is null.
	TextNullMarker bool
	// ColumnsInsensitive matches mapped columns to the header whatever
	// their case (source.columns_case: insensitive).
	ColumnsInsensitive bool
}

// The choices of source.on_change.
const (
	OnChangeStop     = "stop"
	OnChangeReimport = "reimport"
	OnChangeSkip     = "skip"
)

// InsiderConfig is the account and request options.
type InsiderConfig struct {
	Endpoint         string
	Partner          string
	APIKeyEnv        string
	APIKeyFile       string
	ErrorCallbackURL string
	// Profiles are the accounts one config imports into (uat, production),
	// by name; UseProfile picks one (see verifyconfig.go).
	Profiles map[string]InsiderProfile
	// Profile is the name of the profile in use, "" without profiles.
	Profile string
	// NotAppend is set by array_attributes: overwrite; every user then
	// carries "not_append": true.
	NotAppend bool
	at        map[string]Pos
}

// DeliveryConfig shapes batches and the request rate.
type DeliveryConfig struct {
	BatchUsers        int
	BatchBytes        int
	Workers           int
	RequestsPerSecond float64
	MaxAttempts       int
	Timeout           time.Duration
	// GiveUpAfter bounds retries that do not use up MaxAttempts (429s,
	// timeouts): the run fails once no request has succeeded for this long.
	GiveUpAfter time.Duration
	// RejectsExitCode is delivery.rejects_exit_code: the exit code of a run
	// that finished with rejected rows, 3 (nil) or 0 (a CronJob whose data
	// always holds a few, alerting on insider_import_rows_rejected instead).
	RejectsExitCode *int
}

// EventsConfig is the TTL filter.
type EventsConfig struct {
	TTL             map[string]time.Duration // by event name; "default" for the rest
	FutureTolerance time.Duration
	builtin         map[string]bool // TTL names applyDefaults set, not the config
}

// Builtin reports whether the TTL of name (an event name or "default") is
// the built-in one, not set in the config.
func (e EventsConfig) Builtin(name string) bool { return e.builtin[name] }

// TTLFor returns the TTL of an event name.
func (e EventsConfig) TTLFor(name string) time.Duration {
	if d, ok := e.TTL[name]; ok {
		return d
	}
	return e.TTL["default"]
}

// Mapping turns columns into identifiers, attributes and events.
type Mapping struct {
	Identifiers []Field // Name is email, phone_number, uuid, or a custom name with Custom set
	Attributes  []Field // Custom set for those under attributes.custom
	Events      []EventSpec
}

// EventSpec maps columns to one event per row.
type EventSpec struct {
	Name       string // fixed name, or
	NameColumn *Field // the column holding it
	Timestamp  Field
	Params     []Field
	at         Pos
}

// Field is one mapped value: from a column (short form "name: column") or
// a constant (value:), with a type and its parsing options.
type Field struct {
	Name      string
	Custom    bool
	Column    string
	Type      FieldType
	Layout    string         // Go layout, "rfc3339" or unix, unix_ms, unix_us, unix_ns for date and datetime
	Timezone  *time.Location // for text without a zone; nil when not set
	DST       string         // "", "earlier" or "later": which instant a wall clock in a DST gap or overlap is
	Separator string         // for arrays
	Format    string         // of array cells: "separator" (default), "json", "postgres" or "brackets"
	Decimal   string         // "." (default) or "," for numbers
	Thousands string         // "" (none), ".", ",", " " or "'": the digit group separator of numbers
	Value     *string
	// Wants is the JSON type Insider expects of a default field, 0 when
	// free (custom fields).
	Wants upsert.Type
	// At is where the field is declared, for problems found later (a
	// column missing from an input's header).
	At    Pos
	typed bool // the YAML declared type:
}

// FieldType is a declared type in the mapping.
type FieldType string

// The mapping types.
const (
	TypeString   FieldType = "string"
	TypeNumber   FieldType = "number"
	TypeInteger  FieldType = "integer"
	TypeBoolean  FieldType = "boolean"
	TypeDate     FieldType = "date"
	TypeDateTime FieldType = "datetime"
	TypeArray    FieldType = "array"
)

var fieldTypes = []FieldType{TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeDate, TypeDateTime, TypeArray}

// A ValueCheck converts the constant (value:) of field f as a row's cell
// would be converted, and returns why no row could send it. Load and Parse
// run it on every constant, so that such a constant is a config problem
// with its line, not a reject on every row; the conversion belongs to the
// package that encodes rows (importer.CheckValue), which imports this one.
type ValueCheck func(f *Field, value string) error

// Load reads and strictly decodes a YAML config, applies defaults and
// checks everything that does not need the input files, the constants
// with checks. Every problem is reported at once in a *ConfigError.
func Load(path string, checks ...ValueCheck) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b, checks...)
}

// Parse is Load for YAML already in memory; name is used in messages.
func Parse(name string, b []byte, checks ...ValueCheck) (*Config, error) {
	f, err := parseYAML(b)
	if err != nil {
		return nil, &ConfigError{Problems: []ConfigProblem{{File: name, Msg: strings.TrimSpace(err.Error())}}}
	}
	w := &walker{file: name, checks: checks}
	c := &Config{File: name}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		w.addf(nil, "the config is empty")
	} else {
		if len(f.Docs) > 1 {
			w.addf(f.Docs[1].Body, "only one YAML document is allowed")
		}
		c.decode(w, f.Docs[0].Body)
	}
	c.applyDefaults()
	c.check(w)
	if len(w.problems) > 0 {
		sortProblems(w.problems)
		return nil, &ConfigError{Problems: w.problems}
	}
	return c, nil
}

// sortProblems puts problems in the order of the file, those without a
// line last, so that a user fixes them top to bottom.
func sortProblems(ps []ConfigProblem) {
	slices.SortStableFunc(ps, func(a, b ConfigProblem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// parseYAML parses b, turning a panic in the YAML parser (which fuzzing can
// provoke) into an error: a config file must never crash the program.
func parseYAML(b []byte) (f *ast.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file (%v); check its syntax", p)
		}
	}()
	return parser.ParseBytes(b, 0)
}

func (c *Config) decode(w *walker, root ast.Node) {
	sawSource, sawMapping := false, false
	w.mapping(root, "config", []string{"source", "insider", "delivery", "events", "mapping", "metrics", "verify"}, func(key string, k, v ast.Node) {
		switch key {
		case "source":
			sawSource = true
			c.Source.at = pos(k)
			c.decodeSource(w, v)
		case "insider":
			c.decodeInsider(w, v)
		case "delivery":
			c.decodeDelivery(w, v)
		case "events":
			c.decodeEvents(w, v)
		case "mapping":
			sawMapping = true
			c.decodeMapping(w, v)
		case "metrics":
			c.decodeMetrics(w, v)
		case "verify":
			c.decodeVerify(w, v)
		}
	})
	if !sawSource {
		w.addf(root, "source: missing (source.paths names the input files)")
	}
	if !sawMapping {
		w.addf(root, "mapping: missing")
	}
}

// decodeDelivery reads the delivery section: batch limits, workers, rate,
// attempts and time limits, each within its bounds.
func (c *Config) decodeDelivery(w *walker, v ast.Node) {
	d := &c.Delivery
	w.mapping(v, "delivery", []string{"batch_users", "batch_bytes", "workers", "requests_per_second", "max_attempts", "timeout", "give_up_after", "rejects_exit_code"}, func(key string, _, v ast.Node) {
		where := "delivery." + key
		switch key {
		case "batch_users":
			w.integer(v, where, &d.BatchUsers)
			if d.BatchUsers < 1 || d.BatchUsers > upsert.MaxUsers {
				w.addf(v, "%s must be between 1 and %d", where, upsert.MaxUsers)
			}
		case "batch_bytes":
			w.integer(v, where, &d.BatchBytes)
			if d.BatchBytes < 1000 || d.BatchBytes > upsert.MaxBytes {
				w.addf(v, "%s must be between 1000 and %d", where, upsert.MaxBytes)
			}
		case "workers":
			w.integer(v, where, &d.Workers)
			if d.Workers < 1 || d.Workers > 256 {
				w.addf(v, "%s must be between 1 and 256", where)
			}
		case "requests_per_second":
			w.float(v, where, &d.RequestsPerSecond)
			if d.RequestsPerSecond <= 0 {
				w.addf(v, "%s must be above 0", where)
			}
		case "max_attempts":
			w.integer(v, where, &d.MaxAttempts)
			if d.MaxAttempts < 1 {
				w.addf(v, "%s must be at least 1", where)
			}
		case "timeout":
			w.duration(v, where, &d.Timeout)
		case "give_up_after":
			w.duration(v, where, &d.GiveUpAfter)
			if d.GiveUpAfter <= 0 {
				w.addf(v, "%s must be above 0", where)
			}
		case "rejects_exit_code":
			var code int
			w.integer(v, where, &code)
			if code != 0 && code != 3 {
				w.addf(v, "%s must be 3 (the default) or 0", where)
			}
			d.RejectsExitCode = &code
		}
	})
}

// decodeEvents reads the events section: the TTL of each event name (or
// the default) and how far in the future a timestamp may lie.
func (c *Config) decodeEvents(w *walker, v ast.Node) {
	w.mapping(v, "events", []string{"ttl", "future_tolerance"}, func(key string, _, v ast.Node) {
		switch key {
		case "ttl":
			c.Events.TTL = map[string]time.Duration{}
			w.mapping(v, "events.ttl", nil, func(name string, k, v ast.Node) {
				if name != "default" && !upsert.ValidEventName(name) {
					w.addf(k, "events.ttl: %q is not an event name (lowercase letters, digits and _)", name)
				}
				var d time.Duration
				w.duration(v, "events.ttl."+name, &d)
				c.Events.TTL[name] = d
			})
		case "future_tolerance":
			w.duration(v, "events.future_tolerance", &c.Events.FutureTolerance)
		}
	})
}

func (c *Config) decodeSource(w *walker, v ast.Node) {
	s := &c.Source
	w.mapping(v, "source", []string{"paths", "format", "csv", "s3", "null_values", "on_change", "min_age", "columns_case"}, func(key string, k, v ast.Node) {
		switch key {
		case "on_change":
			w.str(v, "source.on_change", &s.OnChange)
			if !slices.Contains([]string{OnChangeStop, OnChangeReimport, OnChangeSkip}, s.OnChange) {
				w.addf(v, "source.on_change must be stop, reimport or skip, not %q", s.OnChange)
			}
		case "min_age":
			w.duration(v, "source.min_age", &s.MinAge)
			if s.MinAge < 0 {
				w.addf(v, "source.min_age must not be negative")
			}
		case "paths":
			w.strings(v, "source.paths", &s.Paths)
		case "format":
			var f string
			w.str(v, "source.format", &f)
			s.Format = readers.Format(f)
			if !slices.Contains([]readers.Format{readers.FormatAuto, readers.FormatCSV, readers.FormatParquet}, s.Format) {
				w.addf(v, "source.format must be auto, csv or parquet, not %q", f)
			}
		case "null_values":
			s.decodeNullValues(w, v)
		case "csv":
			s.decodeCSV(w, v)
		case "s3":
			s.decodeS3(w, v)
		case "columns_case":
			var c string
			w.str(v, "source.columns_case", &c)
			switch c {
			case "sensitive":
			case "insensitive":
				s.ColumnsInsensitive = true
			default:
				w.addf(v, "source.columns_case must be sensitive or insensitive, not %q", c)
			}
		}
	})
	if len(s.Paths) == 0 {
		w.addAt(s.at, "source.paths: name at least one file, glob or s3:// prefix")
	}
}

// decodeNullValues reads source.null_values: one text or a list of the
// cell texts that mean "no value".
func (s *SourceConfig) decodeNullValues(w *walker, v ast.Node) {
	// NULL, null and ~ are YAML's own nulls; here they are the
	// cell texts meant, as written.
	if seq, ok := v.(*ast.SequenceNode); ok {
		for _, e := range seq.Values {
			if n, isNull := unwrap(e).(*ast.NullNode); isNull {
				if t := n.GetToken(); t != nil && t.Value != "" {
					s.NullValues = append(s.NullValues, t.Value)
				}
				continue
			}
			if str, ok := w.scalar(unwrap(e), "source.null_values"); ok && str != "" {
				s.NullValues = append(s.NullValues, str)
			}
		}
		return
	}
	if n, isNull := v.(*ast.NullNode); isNull && n.GetToken() != nil && n.GetToken().Value != "" && n.GetToken().Value != "null" {
		s.NullValues = []string{n.GetToken().Value}
		return
	}
	w.strings(v, "source.null_values", &s.NullValues)
}

// decodeCSV reads source.csv: the delimiter (one character, "tab" or \t
// for a tab), the text encoding, the longest record and the dialect
// (decodeDialect).
func (s *SourceConfig) decodeCSV(w *walker, v ast.Node) {
	var header *bool
	var headerAt ast.Node
	w.mapping(v, "source.csv", []string{"delimiter", "encoding", "max_record_bytes", "header", "columns", "quote", "escape", "null_marker"}, func(key string, _, v ast.Node) {
		switch key {
		case "header", "columns", "quote", "escape", "null_marker":
			if key == "header" {
				header, headerAt = new(bool), v
				w.boolean(v, "source.csv.header", header)
			}
			s.decodeDialect(w, key, v)
		case "delimiter":
			var d string
			w.str(v, "source.csv.delimiter", &d)
			if d == `\t` || d == "tab" {
				d = "\t"
			}
			r, n := utf8.DecodeRuneInString(d)
			if n == 0 || n != len(d) || r == '"' || r == '\n' || r == '\r' {
				w.addf(v, "source.csv.delimiter must be one character other than a quote or newline, not %q", d)
				return
			}
			s.Delimiter = r
		case "encoding":
			w.str(v, "source.csv.encoding", &s.Encoding)
			if _, err := readers.LookupEncoding(s.Encoding); err != nil {
				w.addf(v, "source.csv.encoding: %v", err)
			}
		case "max_record_bytes":
			w.integer(v, "source.csv.max_record_bytes", &s.MaxRecordBytes)
			if s.MaxRecordBytes < 1024 || s.MaxRecordBytes > 1<<30 {
				w.addf(v, "source.csv.max_record_bytes must be between 1024 and %d", 1<<30)
			}
		}
	})
	switch {
	case header != nil && !*header && len(s.Columns) == 0:
		w.addf(headerAt, "source.csv.header: false needs source.csv.columns, the files' columns in order")
	case len(s.Columns) > 0 && (header == nil || *header):
		w.addf(v, "source.csv.columns names the columns of files without a header row; set source.csv.header: false too")
	}
	s.NoHeader = header != nil && !*header
	if s.Quote != 0 && s.Quote == s.Delimiter || s.Escape != 0 && s.Escape == s.Delimiter {
		w.addf(v, "source.csv: the delimiter cannot also be the quote or the escape character")
	}
}

// decodeDialect reads the text dialect keys of source.csv: columns (of
// files without a header row), quote ("" for none), escape (\ or "") and
// null_marker (\N, or "" to read an unquoted \N as text).
func (s *SourceConfig) decodeDialect(w *walker, key string, v ast.Node) {
	switch key {
	case "null_marker":
		var m string
		w.str(v, "source.csv.null_marker", &m)
		switch m {
		case `\N`:
		case "":
			s.TextNullMarker = true
		default:
			w.addf(v, `source.csv.null_marker must be "\\N" (an unquoted \N is null, the default) or "" (it is text), not %q; other null texts go in source.null_values`, m)
		}
	case "columns":
		w.strings(v, "source.csv.columns", &s.Columns)
		seen := map[string]bool{}
		for _, c := range s.Columns {
			if c == "" || seen[c] {
				w.addf(v, "source.csv.columns: %q is empty or named twice", c)
			}
			seen[c] = true
		}
	case "quote":
		var q string
		w.str(v, "source.csv.quote", &q)
		switch {
		case q == "":
			s.Quote = readers.NoQuote
		case len(q) == 1 && q[0] > ' ' && q[0] < 0x7f && q[0] != '\\':
			s.Quote = rune(q[0])
		default:
			w.addf(v, "source.csv.quote must be one ASCII character, or \"\" for no quoting, not %q", q)
		}
	case "escape":
		var e string
		w.str(v, "source.csv.escape", &e)
		switch e {
		case "":
		case `\`:
			s.Escape = '\\'
		default:
			w.addf(v, `source.csv.escape must be "\\" (backslash escapes, as PostgreSQL's text format and MySQL write them) or "", not %q`, e)
		}
	}
}

// decodeS3 reads source.s3: where S3 inputs are read from.
func (s *SourceConfig) decodeS3(w *walker, v ast.Node) {
	w.mapping(v, "source.s3", []string{"region", "endpoint", "path_style"}, func(key string, _, v ast.Node) {
		switch key {
		case "region":
			w.str(v, "source.s3.region", &s.S3.Region)
		case "endpoint":
			w.str(v, "source.s3.endpoint", &s.S3.Endpoint)
		case "path_style":
			w.boolean(v, "source.s3.path_style", &s.S3.PathStyle)
		}
	})
}

func (c *Config) decodeInsider(w *walker, v ast.Node) {
	in := &c.Insider
	in.at = map[string]Pos{}
	w.mapping(v, "insider", []string{"endpoint", "partner", "api_key_env", "api_key_file", "error_callback_url", "array_attributes", "profiles"}, func(key string, k, v ast.Node) {
		in.at[key] = pos(v)
		where := "insider." + key
		switch key {
		case "endpoint":
			w.str(v, where, &in.Endpoint)
		case "partner":
			w.str(v, where, &in.Partner)
		case "api_key_env":
			w.str(v, where, &in.APIKeyEnv)
		case "api_key_file":
			w.str(v, where, &in.APIKeyFile)
		case "error_callback_url":
			w.str(v, where, &in.ErrorCallbackURL)
		case "profiles":
			in.decodeProfiles(w, v)
		case "array_attributes":
			var s string
			w.str(v, where, &s)
			switch s {
			case "append":
			case "overwrite":
				in.NotAppend = true
			default:
				w.addf(v, "%s must be append or overwrite, not %q", where, s)
			}
		}
	})
}

func (c *Config) decodeMetrics(w *walker, v ast.Node) {
	m := &c.Metrics
	m.at = map[string]Pos{}
	w.mapping(v, "metrics", []string{"pushgateway", "job", "push_interval"}, func(key string, _, v ast.Node) {
		m.at[key] = pos(v)
		where := "metrics." + key
		switch key {
		case "pushgateway":
			w.str(v, where, &m.Pushgateway)
		case "job":
			w.str(v, where, &m.Job)
		case "push_interval":
			w.duration(v, where, &m.PushInterval)
			if m.PushInterval <= 0 {
				w.addf(v, "%s must be above 0", where)
			}
		}
	})
}

// CheckPushgateway checks a Pushgateway base URL (metrics.pushgateway or
// --pushgateway): http or https with a host.
func CheckPushgateway(s string) error {
	if u, err := url.Parse(s); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.Source.Format == "" {
		c.Source.Format = readers.FormatAuto
	}
	if c.Source.OnChange == "" {
		c.Source.OnChange = OnChangeStop
	}
	if c.Insider.Endpoint == "" {
		c.Insider.Endpoint = DefaultEndpoint
	}
	if c.Insider.APIKeyEnv == "" {
		c.Insider.APIKeyEnv = "INSIDER_API_KEY"
	}
	d := &c.Delivery
	if d.BatchUsers == 0 {
		d.BatchUsers = upsert.MaxUsers
	}
	if d.BatchBytes == 0 {
		d.BatchBytes = 4_500_000
	}
	if d.Workers == 0 {
		d.Workers = 8
	}
	if d.RequestsPerSecond == 0 {
		d.RequestsPerSecond = 300
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = 8
	}
	if d.Timeout == 0 {
		d.Timeout = 60 * time.Second
	}
	if d.GiveUpAfter == 0 {
		d.GiveUpAfter = 30 * time.Minute
	}
	if c.Events.TTL == nil {
		c.Events.TTL = map[string]time.Duration{}
	}
	c.Events.builtin = map[string]bool{}
	if _, ok := c.Events.TTL["default"]; !ok {
		c.Events.TTL["default"] = 90 * 24 * time.Hour
		c.Events.builtin["default"] = true
	}
	if _, ok := c.Events.TTL["purchase"]; !ok {
		c.Events.TTL["purchase"] = 730 * 24 * time.Hour
		c.Events.builtin["purchase"] = true
	}
	if c.Events.FutureTolerance == 0 {
		c.Events.FutureTolerance = 5 * time.Minute
	}
	if c.Metrics.Job == "" {
		c.Metrics.Job = "insider-import"
	}
	if c.Metrics.PushInterval == 0 {
		c.Metrics.PushInterval = 20 * time.Second
	}
}

// check validates what does not depend on the inputs.
func (c *Config) check(w *walker) {
	in := c.Insider
	if u, err := url.Parse(in.Endpoint); err != nil || u.Host == "" {
		w.addAt(in.at["endpoint"], "insider.endpoint %q is not a URL", in.Endpoint)
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		w.addAt(in.at["endpoint"], "insider.endpoint: plain http:// is only allowed for loopback hosts (the API key would travel in clear); use https://")
	} else if u.Scheme != "http" && u.Scheme != "https" {
		w.addAt(in.at["endpoint"], "insider.endpoint must be an https:// URL")
	}
	if in.ErrorCallbackURL != "" {
		if u, err := url.Parse(in.ErrorCallbackURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			w.addAt(in.at["error_callback_url"], "insider.error_callback_url %q is not an http(s) URL", in.ErrorCallbackURL)
		}
	}
	c.checkVerify(w)
	if m := c.Metrics; m.Pushgateway != "" {
		if err := CheckPushgateway(m.Pushgateway); err != nil {
			w.addAt(m.at["pushgateway"], "metrics.pushgateway: %v", err)
		}
	}
	if len(c.Mapping.Identifiers) == 0 {
		w.addf(nil, "mapping.identifiers: map at least one identifier (email, phone_number, uuid or custom)")
	}
	if len(c.Mapping.Attributes) == 0 && len(c.Mapping.Events) == 0 {
		w.addf(nil, "mapping: map at least one attribute or event; Insider needs one of them for every user")
	}
}

// Partner returns the partner name from the config or INSIDER_PARTNER_NAME.
func (c *Config) Partner() string {
	if c.Insider.Partner != "" {
		return c.Insider.Partner
	}
	return os.Getenv("INSIDER_PARTNER_NAME")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Hash returns a hash of everything that shapes the payloads of a given
// input: the mapping, TTLs, array mode, callback URL and how cells are
// read. A checkpoint written under another hash is not resumed.
func (c *Config) Hash() string {
	type fieldKey struct {
		Name, Column, Type, Layout, TZ, DST, Sep, Format, Dec string
		Custom                                                bool
		Value                                                 *string
		Thousands                                             string `json:",omitempty"`
	}
	fk := func(fs []Field) []fieldKey {
		out := make([]fieldKey, len(fs))
		for i, f := range fs {
			tz := ""
			if f.Timezone != nil {
				tz = f.Timezone.String()
			}
			out[i] = fieldKey{f.Name, f.Column, string(f.Type), f.Layout, tz, f.DST, f.Separator, f.Format, f.Decimal, f.Custom, f.Value, f.Thousands}
		}
		return out
	}
	type eventKey struct {
		Name      string
		NameCol   []fieldKey
		Timestamp []fieldKey
		Params    []fieldKey
	}
	var evs []eventKey
	for _, e := range c.Mapping.Events {
		k := eventKey{Name: e.Name, Timestamp: fk([]Field{e.Timestamp}), Params: fk(e.Params)}
		if e.NameColumn != nil {
			k.NameCol = fk([]Field{*e.NameColumn})
		}
		evs = append(evs, k)
	}
	ttl := make([]string, 0, len(c.Events.TTL))
	for k, v := range c.Events.TTL {
		ttl = append(ttl, k+"="+v.String())
	}
	slices.Sort(ttl)
	b, _ := json.Marshal(struct {
		ID, Attr  []fieldKey
		Events    []eventKey
		TTL       []string
		Future    string
		NotAppend bool
		Callback  string
		Format    readers.Format
		Delim     rune
		Nulls     []string
		Enc       string `json:",omitempty"`
		MaxRecord int    `json:",omitempty"`
		// The dialect: omitted when default, so that the hash of a config
		// without them is what it was before they existed.
		Quote    rune     `json:",omitempty"`
		Escape   rune     `json:",omitempty"`
		NoHeader bool     `json:",omitempty"`
		Columns  []string `json:",omitempty"`
		Case     bool     `json:",omitempty"`
		TextN    bool     `json:",omitempty"`
	}{fk(c.Mapping.Identifiers), fk(c.Mapping.Attributes), evs, ttl, c.Events.FutureTolerance.String(),
		c.Insider.NotAppend, c.Insider.ErrorCallbackURL, c.Source.Format, c.Source.Delimiter, c.Source.NullValues,
		c.Source.Encoding, c.Source.MaxRecordBytes,
		c.Source.Quote, c.Source.Escape, c.Source.NoHeader, c.Source.Columns, c.Source.ColumnsInsensitive, c.Source.TextNullMarker})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// JobID names a job: the sources, the account (partner) and the shard. The
// same config run again is the same job and resumes its checkpoint. The
// endpoint is not part of it: the same account reached through another URL
// (a proxy, a port) is the same import; UAT and production differ by
// partner.
func (c *Config) JobID(shardIndex, shardCount int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%s|%d/%d", c.Source.Paths, c.Partner(), shardIndex, shardCount)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

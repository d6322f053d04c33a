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

	header   *bool // source.csv.header as written, nil when absent
	headerAt Pos
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
	builtin         map[string]bool // TTL names the defaults set, not the config
}

// TTLFrom returns the TTL the filter applies to an event name and where
// it comes from: "events.ttl.<name>", "events.ttl.default", or the
// built-in TTL of that name (purchase keeps 730 days unless
// events.ttl.purchase says otherwise: events.ttl.default does not cover
// it).
func (e EventsConfig) TTLFrom(name string) (time.Duration, string) {
	key := name
	if _, ok := e.TTL[name]; !ok {
		key = "default"
	}
	from := "events.ttl." + key
	switch {
	case e.builtin[key] && key == "default":
		from = "built-in default"
	case e.builtin[key]:
		from = "built-in for " + key
		if !e.builtin["default"] {
			from += "; events.ttl.default does not cover it, set events.ttl." + key
		}
	}
	return e.TTL[key], from
}

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
// package that encodes rows (encode.CheckValue), which imports this one.
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
		configSection.decode(w, "", nil, f.Docs[0].Body, c)
	}
	configSection.applyDefaults(w, c)
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

// CheckPushgateway checks a Pushgateway base URL (metrics.pushgateway or
// --pushgateway): http or https with a host.
func CheckPushgateway(s string) error {
	if u, err := url.Parse(s); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// check validates what no key's spec can: the mapping as a whole.
func (c *Config) check(w *walker) {
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

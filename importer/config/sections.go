package config

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// The config's sections, one table each: every key with its default, a
// line for the reference and its decoder (spec.go). The mapping's are in
// mapping.go.

// configSection is the whole file.
var configSection = &section[Config]{specs: []spec[Config]{
	withMissing(sub("source", "where the inputs are and how to read them", sourceSection, func(c *Config) *SourceConfig { return &c.Source }),
		"source: missing (source.paths names the input files)"),
	sub("insider", "the account and what every request carries", insiderSection, func(c *Config) *InsiderConfig { return &c.Insider }),
	sub("delivery", "batches, workers, rate, retries", deliverySection, func(c *Config) *DeliveryConfig { return &c.Delivery }),
	sub("events", "the TTL filter", eventsSection, func(c *Config) *EventsConfig { return &c.Events }),
	withMissing(sub("mapping", "columns to identifiers, attributes and events", mappingSection, func(c *Config) *Mapping { return &c.Mapping }),
		"mapping: missing"),
	sub("metrics", "where a run pushes its Prometheus metrics (optional)", metricsSection, func(c *Config) *MetricsConfig { return &c.Metrics }),
	sub("verify", "reading users back with the profile API (optional)", verifySection, func(c *Config) *VerifyConfig { return &c.Verify }),
}}

func withMissing[T any](sp spec[T], problem string) spec[T] {
	sp.missing = problem
	return sp
}

var sourceSection = &section[SourceConfig]{
	specs: []spec[SourceConfig]{
		texts("paths", "globs, directories, s3:// prefixes of the inputs", func(s *SourceConfig) *[]string { return &s.Paths }),
		choice("format", "the inputs' format",
			func(s *SourceConfig, f string) { s.Format = readers.Format(f) }, func(s *SourceConfig) bool { return s.Format == "" },
			string(readers.FormatAuto), string(readers.FormatCSV), string(readers.FormatParquet)),
		sub("csv", "how CSV and text files are written", csvSection, func(s *SourceConfig) *SourceConfig { return s }),
		sub("s3", "where s3:// inputs are read from", s3Section, func(s *SourceConfig) *readers.S3Options { return &s.S3 }),
		custom("null_values", "", `cell texts that mean "absent", besides the empty cell`, decodeNullValues),
		choice("on_change", "what a run does with an input that differs from the checkpoint's",
			func(s *SourceConfig, v string) { s.OnChange = v }, func(s *SourceConfig) bool { return s.OnChange == "" },
			OnChangeStop, OnChangeReimport, OnChangeSkip),
		described(duration("min_age", "0s", "leave local files modified within it for a later run", func(s *SourceConfig) *time.Duration { return &s.MinAge }, notNegative)),
		choice("columns_case", "how mapped columns match the header",
			func(s *SourceConfig, v string) { s.ColumnsInsensitive = v == "insensitive" }, nil,
			"sensitive", "insensitive"),
	},
	after: func(w *walker, _ string, k, _ ast.Node, s *SourceConfig) {
		if len(s.Paths) == 0 {
			w.addf(k, "source.paths: name at least one file, glob or s3:// prefix")
		}
	},
}

// csvSection is source.csv: the delimiter, the text encoding, the longest
// record and the text dialect.
var csvSection = &section[SourceConfig]{
	specs: []spec[SourceConfig]{
		custom("delimiter", ",", "one character; tab or \\t for a tab", decodeDelimiter),
		described(text("encoding", "utf-8", "utf-8, utf-16 (by its BOM), windows-1252, iso-8859-1, ...", func(s *SourceConfig) *string { return &s.Encoding },
			func(where, e string) string {
				if _, err := readers.LookupEncoding(e); err != nil {
					return fmt.Sprintf("%s: %v", where, err)
				}
				return ""
			})),
		described(whole("max_record_bytes", strconv.Itoa(readers.DefaultMaxRecordBytes), "the longest record; a longer one is rejected",
			func(s *SourceConfig) *int { return &s.MaxRecordBytes }, 1024, 1<<30)),
		custom("header", "true", "false: the files have no header row (name them in columns)", func(w *walker, where string, _, v ast.Node, s *SourceConfig) {
			s.header, s.headerAt = new(bool), pos(v)
			w.boolean(v, where, s.header)
		}),
		custom("columns", "", "the columns of files without a header row, in order", decodeColumns),
		custom("quote", `"`, `the quote character; "" for none`, decodeQuote),
		custom("escape", "", `\ reads backslash escapes (PostgreSQL's text format, MySQL)`, decodeEscape),
		custom("null_marker", `\N`, `"" reads an unquoted \N as text`, decodeNullMarker),
	},
	after: func(w *walker, _ string, _, v ast.Node, s *SourceConfig) {
		switch {
		case s.header != nil && !*s.header && len(s.Columns) == 0:
			w.addAt(s.headerAt, "source.csv.header: false needs source.csv.columns, the files' columns in order")
		case len(s.Columns) > 0 && (s.header == nil || *s.header):
			w.addf(v, "source.csv.columns names the columns of files without a header row; set source.csv.header: false too")
		}
		s.NoHeader = s.header != nil && !*s.header
		if s.Quote != 0 && s.Quote == s.Delimiter || s.Escape != 0 && s.Escape == s.Delimiter {
			w.addf(v, "source.csv: the delimiter cannot also be the quote or the escape character")
		}
	},
}

var s3Section = &section[readers.S3Options]{specs: []spec[readers.S3Options]{
	text("region", "", "the bucket's region", func(o *readers.S3Options) *string { return &o.Region }, nil),
	text("endpoint", "", "an S3-compatible server's URL", func(o *readers.S3Options) *string { return &o.Endpoint }, nil),
	flag("path_style", "false", "path-style addressing (most S3-compatible servers)", func(o *readers.S3Options) *bool { return &o.PathStyle }),
}}

var insiderSection = &section[InsiderConfig]{specs: []spec[InsiderConfig]{
	text("endpoint", DefaultEndpoint, "the Upsert API's URL; http:// only for loopback", func(in *InsiderConfig) *string { return &in.Endpoint }, checkEndpoint),
	text("partner", "", "the partner name; default: INSIDER_PARTNER_NAME", func(in *InsiderConfig) *string { return &in.Partner }, nil),
	text("api_key_env", "INSIDER_API_KEY", "the environment variable holding the API key", func(in *InsiderConfig) *string { return &in.APIKeyEnv }, nil),
	text("api_key_file", "", "a file holding the API key, instead", func(in *InsiderConfig) *string { return &in.APIKeyFile }, nil),
	text("error_callback_url", "", `sent as "error_callback_endpoint"`, func(in *InsiderConfig) *string { return &in.ErrorCallbackURL },
		func(where, s string) string {
			if u, err := url.Parse(s); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				return fmt.Sprintf("%s %q is not an http(s) URL", where, s)
			}
			return ""
		}),
	choice("array_attributes", `array attributes: overwrite sends "not_append": true per user`,
		func(in *InsiderConfig, s string) { in.NotAppend = s == "overwrite" }, nil, "append", "overwrite"),
	{key: "profiles", doc: "the accounts one config imports into, by name (run --profile)", decode: decodeProfiles, sub: nested{".<name>", profileSection}},
}}

// profileSection is one account of insider.profiles.
var profileSection = &section[InsiderProfile]{specs: []spec[InsiderProfile]{
	text("partner", "", "the account's partner name (required)", func(p *InsiderProfile) *string { return &p.Partner }, nil),
	text("api_key_env", "", "its key's environment variable", func(p *InsiderProfile) *string { return &p.APIKeyEnv }, nil),
	text("api_key_file", "", "or file", func(p *InsiderProfile) *string { return &p.APIKeyFile }, nil),
}}

var deliverySection = &section[DeliveryConfig]{specs: []spec[DeliveryConfig]{
	whole("batch_users", strconv.Itoa(upsert.MaxUsers), "users per request", func(d *DeliveryConfig) *int { return &d.BatchUsers }, 1, upsert.MaxUsers),
	whole("batch_bytes", "4500000", "encoded JSON per request", func(d *DeliveryConfig) *int { return &d.BatchBytes }, 1000, upsert.MaxBytes),
	whole("workers", "8", "requests in flight", func(d *DeliveryConfig) *int { return &d.Workers }, 1, 256),
	positive("requests_per_second", "300", "ceiling shared by all workers, split across shards", func(d *DeliveryConfig) *float64 { return &d.RequestsPerSecond }),
	whole("max_attempts", "8", "for 5xx, dropped connections, 200s that are not Insider's", func(d *DeliveryConfig) *int { return &d.MaxAttempts }, 1, 0),
	duration("timeout", "60s", "per request", func(d *DeliveryConfig) *time.Duration { return &d.Timeout }, anyDuration),
	duration("give_up_after", "30m", "429s and timeouts retry until no request succeeded this long", func(d *DeliveryConfig) *time.Duration { return &d.GiveUpAfter }, aboveZero),
	custom("rejects_exit_code", "3", "exit code of a run that finished with rejected rows: 3 or 0", func(w *walker, where string, _, v ast.Node, d *DeliveryConfig) {
		var code int
		w.integer(v, where, &code)
		if code != 0 && code != 3 {
			w.addf(v, "%s must be 3 (the default) or 0", where)
		}
		d.RejectsExitCode = &code
	}),
}}

var eventsSection = &section[EventsConfig]{
	specs: []spec[EventsConfig]{
		custom("ttl", "{default: 90d, purchase: 730d}", "drop events older than now − ttl, by event name; purchase keeps 730d unless set", decodeTTL),
		duration("future_tolerance", "5m", "drop events further in the future", func(e *EventsConfig) *time.Duration { return &e.FutureTolerance }, anyDuration),
	},
	defaults: func(e *EventsConfig) {
		if e.TTL == nil {
			e.TTL = map[string]time.Duration{}
		}
		e.builtin = map[string]bool{}
		for name, days := range map[string]time.Duration{"default": 90, "purchase": 730} {
			if _, ok := e.TTL[name]; !ok {
				e.TTL[name] = days * 24 * time.Hour
				e.builtin[name] = true
			}
		}
	},
}

var metricsSection = &section[MetricsConfig]{specs: []spec[MetricsConfig]{
	text("pushgateway", "", "a Pushgateway's base URL; none: nothing pushed", func(m *MetricsConfig) *string { return &m.Pushgateway },
		func(where, s string) string {
			if err := CheckPushgateway(s); err != nil {
				return fmt.Sprintf("%s: %v", where, err)
			}
			return ""
		}),
	text("job", "insider-import", "the job label; give each CronJob its own", func(m *MetricsConfig) *string { return &m.Job }, nil),
	duration("push_interval", "20s", "how often a run pushes", func(m *MetricsConfig) *time.Duration { return &m.PushInterval }, aboveZero),
}}

var verifySection = &section[VerifyConfig]{specs: []spec[VerifyConfig]{
	text("endpoint", "", "the profile API's URL; default: insider.endpoint with "+upsert.ProfilePath, func(v *VerifyConfig) *string { return &v.Endpoint },
		func(where, s string) string {
			if u, err := url.Parse(s); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
				return fmt.Sprintf("%s %q is not an https:// URL", where, s)
			} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				return where + ": plain http:// is only allowed for loopback hosts (the API key would travel in clear); use https://"
			}
			return ""
		}),
	text("api_key_env", "", "the profile API key's environment variable; default: insider's key", func(v *VerifyConfig) *string { return &v.APIKeyEnv }, nil),
	text("api_key_file", "", "or file", func(v *VerifyConfig) *string { return &v.APIKeyFile }, nil),
	whole("sample", "20", "users verify reads back (verify --n)", func(v *VerifyConfig) *int { return &v.Sample }, 1, 0),
}}

// checkEndpoint checks insider.endpoint: https, or http to a loopback
// host.
func checkEndpoint(where, s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return fmt.Sprintf("%s %q is not a URL", where, s)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return where + ": plain http:// is only allowed for loopback hosts (the API key would travel in clear); use https://"
	case u.Scheme != "http" && u.Scheme != "https":
		return where + " must be an https:// URL"
	}
	return ""
}

// decodeTTL reads events.ttl: the TTL of each event name, or default.
func decodeTTL(w *walker, where string, _, v ast.Node, e *EventsConfig) {
	e.TTL = map[string]time.Duration{}
	w.mapping(v, where, nil, func(name string, k, v ast.Node) {
		if name != "default" && !upsert.ValidEventName(name) {
			w.addf(k, "%s: %q is not an event name (lowercase letters, digits and _)", where, name)
		}
		var d time.Duration
		w.duration(v, where+"."+name, &d)
		e.TTL[name] = d
	})
}

// decodeNullValues reads source.null_values: one text or a list of the
// cell texts that mean "no value".
func decodeNullValues(w *walker, where string, _, v ast.Node, s *SourceConfig) {
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
			if str, ok := w.scalar(unwrap(e), where); ok && str != "" {
				s.NullValues = append(s.NullValues, str)
			}
		}
		return
	}
	if n, isNull := v.(*ast.NullNode); isNull && n.GetToken() != nil && n.GetToken().Value != "" && n.GetToken().Value != "null" {
		s.NullValues = []string{n.GetToken().Value}
		return
	}
	w.strings(v, where, &s.NullValues)
}

// decodeDelimiter reads source.csv.delimiter: one character, "tab" or \t
// for a tab.
func decodeDelimiter(w *walker, where string, _, v ast.Node, s *SourceConfig) {
	var d string
	w.str(v, where, &d)
	if d == `\t` || d == "tab" {
		d = "\t"
	}
	r, n := utf8.DecodeRuneInString(d)
	if n == 0 || n != len(d) || r == '"' || r == '\n' || r == '\r' {
		w.addf(v, "%s must be one character other than a quote or newline, not %q", where, d)
		return
	}
	s.Delimiter = r
}

// decodeColumns reads source.csv.columns, each named once.
func decodeColumns(w *walker, where string, _, v ast.Node, s *SourceConfig) {
	w.strings(v, where, &s.Columns)
	seen := map[string]bool{}
	for _, c := range s.Columns {
		if c == "" || seen[c] {
			w.addf(v, "%s: %q is empty or named twice", where, c)
		}
		seen[c] = true
	}
}

// decodeQuote reads source.csv.quote: one ASCII character, or "" for none.
func decodeQuote(w *walker, where string, _, v ast.Node, s *SourceConfig) {
	var q string
	w.str(v, where, &q)
	switch {
	case q == "":
		s.Quote = readers.NoQuote
	case len(q) == 1 && q[0] > ' ' && q[0] < 0x7f && q[0] != '\\':
		s.Quote = rune(q[0])
	default:
		w.addf(v, "%s must be one ASCII character, or \"\" for no quoting, not %q", where, q)
	}
}

// decodeEscape reads source.csv.escape: \ or "".
func decodeEscape(w *walker, where string, _, v ast.Node, s *SourceConfig) {
	var e string
	w.str(v, where, &e)
	switch e {
	case "":
	case `\`:
		s.Escape = '\\'
	default:
		w.addf(v, `%s must be "\\" (backslash escapes, as PostgreSQL's text format and MySQL write them) or "", not %q`, where, e)
	}
}

// decodeNullMarker reads source.csv.null_marker: \N, or "" to read an
// unquoted \N as text.
func decodeNullMarker(w *walker, where string, _, v ast.Node, s *SourceConfig) {
	var m string
	w.str(v, where, &m)
	switch m {
	case `\N`:
	case "":
		s.TextNullMarker = true
	default:
		w.addf(v, `%s must be "\\N" (an unquoted \N is null, the default) or "" (it is text), not %q; other null texts go in source.null_values`, where, m)
	}
}

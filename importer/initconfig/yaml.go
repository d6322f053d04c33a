package initconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// yaml is the mapping's value for column read as s: its quoted name when
// it is plain text, else the field in flow style with what differs from
// the defaults; fixed for the event's timestamp, always a datetime.
func (s fieldSpec) yaml(column string, fixed bool) string {
	if s.typ == config.TypeString && s.layout == "" && !fixed {
		return strconv.Quote(column)
	}
	parts := []string{"column: " + strconv.Quote(column)}
	if s.typ != config.TypeString && s.typ != "" && !(fixed && s.typ == config.TypeDateTime) {
		parts = append(parts, "type: "+string(s.typ))
	}
	if s.layout != "" {
		parts = append(parts, "layout: "+strconv.Quote(s.layout))
	}
	if s.timezone != "" {
		parts = append(parts, "timezone: "+s.timezone)
	}
	if s.format != "" {
		parts = append(parts, "format: "+s.format)
	}
	if s.sep != "" {
		parts = append(parts, "separator: "+strconv.Quote(s.sep))
	}
	if s.decimal != "" {
		parts = append(parts, "decimal: "+strconv.Quote(s.decimal))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// sampleText lists up to three distinct sample values of c.
func (c *initCol) sampleText() string {
	var seen []string
	for _, v := range c.vals {
		s := encode.TextOf(&v)
		if v.Kind != readers.KindString {
			s = v.String()
		}
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		if !slices.Contains(seen, s) {
			seen = append(seen, s)
		}
		if len(seen) == 3 {
			break
		}
	}
	if len(seen) == 0 {
		return "(empty)"
	}
	q := make([]string, len(seen))
	for i, s := range seen {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func comment(b *strings.Builder, indent, text string) {
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(b, "%s# %s\n", indent, l)
	}
}

// yamlWriter is the config being written; printed marks the columns the
// mapping has written, so that the rest are listed commented out.
type yamlWriter struct {
	b       strings.Builder
	printed map[*initCol]bool
}

// yaml writes the config as placed so far, one section after the other.
func (p *initPlan) yaml() []byte {
	w := &yamlWriter{printed: map[*initCol]bool{}}
	p.writeHeader(w)
	p.writeSource(w)
	p.writeInsider(w)
	w.b.WriteString(yamlDefaults)
	p.writeMapping(w)
	return []byte(w.b.String())
}

// writeHeader writes the comments at the top: where the config comes from
// and the plan's notes.
func (p *initPlan) writeHeader(w *yamlWriter) {
	comment(&w.b, "", fmt.Sprintf("Written by insider-import init from %s (%d rows sampled).", p.files[0], len(p.records)))
	comment(&w.b, "", "Check each mapping. Custom attributes, custom events and their params must\nexist in your Insider account before the import (InOne: create them first).")
	for _, n := range p.notes {
		comment(&w.b, "", n)
	}
}

// writeSource writes the source section: the inputs as given, the format,
// the CSV dialect found, the NULL markers and the S3 options.
func (p *initPlan) writeSource(w *yamlWriter) {
	b := &w.b
	b.WriteString("source:\n  paths: [")
	for i, in := range p.opts.Inputs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(in))
	}
	b.WriteString("]\n")
	fmt.Fprintf(b, "  format: %s\n", p.format)
	if p.format == readers.FormatCSV {
		p.writeCSV(w)
	}
	if len(p.nulls) > 0 {
		q := make([]string, len(p.nulls))
		for i, n := range p.nulls {
			q[i] = strconv.Quote(n)
		}
		fmt.Fprintf(b, "  null_values: [%s]   # cells that mean no value, besides empty ones\n", strings.Join(q, ", "))
	}
	if s3 := p.opts.S3; s3.Region != "" || s3.Endpoint != "" || s3.PathStyle {
		fmt.Fprintf(b, "  s3: {region: %s, endpoint: %s, path_style: %v}\n", strconv.Quote(s3.Region), strconv.Quote(s3.Endpoint), s3.PathStyle)
	}
}

// writeCSV writes source.csv: the delimiter and encoding, with comments
// on the byte order mark, the compression and the rows that failed.
func (p *initPlan) writeCSV(w *yamlWriter) {
	b := &w.b
	d := strconv.Quote(string(p.delim))
	if p.delim == '\t' {
		d = "tab"
	}
	fmt.Fprintf(b, "  csv:\n    delimiter: %s\n", d)
	if p.encoding != "" {
		fmt.Fprintf(b, "    encoding: %s\n", p.encoding)
	}
	if p.bom != "" {
		comment(b, "    ", "the file starts with a "+p.bom+" byte order mark (read and skipped)")
	}
	if p.gz {
		comment(b, "    ", "gzip-compressed (read as such)")
	}
	comment(b, "    ", `quoted fields use "; the first row is the header`)
	if p.badRows > 0 {
		comment(b, "    ", fmt.Sprintf("%d sample rows could not be read as CSV: they go to the rejects file. The first: %s", p.badRows, p.firstBad))
	}
}

// writeInsider writes the insider section: the endpoint, the partner (or
// a comment asking for it) and where the key is read from.
func (p *initPlan) writeInsider(w *yamlWriter) {
	b := &w.b
	endpoint := config.DefaultEndpoint
	if p.opts.Endpoint != "" {
		endpoint = p.opts.Endpoint
	}
	b.WriteString("\ninsider:\n  endpoint: " + endpoint + "\n")
	if p.opts.Partner != "" {
		fmt.Fprintf(b, "  partner: %s\n", strconv.Quote(p.opts.Partner))
	} else {
		comment(b, "  ", "partner: your account name (lowercase); or set INSIDER_PARTNER_NAME")
	}
	b.WriteString("  api_key_env: INSIDER_API_KEY   # the environment variable holding the key\n")
	b.WriteString("  array_attributes: append   # or overwrite: arrays replace what Insider holds\n")
}

// yamlDefaults are the delivery and events sections, the defaults written
// out, and the mapping's key.
const yamlDefaults = `
delivery:
  batch_users: 1000
  batch_bytes: 4500000
  workers: 8
  requests_per_second: 300
  max_attempts: 8
  timeout: 60s
  give_up_after: 30m

events:
  ttl: {default: 90d, purchase: 730d}   # older events are not sent (Insider would drop them)
  future_tolerance: 5m

mapping:
`

// writeMapping writes the mapping by each column's first placement: the
// identifiers, the attributes, the event, then the columns not mapped.
func (p *initPlan) writeMapping(w *yamlWriter) {
	sections := map[string][]*initCol{}
	for _, c := range p.columns {
		if len(c.places) > 0 {
			sections[c.places[0].section] = append(sections[c.places[0].section], c)
		}
	}
	w.identifiers(sections["identifiers"])
	w.attributes(sections["attributes"])
	if ev := p.event; ev != nil && len(ev.ts.places) > 0 && (ev.nameCol == nil || len(ev.nameCol.places) > 0) {
		w.event(ev)
	}
	w.unmapped(p.columns)
}

// notes writes c's comments above its line and marks it written.
func (w *yamlWriter) notes(c *initCol, indent string) {
	w.printed[c] = true
	for _, n := range c.notes {
		comment(&w.b, indent, n)
	}
	if s := c.places[0].spec; s.timezone == "UTC" {
		comment(&w.b, indent, fmt.Sprintf("%q has no time zone: read as UTC. Set timezone to the zone the export was written in.", c.name))
	}
}

// identifiers writes mapping.identifiers, or a comment when none was found.
func (w *yamlWriter) identifiers(cols []*initCol) {
	w.b.WriteString("  identifiers:\n")
	if len(cols) == 0 {
		comment(&w.b, "    ", "no identifier column found: map email, phone_number (E.164) or uuid")
	}
	for _, c := range cols {
		w.notes(c, "    ")
		fmt.Fprintf(&w.b, "    %s: %s\n", c.places[0].key, strconv.Quote(c.name))
	}
}

// attributes writes mapping.attributes: the default ones, then the custom
// ones, a name taken twice numbered (_2, _3...).
func (w *yamlWriter) attributes(cols []*initCol) {
	var def, custom []*initCol
	for _, c := range cols {
		if c.places[0].custom {
			custom = append(custom, c)
		} else {
			def = append(def, c)
		}
	}
	if len(def)+len(custom) == 0 {
		return
	}
	w.b.WriteString("  attributes:\n")
	for _, c := range def {
		w.notes(c, "    ")
		fmt.Fprintf(&w.b, "    %s: %s\n", c.places[0].key, c.places[0].spec.yaml(c.name, false))
	}
	if len(custom) == 0 {
		return
	}
	w.b.WriteString("    custom:\n")
	used := map[string]bool{}
	for _, c := range custom {
		key := c.places[0].key
		for i := 2; used[key]; i++ {
			key = fmt.Sprintf("%s_%d", c.places[0].key, i)
		}
		used[key] = true
		w.notes(c, "      ")
		fmt.Fprintf(&w.b, "      %s: %s\n", key, c.places[0].spec.yaml(c.name, false))
	}
}

// event writes mapping.events: the one event, its name or name column,
// its timestamp and params (a purchase without a quantity column buys 1).
func (w *yamlWriter) event(ev *initEvent) {
	b := &w.b
	b.WriteString("  events:\n")
	for _, n := range ev.notes {
		comment(b, "    ", n)
	}
	if ev.nameCol != nil {
		w.printed[ev.nameCol] = true
		fmt.Fprintf(b, "    - name_column: %s\n", strconv.Quote(ev.nameCol.name))
	} else {
		fmt.Fprintf(b, "    - name: %s\n", ev.name)
	}
	w.notes(ev.ts, "      ")
	fmt.Fprintf(b, "      timestamp: %s\n", ev.ts.places[0].spec.yaml(ev.ts.name, true))
	hasQty := false
	for i, c := range ev.params {
		if i == 0 {
			b.WriteString("      params:\n")
		}
		if len(c.places) == 0 {
			continue
		}
		w.notes(c, "        ")
		fmt.Fprintf(b, "        %s: %s\n", c.places[0].key, c.places[0].spec.yaml(c.name, false))
		hasQty = hasQty || c.places[0].key == "quantity"
	}
	if ev.name == "purchase" && !hasQty {
		if len(ev.params) == 0 {
			b.WriteString("      params:\n")
		}
		b.WriteString("        quantity: {value: \"1\", type: integer}\n")
	}
}

// unmapped lists, commented out, each column the mapping has not written,
// with why and its sample values.
func (w *yamlWriter) unmapped(cols []*initCol) {
	first := true
	for _, c := range cols {
		if w.printed[c] {
			continue
		}
		if first {
			w.b.WriteString("\n")
			comment(&w.b, "  ", "Columns not mapped (uncomment and place them to import them):")
			first = false
		}
		why := c.skipWhy
		if why == "" {
			why = "its event could not be mapped"
		}
		for _, n := range c.notes {
			comment(&w.b, "  ", n)
		}
		comment(&w.b, "  ", fmt.Sprintf("%s: %s. Sample values: %s", strconv.Quote(c.name), why, c.sampleText()))
	}
}

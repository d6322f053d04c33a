package initconfig

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Options are the inputs of Generate.
type Options struct {
	Inputs     []string // as given: paths, directories, globs, s3:// URIs
	SampleRows int      // rows read (default 1000)
	S3         readers.S3Options
	Partner    string // INSIDER_PARTNER_NAME, "" when unset
	Endpoint   string // insider.endpoint, "" for config.DefaultEndpoint (the stand-in's URL to try it locally)
}

// initCol is one column of the input and where it goes.
type initCol struct {
	name    string
	vals    []readers.Value // non-null sample values
	nulls   int
	places  []placement // in order of preference; the first is used
	notes   []string    // comments for the config
	skipWhy string      // why it is listed commented out
}

// placement is one way to map a column.
type placement struct {
	section string // "identifiers", "attributes", "param", "timestamp", "name_column"
	key     string // Insider's name
	custom  bool
	spec    fieldSpec
	// tolerate is the share of values that may fail before the column is
	// demoted (identifiers: bad values make bad rows; attributes: none).
	tolerate float64
}

type fieldSpec struct {
	typ      config.FieldType
	layout   string
	timezone string
	format   string
	sep      string
	decimal  string
}

type initPlan struct {
	opts     Options
	files    []string
	format   readers.Format
	delim    rune
	encoding string
	bom      string
	gz       bool
	nulls    []string
	columns  []*initCol
	records  []readers.Record
	badRows  int
	firstBad string   // the first of them
	notes    []string // header comments
	event    *initEvent
}

type initEvent struct {
	name    string   // fixed name, or "" with nameCol
	nameCol *initCol // the event-name column
	ts      *initCol
	params  []*initCol
	notes   []string
}

// Generate returns the YAML of a config for the inputs.
func Generate(ctx context.Context, o Options) ([]byte, error) {
	if o.SampleRows <= 0 {
		o.SampleRows = 1000
	}
	files, err := readers.Expand(ctx, o.Inputs, o.S3)
	if err != nil {
		return nil, err
	}
	p := &initPlan{opts: o, files: files, format: readers.FormatOf(files[0], readers.FormatAuto)}
	if p.format == readers.FormatCSV {
		if err := p.sniffCSV(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.readSample(ctx); err != nil {
		return nil, err
	}
	p.place()
	err = p.settle()
	p.checkOtherFiles(ctx)
	return p.yaml(), err
}

func (p *initPlan) readerOptions() readers.Options {
	return readers.Options{Format: p.format, Delimiter: p.delim, Encoding: p.encoding, S3: p.opts.S3}
}

// sniffCSV finds the text encoding and byte order mark (from the first
// bytes of a local file) and the delimiter (the one that splits the
// header into the most columns and the rows without errors).
func (p *initPlan) sniffCSV(ctx context.Context) error {
	if head, gz, err := rawHead(p.files[0]); err == nil {
		p.gz = gz
		switch {
		case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
			p.bom = "UTF-8"
		case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
			p.bom, p.encoding = "UTF-16LE", "utf-16"
		case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
			p.bom, p.encoding = "UTF-16BE", "utf-16be"
		case len(head) > 1 && head[0] == 0 && head[1] != 0:
			p.encoding = "utf-16be"
		case len(head) > 1 && head[0] != 0 && head[1] == 0:
			p.encoding = "utf-16le"
		default:
			// A sample cut mid-character is still UTF-8.
			trimmed := head
			for i := 0; i < 3 && len(trimmed) > 0 && !utf8.Valid(trimmed); i++ {
				trimmed = trimmed[:len(trimmed)-1]
			}
			if !utf8.Valid(trimmed) {
				p.encoding = "windows-1252"
			}
		}
	}
	best, bestCols, bestErrs := ',', 0, 1<<30
	for _, d := range []rune{',', ';', '\t', '|'} {
		p.delim = d
		rd, err := readers.Open(ctx, p.files[0], p.readerOptions())
		if err != nil {
			continue
		}
		cols, errs := len(rd.Columns()), 0
		for range 200 {
			_, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs++
				var pe *readers.ParseError
				if !errors.As(err, &pe) {
					break
				}
			}
		}
		rd.Close()
		if cols > 1 && (errs < bestErrs || errs == bestErrs && cols > bestCols) {
			best, bestCols, bestErrs = d, cols, errs
		}
	}
	p.delim = best
	return nil
}

// rawHead returns the first 64 KiB of a local file, gunzipped.
func rawHead(path string) ([]byte, bool, error) {
	if readers.IsS3(path) {
		return nil, false, errors.New("not local")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	gz := false
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, err
		}
		r, gz = zr, true
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil && len(b) == 0 {
		return nil, gz, err
	}
	return b, gz, nil
}

// initNullMarkers are the NULL markers init puts in source.null_values when
// the sample holds them: only those no export writes as a real value
// (encode's nullMarkers, for hints, also lists NA, None...).
var initNullMarkers = []string{"NULL", "null"} // an unquoted \N is null already

// readSample reads the sample rows of the first input.
func (p *initPlan) readSample(ctx context.Context) error {
	rd, err := readers.Open(ctx, p.files[0], p.readerOptions())
	if err != nil {
		return err
	}
	defer rd.Close()
	cols := rd.Columns()
	for _, c := range cols {
		p.columns = append(p.columns, &initCol{name: c})
	}
	markers := map[string]int{}
	for len(p.records) < p.opts.SampleRows {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *readers.ParseError
			if errors.As(err, &pe) {
				if p.badRows == 0 {
					p.firstBad = pe.Error()
				}
				p.badRows++
				continue
			}
			return err
		}
		p.records = append(p.records, rec)
		for i := 0; i < rec.Len() && i < len(cols); i++ {
			if rec.Values == nil && slices.Contains(initNullMarkers, rec.Text[i]) {
				markers[rec.Text[i]]++
			}
		}
	}
	if len(p.records) == 0 && p.badRows > 0 {
		return fmt.Errorf("init: none of the first %d rows could be read: %s", p.badRows, p.firstBad)
	}
	for _, m := range initNullMarkers {
		if markers[m] > 0 {
			p.nulls = append(p.nulls, m)
		}
	}
	for _, rec := range p.records {
		for i, c := range p.columns {
			if i >= rec.Len() {
				c.nulls++
				continue
			}
			v := rec.Value(i)
			if v.Kind == readers.KindNull || v.Kind == readers.KindString && (strings.TrimSpace(v.Str) == "" || slices.Contains(p.nulls, v.Str)) {
				c.nulls++
				continue
			}
			c.vals = append(c.vals, v)
		}
	}
	if p.format == readers.FormatCSV && headerLooksLikeData(cols) {
		p.notes = append(p.notes, "The first row looks like data, not column names: this tool reads the first row as the header. Add a header row to the export.")
	}
	return nil
}

// headerLooksLikeData: a header cell that is a number, an email or a date.
func headerLooksLikeData(cols []string) bool {
	for _, c := range cols {
		if _, err := strconv.ParseFloat(c, 64); err == nil || upsert.ValidEmail(c) {
			return true
		}
		if _, _, ok := encode.ParseRFC3339(c, true); ok {
			return true
		}
	}
	return false
}

// checkOtherFiles notes inputs that lack a column mapped from the first.
func (p *initPlan) checkOtherFiles(ctx context.Context) {
	var first []string
	for _, c := range p.columns {
		if len(c.places) > 0 {
			first = append(first, c.name)
		}
	}
	for _, f := range p.files[1:] {
		rd, err := readers.Open(ctx, f, p.readerOptions())
		if err != nil {
			p.notes = append(p.notes, fmt.Sprintf("%s could not be opened: %v", f, err))
			continue
		}
		for _, c := range first {
			if !slices.Contains(rd.Columns(), c) {
				p.notes = append(p.notes, fmt.Sprintf("%s has no column %q: a run refuses a mapped column missing from an input; leave it out, or import that file with its own config", f, c))
			}
		}
		rd.Close()
	}
}

// Column name patterns.
var (
	reEmail    = regexp.MustCompile(`(^|_)(e_?mail|mail)(_|$)|email`)
	rePhone    = regexp.MustCompile(`phone|mobile|msisdn|gsm|(^|_)tel(_|$)|cell`)
	reOrder    = regexp.MustCompile(`^(order|order_?id|order_?number|order_?no|transaction_?id|invoice_?id|receipt_?id|basket_?id|event_group_id)$`)
	reCurrency = regexp.MustCompile(`^(currency|currency_?code|curr|ccy)$`)
	reQuantity = regexp.MustCompile(`^(qty|quantity|units|item_?count|count)$`)
	reSale     = regexp.MustCompile(`^(sale_?price|unit_?sale_?price|paid_?price|net_?price|final_?price)$`)
	rePrice    = regexp.MustCompile(`^(price|unit_?price|list_?price|amount|value|total|revenue)$`)
	reProduct  = regexp.MustCompile(`^(sku|product_?id|item_?id|product_?sku|product_?code|article)$`)
	reProdName = regexp.MustCompile(`^(product_?name|item_?name|product_?title|product)$`)
	reTaxonomy = regexp.MustCompile(`^(category|categories|product_?category|taxonomy)$`)
	reEventTS  = regexp.MustCompile(`^(purchased_?at|purchase_?(date|time)|order(ed)?_?(at|date|time|ts)|transaction_?(date|time)|event_?(time|ts|date|timestamp)|occurred_?at|created_?at|timestamp|ts|at|date|datetime)$`)
	reEventCol = regexp.MustCompile(`^(event|event_?name|event_?type|action|activity)$`)
	reUUID     = []string{"uuid", "user_id", "userid", "customer_id", "customerid", "cust_id", "client_id", "member_id", "account_id", "external_id", "contact_id", "person_id", "customer_no", "customer_number", "client_number", "id"}
)

// defaultAttrs maps column names to Insider's default attributes.
var defaultAttrs = map[string][]string{
	"name":           {"name", "first_name", "firstname", "given_name", "fname", "forename"},
	"surname":        {"surname", "last_name", "lastname", "family_name", "lname"},
	"birthday":       {"birthday", "birth_date", "birthdate", "dob", "date_of_birth", "born"},
	"gender":         {"gender", "sex"},
	"city":           {"city", "town"},
	"country":        {"country", "country_code", "countrycode"},
	"language":       {"language", "lang", "locale"},
	"age":            {"age"},
	"email_optin":    {"email_optin", "email_opt_in", "optin_email", "email_consent", "newsletter", "optin", "opt_in"},
	"sms_optin":      {"sms_optin", "sms_opt_in", "optin_sms", "sms_consent"},
	"whatsapp_optin": {"whatsapp_optin", "whatsapp_opt_in", "optin_whatsapp", "whatsapp_consent"},
	"gdpr_optin":     {"gdpr_optin", "gdpr_opt_in", "gdpr_consent", "gdpr"},
}

// normName lowercases a column name and turns what is not a letter or
// digit into "_": the form the patterns and custom names use.
func normName(s string) string {
	var b strings.Builder
	last := byte('_')
	for _, r := range strings.ToLower(s) {
		if r > 127 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return "" // not to be spelled otherwise by a guess
		}
		c := byte('_')
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			c = byte(r)
		}
		if c == '_' && last == '_' {
			continue
		}
		b.WriteByte(c)
		last = c
	}
	return strings.Trim(b.String(), "_")
}

func share(vals []readers.Value, ok func(string) bool) float64 {
	if len(vals) == 0 {
		return 0
	}
	n := 0
	for _, v := range vals {
		if ok(encode.TextOf(&v)) {
			n++
		}
	}
	return float64(n) / float64(len(vals))
}

// col returns the first column not taken whose name re matches, those
// matching an earlier alternative of re first (price before revenue).
func (p *initPlan) col(re *regexp.Regexp, taken map[*initCol]bool) *initCol {
	var best *initCol
	bestAt := 0
	alts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(re.String(), "^("), ")$"), "|")
	for _, c := range p.columns {
		n := normName(c.name)
		if taken[c] || len(c.vals) == 0 || !re.MatchString(n) {
			continue
		}
		at := len(alts)
		for i, a := range alts {
			if ok, _ := regexp.MatchString("^(?:"+a+")$", n); ok {
				at = i
				break
			}
		}
		if best == nil || at < bestAt {
			best, bestAt = c, at
		}
	}
	return best
}

// place decides each column's placements: the identifiers first, then
// the event, then the attributes; taken marks the columns placed (or
// listed as not placeable).
func (p *initPlan) place() {
	taken := map[*initCol]bool{}
	p.skipDuplicates(taken)
	p.placeEmail(taken)
	p.placePhone(taken)
	p.placeCustomerID(taken)
	p.placeEvent(taken)
	for _, c := range p.columns {
		if !taken[c] {
			taken[c] = true
			placeAttribute(c)
		}
	}
	p.noteAmbiguousDates()
}

// skipDuplicates takes out the columns the header names twice (or not at
// all): a run refuses to map them.
func (p *initPlan) skipDuplicates(taken map[*initCol]bool) {
	seen := map[string]int{}
	for _, c := range p.columns {
		seen[c.name]++
	}
	for _, c := range p.columns {
		if seen[c.name] > 1 || c.name == "" {
			// A run refuses to map a column the header names twice.
			c.skipWhy, taken[c] = "the header has this column name more than once (or none): rename it in the export", true
		}
	}
}

// ident places c as the identifier key, with a note if there is one.
func ident(taken map[*initCol]bool, c *initCol, key string, note string) {
	c.places = []placement{{section: "identifiers", key: key, spec: fieldSpec{typ: config.TypeString}, tolerate: 0.1}}
	if note != "" {
		c.notes = append(c.notes, note)
	}
	taken[c] = true
}

// placeEmail finds the email identifier: by name and values; else by
// values alone; else a column named for email whose values are mostly
// addresses.
func (p *initPlan) placeEmail(taken map[*initCol]bool) {
	var emails []*initCol
	for _, c := range p.columns {
		if len(c.vals) > 0 && share(c.vals, upsert.ValidEmail) >= 0.9 {
			emails = append(emails, c)
		}
	}
	slices.SortStableFunc(emails, func(a, b *initCol) int {
		return boolRank(reEmail.MatchString(normName(b.name))) - boolRank(reEmail.MatchString(normName(a.name)))
	})
	if len(emails) > 0 {
		note := ""
		if len(emails) > 1 {
			note = fmt.Sprintf("email: %q, also holding addresses: %s", emails[0].name, quoteNames(emails[1:]))
		}
		ident(taken, emails[0], "email", note)
		return
	}
	// A column named for email whose values are mostly addresses: the
	// rows with a bad one are rejected, each with its reason.
	for _, c := range p.columns {
		sh := share(c.vals, upsert.ValidEmail)
		if len(c.vals) > 0 && reEmail.MatchString(normName(c.name)) && sh >= 0.5 {
			ident(taken, c, "email", fmt.Sprintf("%.0f%% of the sample's values of %q are not email addresses: those rows will be rejected, with the reason", 100*(1-sh), c.name))
			c.places[0].tolerate = 0.5
			break
		}
	}
}

// placePhone finds the phone identifier: E.164 values; digits that need
// a country prefix are listed with how to add it.
func (p *initPlan) placePhone(taken map[*initCol]bool) {
	for _, c := range p.columns {
		if taken[c] || len(c.vals) == 0 || !rePhone.MatchString(normName(c.name)) {
			continue
		}
		if share(c.vals, upsert.ValidPhone) >= 0.7 {
			ident(taken, c, "phone_number", "")
			c.places[0].tolerate = 0.3 // rows with a bad number are rejected, with the reason
			break
		}
		if share(c.vals, localPhone) >= 0.9 {
			c.skipWhy = "phone numbers without a country prefix (not E.164): Insider takes +<country><number>. Add the prefix in the export (e.g. '+44' || ltrim(phone, '0')), then map it as identifiers.phone_number"
			taken[c] = true
			break
		}
	}
}

// placeCustomerID finds the uuid identifier by name (reUUID, in order);
// the other id columns become custom attributes, and a comment says so.
func (p *initPlan) placeCustomerID(taken map[*initCol]bool) {
	var ids []*initCol
	for _, name := range reUUID {
		for _, c := range p.columns {
			if !taken[c] && len(c.vals) > 0 && normName(c.name) == name {
				ids = append(ids, c)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	note := ""
	if normName(ids[0].name) == "id" {
		note = fmt.Sprintf("uuid: the column %q: check that it is your customer id (Insider merges users that share it)", ids[0].name)
	}
	if len(ids) > 1 {
		note = strings.TrimPrefix(note+fmt.Sprintf("; other id columns, mapped as custom attributes: %s", quoteNames(ids[1:])), "; ")
	}
	ident(taken, ids[0], "uuid", note)
}

// placeAttribute places a column left over as a default attribute by
// name, then as a custom one of each type its values support.
func placeAttribute(c *initCol) {
	n := normName(c.name)
	if len(c.vals) == 0 {
		c.skipWhy = "no value in the sample"
		return
	}
	for key, names := range defaultAttrs {
		if slices.Contains(names, n) {
			c.places = append(c.places, defaultPlacement(key, c)...)
			if kind, optin := strings.CutSuffix(key, "_optin"); optin && !strings.Contains(n, kind) {
				c.notes = append(c.notes, fmt.Sprintf("%q taken as %s: check that it is", c.name, key))
			}
		}
	}
	custom := n
	if rePhone.MatchString(n) {
		// Phone numbers are text, whatever their digits look like.
		c.places = append(c.places, placement{section: "attributes", key: custom, custom: true, spec: fieldSpec{typ: config.TypeString}})
		return
	}
	if custom == "" || !upsert.ValidCustomName(custom) {
		if len(c.places) == 0 {
			c.skipWhy = "its name cannot be a custom attribute name (lowercase letters, digits and _): map it under a name of your choice"
		}
		return
	}
	for _, s := range inferSpecs(c.vals) {
		c.places = append(c.places, placement{section: "attributes", key: custom, custom: true, spec: s})
	}
}

// noteAmbiguousDates says so where day and month could be either way
// round in every sample value (1/2/2006 read as January 2nd).
func (p *initPlan) noteAmbiguousDates() {
	for _, c := range p.columns {
		if len(c.places) == 0 {
			continue
		}
		l := c.places[0].spec.layout
		var other string
		switch {
		case strings.HasPrefix(l, "1/2/2006"):
			other = "2/1/2006" + strings.TrimPrefix(l, "1/2/2006")
		case strings.HasPrefix(l, "2/1/2006"):
			other = "1/2/2006" + strings.TrimPrefix(l, "2/1/2006")
		default:
			continue
		}
		if share(c.vals, func(s string) bool { _, err := time.Parse(other, s); return err == nil }) == 1 {
			c.notes = append(c.notes, fmt.Sprintf("%q: day and month can be read either way in every sample value; layout %q is a guess (%q reads the other way)", c.name, l, other))
		}
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func quoteNames(cs []*initCol) string {
	var s []string
	for _, c := range cs {
		s = append(s, strconv.Quote(c.name))
	}
	return strings.Join(s, ", ")
}

// localPhone: digits, spaces and dashes, 7 to 15 digits: a phone number
// written without the country prefix.
func localPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// defaultPlacement is how column c maps to default attribute key, if its
// values fit.
func defaultPlacement(key string, c *initCol) []placement {
	pl := func(s fieldSpec) []placement { return []placement{{section: "attributes", key: key, spec: s}} }
	switch key {
	case "birthday":
		for _, s := range inferSpecs(c.vals) {
			if s.typ == config.TypeDate || s.typ == config.TypeDateTime {
				s.typ = config.TypeDate // Insider wants the day, at midnight UTC
				return pl(s)
			}
		}
		return nil
	case "age":
		return pl(fieldSpec{typ: config.TypeNumber})
	case "email_optin", "sms_optin", "whatsapp_optin", "gdpr_optin":
		return pl(fieldSpec{typ: config.TypeBoolean})
	case "country":
		if share(c.vals, func(s string) bool { return upsert.ValidCountry(strings.ToUpper(s)) }) < 1 {
			return nil
		}
	}
	return pl(fieldSpec{typ: config.TypeString})
}

// placeEvent finds the event: a purchase when an order id, a price and a
// currency are there, else an event-name column; its timestamp column.
func (p *initPlan) placeEvent(taken map[*initCol]bool) {
	order, cur := p.col(reOrder, taken), p.col(reCurrency, taken)
	sale := p.col(reSale, taken)
	price := p.col(rePrice, taken)
	if sale == nil {
		sale, price = price, nil
	}
	if order != nil && cur != nil && sale != nil && share(cur.vals, func(s string) bool { return upsert.ValidCurrency(strings.ToUpper(s)) }) >= 0.9 &&
		share(sale.vals, isDecimalText) >= 0.9 {
		p.placePurchase(taken, order, cur, sale, price)
		return
	}
	p.placeNamedEvent(taken)
}

// timestampCol is the event's time: the first column not taken with date
// and time values, those named like one first; else the first with dates.
func (p *initPlan) timestampCol(taken map[*initCol]bool) (*initCol, fieldSpec) {
	var first *initCol
	var firstSpec fieldSpec
	for _, byName := range []bool{true, false} {
		for _, c := range p.columns {
			if taken[c] || len(c.vals) == 0 || byName && !reEventTS.MatchString(normName(c.name)) {
				continue
			}
			for _, s := range inferSpecs(c.vals) {
				if s.typ == config.TypeDateTime {
					return c, s
				}
				if s.typ == config.TypeDate && first == nil {
					first, firstSpec = c, s
				}
			}
		}
		if first != nil {
			return first, firstSpec
		}
	}
	return nil, fieldSpec{}
}

// placeTimestamp places ts as the event's timestamp.
func placeTimestamp(taken map[*initCol]bool, ts *initCol, spec fieldSpec) {
	ts.places = []placement{{section: "timestamp", key: "timestamp", spec: spec, tolerate: 0.1}}
	taken[ts] = true
}

// param places c as the event's param key and adds it to ev's params.
func (ev *initEvent) param(taken map[*initCol]bool, c *initCol, key string, s fieldSpec, tol float64) {
	c.places = []placement{{section: "param", key: key, spec: s, tolerate: tol}}
	taken[c] = true
	ev.params = append(ev.params, c)
}

// placePurchase places the purchase event: its timestamp, Insider's
// required params (order, currency, sale price) and those found besides.
func (p *initPlan) placePurchase(taken map[*initCol]bool, order, cur, sale, price *initCol) {
	ts, spec := p.timestampCol(taken)
	if ts == nil {
		p.notes = append(p.notes, "Order columns found, but no column of purchase times: no purchase event.")
		return
	}
	ev := &initEvent{name: "purchase", ts: ts}
	placeTimestamp(taken, ts, spec)
	ev.param(taken, order, "event_group_id", fieldSpec{typ: config.TypeString}, 0.1)
	ev.param(taken, cur, "currency", fieldSpec{typ: config.TypeString}, 0.1)
	ev.param(taken, sale, "unit_sale_price", numberSpec(sale.vals), 0.1)
	if price != nil && share(price.vals, isDecimalText) >= 0.9 {
		ev.param(taken, price, "unit_price", numberSpec(price.vals), 0)
	}
	if q := p.col(reQuantity, taken); q != nil {
		ev.param(taken, q, "quantity", fieldSpec{typ: config.TypeInteger}, 0.1)
	} else {
		ev.notes = append(ev.notes, "no quantity column: each row is taken as one item (quantity 1)")
	}
	for _, x := range []struct {
		re  *regexp.Regexp
		key string
		s   fieldSpec
	}{{reProduct, "product_id", fieldSpec{typ: config.TypeString}}, {reProdName, "name", fieldSpec{typ: config.TypeString}}} {
		if c := p.col(x.re, taken); c != nil {
			ev.param(taken, c, x.key, x.s, 0)
		}
	}
	if c := p.col(reTaxonomy, taken); c != nil {
		ev.param(taken, c, "taxonomy", taxonomySpec(c.vals), 0)
	}
	p.event = ev
}

// placeNamedEvent places events named by a column of valid event names,
// with their timestamp column.
func (p *initPlan) placeNamedEvent(taken map[*initCol]bool) {
	nc := p.col(reEventCol, taken)
	if nc == nil || share(nc.vals, upsert.ValidEventName) < 0.9 {
		return
	}
	ts, spec := p.timestampCol(taken)
	if ts == nil {
		return
	}
	ev := &initEvent{nameCol: nc, ts: ts}
	nc.places = []placement{{section: "name_column", key: "event_name", spec: fieldSpec{typ: config.TypeString}, tolerate: 0.1}}
	taken[nc] = true
	placeTimestamp(taken, ts, spec)
	ev.notes = append(ev.notes, fmt.Sprintf("event names from the column %q: each name must exist in your Insider account (custom events are created in InOne first)", nc.name))
	p.event = ev
}

// taxonomySpec: categories as an array, split at ">" or "/" when the
// values hold one, else one category each.
func taxonomySpec(vals []readers.Value) fieldSpec {
	for _, sep := range []string{">", "/", "|"} {
		if share(vals, func(s string) bool { return strings.Contains(s, sep) }) >= 0.3 {
			return fieldSpec{typ: config.TypeArray, sep: sep}
		}
	}
	return fieldSpec{typ: config.TypeArray, sep: "|"}
}

var (
	reInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,14})$`)
	reNumber  = regexp.MustCompile(`^-?((0|[1-9][0-9]*)(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	reCommaNo = regexp.MustCompile(`^-?(0|[1-9][0-9]*),[0-9]+$`)
	boolWords = []string{"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}
)

func isNumberText(s string) bool { return reNumber.MatchString(strings.TrimSpace(s)) }

// isDecimalText: a number with "." or "," for decimals.
func isDecimalText(s string) bool {
	return isNumberText(s) || reCommaNo.MatchString(strings.TrimSpace(s))
}

// numberSpec is the number type of vals, with a decimal comma when they
// use one.
func numberSpec(vals []readers.Value) fieldSpec {
	for _, s := range inferSpecs(vals) {
		if s.typ == config.TypeNumber || s.typ == config.TypeInteger {
			s.typ = config.TypeNumber
			return s
		}
	}
	return fieldSpec{typ: config.TypeNumber}
}

// Layouts tried for dates and times that are not ISO 8601.
var initLayouts = []string{
	"1/2/2006 15:04:05", "1/2/2006 15:04", "1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM",
	"2/1/2006 15:04:05", "2/1/2006 15:04", "02.01.2006 15:04:05", "02.01.2006 15:04",
	"2006/01/02 15:04:05", "2006/01/02 15:04", "Jan 2, 2006 15:04:05", "02 Jan 2006 15:04:05",
	time.RFC1123Z, time.RFC1123, time.RubyDate,
}
var initDateLayouts = []string{"1/2/2006", "2/1/2006", "02.01.2006", "2006/01/02", "20060102", "Jan 2, 2006", "02 Jan 2006"}

// inferSpecs lists the types the sample values support, the most specific
// first; string last (the mapping check demotes a column down the list).
func inferSpecs(vals []readers.Value) []fieldSpec {
	kinds := map[readers.Kind]bool{}
	wall := false
	for _, v := range vals {
		kinds[v.Kind] = true
		wall = wall || v.Wall
	}
	if len(kinds) == 1 && !kinds[readers.KindString] {
		return typedSpecs(kinds, wall)
	}
	out := scalarTextSpecs(vals)
	out = append(out, timeTextSpecs(vals)...)
	out = append(out, arrayTextSpecs(vals)...)
	return append(out, fieldSpec{typ: config.TypeString})
}

// allOf: every sample value's text is ok.
func allOf(vals []readers.Value, ok func(string) bool) bool { return share(vals, ok) == 1 }

// typedSpecs are the specs of values the reader typed (Parquet), all of
// one kind; string last, except for lists.
func typedSpecs(kinds map[readers.Kind]bool, wall bool) []fieldSpec {
	var out []fieldSpec
	add := func(s fieldSpec) { out = append(out, s) }
	switch {
	case kinds[readers.KindInt]:
		add(fieldSpec{typ: config.TypeInteger})
	case kinds[readers.KindFloat], kinds[readers.KindDecimal]:
		add(fieldSpec{typ: config.TypeNumber})
	case kinds[readers.KindBool]:
		add(fieldSpec{typ: config.TypeBoolean})
	case kinds[readers.KindTime]:
		s := fieldSpec{typ: config.TypeDateTime}
		if wall {
			s.timezone = "UTC"
		}
		add(s)
	case kinds[readers.KindDate]:
		add(fieldSpec{typ: config.TypeDate})
	case kinds[readers.KindList]:
		add(fieldSpec{typ: config.TypeArray})
		return out
	}
	return append(out, fieldSpec{typ: config.TypeString})
}

// scalarTextSpecs: boolean (words, not only 0 and 1), integer and number
// (with a decimal point, or a decimal comma) texts.
func scalarTextSpecs(vals []readers.Value) []fieldSpec {
	var out []fieldSpec
	add := func(s fieldSpec) { out = append(out, s) }
	lower := func(f func(string) bool) func(string) bool {
		return func(s string) bool { return f(strings.ToLower(strings.TrimSpace(s))) }
	}
	if allOf(vals, lower(func(s string) bool { return slices.Contains(boolWords, s) })) &&
		!allOf(vals, func(s string) bool { s = strings.TrimSpace(s); return s == "0" || s == "1" }) {
		add(fieldSpec{typ: config.TypeBoolean})
	}
	if allOf(vals, func(s string) bool { return reInteger.MatchString(strings.TrimSpace(s)) }) {
		add(fieldSpec{typ: config.TypeInteger})
	}
	if allOf(vals, isNumberText) {
		add(fieldSpec{typ: config.TypeNumber})
	} else if allOf(vals, func(s string) bool {
		return reCommaNo.MatchString(strings.TrimSpace(s)) || reInteger.MatchString(strings.TrimSpace(s))
	}) {
		add(fieldSpec{typ: config.TypeNumber, decimal: ","})
	}
	return out
}

// timeTextSpecs: ISO dates, RFC 3339 times (UTC when a value has no
// zone), else the first of initLayouts and of initDateLayouts that read
// every value.
func timeTextSpecs(vals []readers.Value) []fieldSpec {
	var out []fieldSpec
	add := func(s fieldSpec) { out = append(out, s) }
	if allOf(vals, func(s string) bool { _, err := time.Parse(time.DateOnly, s); return err == nil }) {
		add(fieldSpec{typ: config.TypeDate})
		return out
	}
	if allOf(vals, func(s string) bool { _, _, ok := encode.ParseRFC3339(s, false); return ok }) {
		s := fieldSpec{typ: config.TypeDateTime, layout: config.LayoutRFC3339}
		if !allOf(vals, func(s string) bool { _, w, _ := encode.ParseRFC3339(s, false); return !w }) {
			s.timezone = "UTC"
		}
		add(s)
		return out
	}
	for _, l := range initLayouts {
		if allOf(vals, func(s string) bool { _, err := time.Parse(l, s); return err == nil }) {
			s := fieldSpec{typ: config.TypeDateTime, layout: l}
			if !strings.ContainsAny(l, "Z-") && !strings.Contains(l, "MST") {
				s.timezone = "UTC"
			}
			add(s)
			break
		}
	}
	for _, l := range initDateLayouts {
		if allOf(vals, func(s string) bool { _, err := time.Parse(l, s); return err == nil }) {
			add(fieldSpec{typ: config.TypeDate, layout: l})
			break
		}
	}
	return out
}

// arrayTextSpecs: JSON or bracketed lists, PostgreSQL arrays, or values
// split at "|" (when a third of them hold one).
func arrayTextSpecs(vals []readers.Value) []fieldSpec {
	switch {
	case allOf(vals, func(s string) bool { return strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") }):
		return []fieldSpec{{typ: config.TypeArray, format: config.ArrayJSON}, {typ: config.TypeArray, format: config.ArrayBrackets}}
	case allOf(vals, func(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }):
		return []fieldSpec{{typ: config.TypeArray, format: config.ArrayPostgres}}
	case share(vals, func(s string) bool { return strings.Contains(s, "|") }) >= 0.3:
		return []fieldSpec{{typ: config.TypeArray, sep: "|"}}
	}
	return nil
}

// ProblemsError is returned with a config that validate will not yet
// accept (no identifier found, say): the config is written all the same,
// with the problems, for a person to finish.
type ProblemsError struct{ Problems string }

func (e *ProblemsError) Error() string {
	return "the config needs edits before validate accepts it:\n" + e.Problems
}

// settle maps the sample with the config as placed and demotes each
// column whose values do not fit its placement, until all fit.
func (p *initPlan) settle() error {
	cols := make([]string, len(p.columns))
	for i, c := range p.columns {
		cols[i] = c.name
	}
	for range 16 {
		cfg, err := config.Parse("init", p.yaml(), encode.CheckValue)
		if err != nil {
			return &ProblemsError{Problems: err.Error()}
		}
		mp, err := encode.NewMapper(cfg, p.files[0], cols, time.Now())
		if err != nil {
			return &ProblemsError{Problems: err.Error()}
		}
		fails, first := map[string]int{}, map[string]string{}
		var events, expired, future int32
		for _, rec := range p.records {
			r := mp.MapRecord(rec)
			events, expired, future = events+r.EventsRead, expired+r.Expired, future+r.Future
			for _, pr := range r.Problems {
				if pr.Column == "" || pr.Rule == encode.RuleIdentifierRequired {
					continue
				}
				fails[pr.Column]++
				if first[pr.Column] == "" {
					first[pr.Column] = pr.Msg
				}
			}
		}
		changed := false
		for _, c := range p.columns {
			n := fails[c.name]
			if len(c.places) == 0 || n == 0 || float64(n) <= c.places[0].tolerate*float64(len(c.vals)) {
				continue
			}
			changed = true
			c.notes = append(c.notes, fmt.Sprintf("not %s: %d of %d sample values do not fit (%s)", c.places[0].describe(), n, len(c.vals), first[c.name]))
			c.places = c.places[1:]
			if len(c.places) == 0 {
				c.skipWhy = "no mapping fits its values"
			}
		}
		if !changed {
			if ev := p.event; ev != nil && expired+future > 0 {
				ev.notes = append(ev.notes, fmt.Sprintf("%d of the sample's %d events are older than their TTL (events.ttl) and %d are in the future: those are not sent (Insider would drop them)",
					expired, events, future))
			}
			return nil
		}
	}
	return nil
}

func (pl placement) describe() string {
	where := "mapping." + pl.section + "." + pl.key
	switch pl.section {
	case "attributes":
		if pl.custom {
			where = "a custom attribute"
		} else {
			where = "the default attribute " + pl.key
		}
	case "param", "timestamp", "name_column":
		where = "the event's " + pl.key
	case "identifiers":
		where = "the identifier " + pl.key
	}
	if pl.spec.typ != config.TypeString {
		where += " of type " + string(pl.spec.typ)
	}
	return where
}

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

package initconfig

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

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

package encode

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// Conversions run once per mapped cell, so they append straight into the
// row's buffer, parse without regular expressions and never take number
// text through float64: "1830.50" is sent as 1830.50, and an identifier such
// as 10000000000000000001 keeps every digit.

// Cell returns the value of f in rec: its constant, or its column's cell
// with surrounding spaces trimmed and configured null tokens turned into
// null, or nil for null. An empty cell is null. Text (a constant, a CSV
// cell, a typed string cell) is held in *tmp, a KindString Value of the
// caller's that only Cell writes to; a typed cell of another kind is not
// copied: the result points into rec, and is only read.
//
// It inlines (keep it so): tmp is then seen to be the caller's local
// variable, and storing the text there needs no write barrier, as a store
// through a pointer parameter does while the collector runs.
func (m *Mapper) Cell(f *Field, rec *readers.Record, tmp *readers.Value) *readers.Value {
	s, v := m.cellText(f, rec)
	if s != "" {
		tmp.Str = s
		return tmp
	}
	return v
}

// cellText is cell without the Value for text: s for text, v for a typed
// cell of another kind, or neither for null.
func (m *Mapper) cellText(f *Field, rec *readers.Record) (s string, v *readers.Value) {
	switch {
	case f.Value != nil:
		return *f.Value, nil
	case rec.Values == nil: // text cells (CSV)
		if uint(f.col) >= uint(len(rec.Text)) {
			return "", nil
		}
		s = rec.Text[f.col]
	default:
		if uint(f.col) >= uint(len(rec.Values)) {
			return "", nil
		}
		v := &rec.Values[f.col]
		switch v.Kind {
		case readers.KindNull:
			return "", nil
		case readers.KindString:
			s = v.Str
		default:
			return "", v
		}
	}
	if !plainEnds(s) {
		s = strings.TrimSpace(s)
	}
	if m.isNull(s) {
		return "", nil
	}
	return s, nil
}

// plainEnds reports whether s starts and ends with a printable ASCII
// character, so that strings.TrimSpace has nothing to trim: most cells.
// It inlines, where strings.TrimSpace is a call.
func plainEnds(s string) bool {
	n := len(s)
	return n > 0 && s[0]-'!' <= '~'-'!' && s[n-1]-'!' <= '~'-'!'
}

// isNull reports whether s is one of source.null_values. Most cells have
// a length no null value has, which one bit test tells.
func (m *Mapper) isNull(s string) bool {
	if len(s) < 64 && m.nullLens&(1<<len(s)) == 0 {
		return false
	}
	for _, n := range m.nulls {
		if s == n {
			return true
		}
	}
	return false
}

// text returns v as a string for string fields and identifiers. Numbers
// keep their exact digits; nothing goes through float64 that did not come
// as a float.
func text(v readers.Value) string { return TextOf(&v) }

// TextOf is text for a cell (see Mapper.Cell). It inlines for the usual
// string cell.
func TextOf(v *readers.Value) string {
	if v.Kind == readers.KindString {
		return v.Str
	}
	return typedText(v)
}

// typedText is TextOf for a cell of a kind other than string.
func typedText(v *readers.Value) string {
	if v.Kind == readers.KindTime {
		if v.Wall { // no zone to claim
			return v.Time().Format(readers.WallLayout)
		}
		return v.Time().Format(time.RFC3339Nano)
	}
	return v.String()
}

// appendValue appends the JSON for v converted to f's type.
func appendValue(dst []byte, f *Field, v readers.Value) ([]byte, error) {
	return appendCell(dst, f, &v)
}

// appendCell is appendValue for a cell (see Mapper.Cell), not copied.
func appendCell(dst []byte, f *Field, v *readers.Value) ([]byte, error) {
	switch f.Type {
	case config.TypeString:
		if v.Kind == readers.KindList {
			return dst, errors.New("a list cannot be a string; declare type: array")
		}
		return appendString(dst, TextOf(v)), nil
	case config.TypeNumber:
		if f.Thousands != "" && v.Kind == readers.KindString {
			return appendGrouped(dst, f, v.Str)
		}
		return appendNumber(dst, f, v)
	case config.TypeInteger:
		if f.Thousands != "" && v.Kind == readers.KindString {
			return appendGrouped(dst, f, v.Str)
		}
		if v.Kind == readers.KindString && plainInteger(v.Str) {
			return append(dst, v.Str...), nil // what reading and writing it gives
		}
		i, err := toInteger(v, f.Decimal)
		if err != nil {
			return dst, err
		}
		return appendInt(dst, i), nil
	case config.TypeBoolean:
		b, err := toBool(v)
		if err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, b), nil
	case config.TypeDate, config.TypeDateTime:
		t, err := timeOf(f, v)
		if err != nil {
			return dst, err
		}
		return appendTime(dst, t), nil
	case config.TypeArray:
		return appendArray(dst, f, v)
	}
	return dst, fmt.Errorf("unknown type %q", f.Type)
}

// appendTime appends t as an RFC 3339 string in UTC ("Z"), with as many
// fractional digits as it has.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	}
	h, mi, s := t.Clock()
	dst = append(dst, '"',
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	return append(dst, 'Z', '"')
}

func appendNumber(dst []byte, f *Field, v *readers.Value) ([]byte, error) {
	switch v.Kind {
	case readers.KindInt:
		return appendInt(dst, v.Int), nil
	case readers.KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return dst, fmt.Errorf("%v is not a number Insider accepts", v.Float)
		}
		return appendFloat(dst, v.Float), nil
	case readers.KindBool:
		return dst, errors.New("a boolean is not a number")
	case readers.KindString, readers.KindDecimal:
		return appendNumberText(dst, v.Str, f.Decimal)
	}
	return dst, fmt.Errorf("a %s is not a number", v.Kind)
}

// appendNumberText appends number text as a JSON number literal, keeping
// its digits: an optional sign ("+" is dropped), digits with at most one
// decimal separator (decimal: "." or ","), and an optional exponent.
// Leading zeros are dropped ("007" is 7), ".5" becomes 0.5 and "5." 5.
// Thousands separators, spaces inside, hex, NaN and infinities are refused.
func appendNumberText(dst []byte, s, decimal string) ([]byte, error) {
	if decimal != "," && plainDecimal(s) {
		return append(dst, s...), nil // the usual number, written as JSON writes it
	}
	return appendNumberAny(dst, s, decimal)
}

// appendNumberAny is appendNumberText for any text, plain or not.
func appendNumberAny(dst []byte, s, decimal string) ([]byte, error) {
	sep := byte('.')
	if decimal == "," {
		sep = ','
	}
	start := len(dst)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			dst = append(dst, '-')
		}
		i++
	}
	// Integer part.
	intStart := i
	i = skipDigits(s, i)
	digits := s[intStart:i]
	trimmed := strings.TrimLeft(digits, "0")
	if trimmed == "" {
		trimmed = "0"
	}
	// Fraction.
	frac := ""
	if i < len(s) && s[i] == sep {
		i++
		fs := i
		i = skipDigits(s, i)
		frac = s[fs:i]
	}
	if digits == "" && frac == "" {
		return dst[:start], numberError(s, decimal)
	}
	dst = append(dst, trimmed...)
	if frac != "" {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	// Exponent.
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		es := i
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ds := i
		i = skipDigits(s, i)
		if i == ds || i != len(s) {
			return dst[:start], numberError(s, decimal)
		}
		dst = append(dst, s[es:i]...)
		if f, err := strconv.ParseFloat(string(dst[start:]), 64); err != nil || math.IsInf(f, 0) {
			return dst[:start], fmt.Errorf("not a number Insider accepts: %q (out of range)", s)
		}
	}
	if i != len(s) {
		return dst[:start], numberError(s, decimal)
	}
	return dst, nil
}

// plainInteger reports whether s is 1 to 18 ASCII digits without a
// leading zero, or "0": a whole number that reads as an int64 and is
// written back as s.
func plainInteger(s string) bool {
	if len(s) == 0 || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// skipDigits returns the index of the first byte at or after i in s that
// is not an ASCII digit.
func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// plainDecimal reports whether s is number text that appendNumberText
// would write unchanged: an optional "-", digits without a leading zero
// (or one "0"), and optionally "." and at least one digit.
func plainDecimal(s string) bool {
	i := 0
	if len(s) > 0 && s[0] == '-' {
		i++
	}
	start := i
	i = skipDigits(s, i)
	if i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	frac := i
	i = skipDigits(s, i)
	return i == len(s) && i > frac
}

func numberError(s, decimal string) error {
	switch {
	case decimal == "," && strings.Contains(s, "."):
		return fmt.Errorf("not a number: %q (decimal: \",\" is set on the field, and it has a '.'; for 1.234,05 set thousands: \".\" too)", s)
	case decimal != "," && strings.Count(s, ",") == 1 && !strings.Contains(s, ".") && len(s)-strings.IndexByte(s, ',') == 4:
		return fmt.Errorf("not a number: %q (a decimal comma? set decimal: \",\" on the field; a thousands separator? set thousands: \",\")", s)
	case decimal != "," && strings.Count(s, ",") == 1 && !strings.Contains(s, "."):
		return fmt.Errorf("not a number: %q (a decimal comma? set decimal: \",\" on the field)", s)
	case decimal != "," && strings.Contains(s, ","):
		return fmt.Errorf("not a number: %q (thousands separators? set thousands: \",\" on the field)", s)
	}
	return fmt.Errorf("not a number: %q", s)
}

// toInteger reads a whole number. "3", "+3", "3.0" and "3.00" are three
// (with decimal: "," also "3,0"), "3e2" and "3.5E2" are 300 and 350;
// "3.5", "3.5e0" and "three" are refused.
func toInteger(v *readers.Value, decimal string) (int64, error) {
	switch v.Kind {
	case readers.KindInt:
		return v.Int, nil
	case readers.KindFloat:
		if v.Float != math.Trunc(v.Float) || math.Abs(v.Float) > 1<<53 {
			return 0, fmt.Errorf("not a whole number: %v", v.Float)
		}
		return int64(v.Float), nil
	case readers.KindString, readers.KindDecimal:
		s := v.Str
		sep := "."
		if decimal == "," && v.Kind == readers.KindString {
			sep = ","
		}
		whole, frac, hasFrac := strings.Cut(s, sep)
		if strings.ContainsAny(s, "eE") { // 1.000001E6
			digits, err := wholeText(s, sep)
			if err != nil {
				return 0, err
			}
			whole = digits
		} else if hasFrac && (frac == "" || strings.Trim(frac, "0") != "") {
			return 0, fmt.Errorf("not a whole number: %q", s)
		}
		i, err := strconv.ParseInt(whole, 10, 64) // one sign, as written
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, fmt.Errorf("whole number out of range: %q", s)
			}
			return 0, fmt.Errorf("not a whole number: %q", s)
		}
		return i, nil
	}
	return 0, fmt.Errorf("a %s is not a whole number", v.Kind)
}

// toBool reads true/false, 1/0, yes/no, y/n and t/f in any case.
func toBool(v *readers.Value) (bool, error) {
	switch v.Kind {
	case readers.KindBool:
		return v.Bool(), nil
	case readers.KindInt:
		if v.Int == 0 || v.Int == 1 {
			return v.Int == 1, nil
		}
	case readers.KindString:
		for _, t := range [...]string{"true", "1", "yes", "y", "t"} {
			if strings.EqualFold(v.Str, t) {
				return true, nil
			}
		}
		for _, f := range [...]string{"false", "0", "no", "n", "f"} {
			if strings.EqualFold(v.Str, f) {
				return false, nil
			}
		}
		return false, fmt.Errorf("not a boolean: %q (use true/false, 1/0, yes/no or y/n)", v.Str)
	}
	return false, fmt.Errorf("not a boolean: %s", v.String())
}

// appendArray appends a JSON array: the items of a list, or of a cell
// split at the field's separator (each trimmed, empty ones left out) or
// written in its format (json, postgres, brackets). Items are strings, or
// numbers where Insider wants numbers (list_id). An array without items is
// errNoItems, with nothing appended.
func appendArray(dst []byte, f *Field, v *readers.Value) ([]byte, error) {
	if v.Kind == readers.KindString && f.Format != "" && f.Format != arraySeparator {
		items, err := parseArrayText(f.Format, v.Str)
		if err != nil {
			return dst, err
		}
		v = &readers.Value{Kind: readers.KindList, List: items}
	}
	start := len(dst)
	numbers := f.Wants == upsert.TypeNumberArray
	n := 0
	item := func(it *readers.Value) error {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if numbers {
			var err error
			if dst, err = appendNumber(dst, f, it); err != nil {
				return fmt.Errorf("item %d: %w", n, err)
			}
			return nil
		}
		if it.Kind == readers.KindList {
			return fmt.Errorf("item %d: a list inside a list", n)
		}
		dst = appendString(dst, TextOf(it))
		return nil
	}
	dst = append(dst, '[')
	switch v.Kind {
	case readers.KindList:
		for i := range v.List {
			it := &v.List[i]
			if it.IsNull() {
				continue
			}
			if err := item(it); err != nil {
				return dst[:start], err
			}
		}
	case readers.KindString:
		for s := v.Str; ; {
			part, rest, more := strings.Cut(s, f.Separator)
			if !plainEnds(part) {
				part = strings.TrimSpace(part)
			}
			if part != "" {
				it := readers.Value{Kind: readers.KindString, Str: part}
				if err := item(&it); err != nil {
					return dst[:start], err
				}
			}
			if !more {
				break
			}
			s = rest
		}
	default:
		if err := item(v); err != nil {
			return dst[:start], err
		}
	}
	if n == 0 {
		return dst[:start], errNoItems
	}
	return append(dst, ']'), nil
}

// fieldIDInteger is idInteger for identifier f, with its thousands
// separator, when set, taken out first.
func fieldIDInteger(f *Field, v *readers.Value) (string, error) {
	if f.Thousands != "" && v.Kind == readers.KindString {
		plain, ok := ungroup(v.Str, f.Thousands, f.Decimal)
		if !ok {
			return "", fmt.Errorf("not a whole number: %q (thousands: %q groups the digits by three)", v.Str, f.Thousands)
		}
		return idInteger(&readers.Value{Kind: readers.KindString, Str: plain}, f.Decimal)
	}
	return idInteger(v, f.Decimal)
}

// idInteger is the text of an identifier declared type: integer: the
// whole number v holds, with every digit and no limit on their number
// ("1000001.0", "1.000001E6" and the Parquet integer 1000001 are all
// "1000001"), so that one id is one user whichever tool wrote it. A
// fraction is refused.
func idInteger(v *readers.Value, decimal string) (string, error) {
	switch v.Kind {
	case readers.KindString, readers.KindDecimal:
		if plainInteger(v.Str) {
			return v.Str, nil
		}
		sep := "."
		if decimal == "," && v.Kind == readers.KindString {
			sep = ","
		}
		return wholeText(v.Str, sep)
	case readers.KindInt:
		return strconv.FormatInt(v.Int, 10), nil
	case readers.KindFloat:
		if v.Float != math.Trunc(v.Float) || math.Abs(v.Float) > 1<<53 {
			return "", fmt.Errorf("not a whole number that a float holds exactly: %v", v.Float)
		}
		return strconv.FormatFloat(v.Float, 'f', 0, 64), nil
	}
	return "", fmt.Errorf("a %s is not a whole number", v.Kind)
}

// maxExponent bounds the exponent wholeText expands, so that "1e999999"
// is refused rather than written out.
const maxExponent = 40

// wholeText reads number text (sign, digits, a fraction after sep, an
// exponent) that is a whole number and returns its digits exactly, without
// leading zeros: "1.000001E6" is "1000001", "-3.0" is "-3". A fraction
// left after the exponent is refused.
func wholeText(s, sep string) (string, error) {
	bad := func() (string, error) { return "", fmt.Errorf("not a whole number: %q", s) }
	neg := false
	t := s
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	mant, exp := t, 0
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mant = t[:i]
		// Atoi reads one sign; trimming a "+" first let "0e++0" through.
		e, err := strconv.Atoi(t[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return bad()
		}
		exp = e
	}
	whole, frac, hasSep := strings.Cut(mant, sep)
	if whole == "" || (hasSep && frac == "") { // ".5", "5." as toInteger refuses them
		return bad()
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return bad()
			}
		}
	}
	digits := whole + frac
	exp -= len(frac)
	if exp >= 0 {
		digits += strings.Repeat("0", exp)
	} else {
		cut := len(digits) + exp
		if cut < 0 {
			cut = 0
		}
		if strings.Trim(digits[cut:], "0") != "" {
			return "", fmt.Errorf("not a whole number: %q (it has a fraction)", s)
		}
		digits = digits[:cut]
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "0", nil
	}
	if neg {
		digits = "-" + digits
	}
	return digits, nil
}

// appendGrouped is appendCell for number text of a field with thousands
// set: the separator is taken out of the whole part, where it must group
// the digits by three (1.234.567,5 with thousands: "." and decimal: ","),
// and the rest is read as without it.
func appendGrouped(dst []byte, f *Field, s string) ([]byte, error) {
	plain, ok := ungroup(s, f.Thousands, f.Decimal)
	if !ok {
		return dst, fmt.Errorf("not a number: %q (thousands: %q groups the digits by three, as in 1%s234%s567)", s, f.Thousands, f.Thousands, f.Thousands)
	}
	v := readers.Value{Kind: readers.KindString, Str: plain}
	if f.Type == config.TypeInteger {
		i, err := toInteger(&v, f.Decimal)
		if err != nil {
			return dst, fmt.Errorf("not a whole number: %q", s)
		}
		return appendInt(dst, i), nil
	}
	out, err := appendNumberText(dst, plain, f.Decimal)
	if err != nil {
		return dst, fmt.Errorf("not a number: %q", s)
	}
	return out, nil
}

// ungroup takes the thousands separator sep out of the whole part of s
// (before the decimal separator), checking that it stands between groups
// of three digits after a first group of one to three. Text without sep is
// returned as it is.
func ungroup(s, sep, decimal string) (string, bool) {
	if !strings.Contains(s, sep) {
		return s, true
	}
	whole, frac := s, ""
	if i := strings.Index(s, cmp.Or(decimal, ".")); i >= 0 {
		whole, frac = s[:i], s[i:]
	}
	if strings.Contains(frac, sep) {
		return s, false
	}
	sign := ""
	if whole != "" && (whole[0] == '-' || whole[0] == '+') {
		sign, whole = whole[:1], whole[1:]
	}
	groups := strings.Split(whole, sep)
	for i, g := range groups {
		if (i == 0 && (len(g) < 1 || len(g) > 3)) || (i > 0 && len(g) != 3) {
			return s, false
		}
		for j := 0; j < len(g); j++ {
			if g[j] < '0' || g[j] > '9' {
				return s, false
			}
		}
	}
	return sign + strings.Join(groups, "") + frac, true
}

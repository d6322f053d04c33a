package readers

import (
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a Value as the input stored it.
type Kind uint8

// The kinds of Value. CSV cells are always KindString (or KindNull for an
// empty cell); Parquet columns keep their logical type so that the mapping
// does not re-parse numbers and timestamps from text.
const (
	KindNull    Kind = iota // absent: empty CSV cell, Parquet null
	KindString              // Str
	KindInt                 // Int
	KindFloat               // Float
	KindBool                // Bool
	KindTime                // Time (an instant; UTC for Parquet timestamps)
	KindDate                // Time at midnight UTC of the date
	KindDecimal             // Str holds the exact decimal as written, e.g. "12.50"
	KindList                // List
)

var kindNames = [...]string{"null", "string", "int", "float", "bool", "time", "date", "decimal", "list"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one typed cell. It is kept small (64 bytes): booleans, times and
// dates live in Int (see BoolValue, TimeValue, DateValue), read back with
// the Bool and Time methods.
type Value struct {
	Kind Kind
	// Wall marks a KindTime that is a wall-clock time with no zone (a
	// Parquet timestamp not adjusted to UTC): its fields are held as if in
	// UTC, and a reader of it supplies the zone.
	Wall  bool
	Str   string
	Int   int64 // KindInt; KindBool 0/1; KindTime ns since the epoch; KindDate days since the epoch
	Float float64
	List  []Value
}

// BoolValue returns a KindBool Value.
func BoolValue(b bool) Value {
	v := Value{Kind: KindBool}
	if b {
		v.Int = 1
	}
	return v
}

// TimeValue returns a KindTime Value for an instant. An instant that
// nanoseconds since 1970 cannot hold (before 1678 or after 2262) comes back
// as its RFC 3339 text, which the mapping parses all the same.
func TimeValue(t time.Time) Value {
	ns := t.UnixNano()
	if !time.Unix(0, ns).Equal(t) {
		return Value{Kind: KindString, Str: t.UTC().Format(time.RFC3339Nano)}
	}
	return Value{Kind: KindTime, Int: ns}
}

// WallTimeValue returns a KindTime Value for a wall-clock time without a
// zone, given with its fields in UTC.
func WallTimeValue(t time.Time) Value {
	v := TimeValue(t)
	if v.Kind == KindTime {
		v.Wall = true
	} else {
		v.Str = t.UTC().Format(WallLayout)
	}
	return v
}

// WallLayout is RFC 3339 without the offset: how a wall-clock time is
// written as text.
const WallLayout = "2006-01-02T15:04:05.999999999"

// DateValue returns a KindDate Value for the date of t in UTC.
func DateValue(t time.Time) Value {
	y, m, d := t.UTC().Date()
	return Value{Kind: KindDate, Int: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400}
}

// Bool returns a KindBool value's boolean.
func (v Value) Bool() bool { return v.Int != 0 }

// Time returns a KindTime value's instant or a KindDate value's midnight,
// in UTC.
func (v Value) Time() time.Time {
	if v.Kind == KindDate {
		return time.Unix(v.Int*86400, 0).UTC()
	}
	return time.Unix(0, v.Int).UTC()
}

// StringValue returns a KindString Value, or a null Value for "".
func StringValue(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{Kind: KindString, Str: s}
}

// IsNull reports whether the value is absent.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// String renders the value as text: numbers without exponent where exact,
// times in RFC 3339 (nanoseconds only where present; a wall-clock time as
// if in UTC), dates as YYYY-MM-DD,
// lists joined with "|". Null is "".
func (v Value) String() string {
	switch v.Kind {
	case KindString, KindDecimal:
		return v.Str
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float, 'f', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.Bool())
	case KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case KindDate:
		return v.Time().Format(time.DateOnly)
	case KindList:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = e.String()
		}
		return strings.Join(parts, "|")
	}
	return ""
}

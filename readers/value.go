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

// Value is one typed cell.
type Value struct {
	Kind  Kind
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Time  time.Time
	List  []Value
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
// times in RFC 3339 (nanoseconds only where present), dates as YYYY-MM-DD,
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
		return strconv.FormatBool(v.Bool)
	case KindTime:
		return v.Time.Format(time.RFC3339Nano)
	case KindDate:
		return v.Time.Format(time.DateOnly)
	case KindList:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = e.String()
		}
		return strings.Join(parts, "|")
	}
	return ""
}

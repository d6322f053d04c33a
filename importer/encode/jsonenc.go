package encode

import (
	"strconv"

	"github.com/insider-import/insider-import/internal/jsonstr"
)

// The payload is written with a small appender into reused buffers rather
// than encoding/json: it decides the pipeline's ceiling (PERFORMANCE.md),
// and its output is deterministic, so the same rows always give the same
// bytes and a re-sent batch is byte-identical.

// appendString appends s as a JSON string (jsonstr.AppendString: invalid
// UTF-8 becomes U+FFFD).
func appendString(dst []byte, s string) []byte { return jsonstr.AppendString(dst, s) }

// appendKey appends "key": to an object, preceded by a comma unless it is
// the object's first member (jsonstr.AppendKey).
func appendKey(dst []byte, first bool, key string) []byte { return jsonstr.AppendKey(dst, first, key) }

// appendFieldKey is appendKey for a field's name, encoded once (f.key).
func appendFieldKey(dst []byte, first bool, f *Field) []byte {
	if f.key == "" {
		return appendKey(dst, first, f.Name)
	}
	if !first {
		dst = append(dst, ',')
	}
	return append(dst, f.key...)
}

func appendInt(dst []byte, i int64) []byte { return strconv.AppendInt(dst, i, 10) }

func appendFloat(dst []byte, f float64) []byte { return strconv.AppendFloat(dst, f, 'f', -1, 64) }

// isJSONNumber reports whether s is a number literal as JSON writes it.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		i = skipDigits(s, i)
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		i = skipDigits(s, i)
		if i == d {
			return false
		}
	}
	return i == len(s)
}

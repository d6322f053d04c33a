package encode

import (
	"fmt"

	"github.com/insider-import/insider-import/readers"
)

// nullMarkers are the texts other tools write for NULL: MySQL, PostgreSQL's
// text format, Hive and Snowflake (\N), SQL dumps (NULL), pandas (NaN,
// <NA>, None), R (NA), spreadsheets (#N/A).
var nullMarkers = []string{`\N`, "NULL", "null", "Null", "NaN", "nan", "None", "none", "NA", "N/A", "n/a", "#N/A", "<NA>", "(null)", "nil", "undefined"}

// CellError is the message for cell v that its field's type refused with
// err. A cell that is another tool's NULL marker says so, and how to read
// it as absent.
func CellError(err error, v *readers.Value) string {
	if v.Kind == readers.KindString && len(v.Str) <= 9 {
		for _, m := range nullMarkers {
			if v.Str == m {
				return fmt.Sprintf("%v; %q looks like a NULL marker; add it to source.null_values", err, v.Str)
			}
		}
	}
	return err.Error()
}

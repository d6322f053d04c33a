package encode

import (
	"fmt"
	"strings"
)

// Problem is one reason a row cannot be sent: the column and field it is
// about (if any), the rule that failed, and a message. The Mapper
// finds them; the rejects files write them as they are (rejects.Problem
// is this type).
type Problem struct {
	Column string `json:"column,omitempty"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
	Msg    string `json:"message"`
}

// String is the problem as the report and the rejects' reason give it:
// "column price (unit_sale_price): type(number): not a number: ...".
func (p Problem) String() string {
	var b strings.Builder
	if p.Column != "" {
		fmt.Fprintf(&b, "column %s", p.Column)
		if p.Field != "" && p.Field != p.Column {
			fmt.Fprintf(&b, " (%s)", p.Field)
		}
		b.WriteString(": ")
	} else if p.Field != "" {
		fmt.Fprintf(&b, "%s: ", p.Field)
	}
	fmt.Fprintf(&b, "%s: %s", p.Rule, p.Msg)
	return b.String()
}

package rejects

import (
	"strconv"

	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/internal/jsonstr"
	"github.com/insider-import/insider-import/readers"
)

// Record is one rejected row as the files write it.
type Record struct {
	Pos      readers.Position // where the row was read
	Cells    []string         // its cells as text, in the input's order
	Reason   string           // one line: why it was rejected
	Problems []Problem        // what the importer found, if it was
	Messages []string         // Insider's messages, if Insider rejected it
}

// Problem is one reason a row cannot be sent: the column and field it is
// about (if any), the rule that failed, and a message. The importer's
// encoder finds them (encode.Problem); the files write them as they are.
type Problem = encode.Problem

// appendJSONLines appends one JSON line a reject to b: file, row, line,
// reason, problems, Insider's messages, and the cells by column (cols).
func appendJSONLines(b []byte, file string, cols []string, recs []Record) []byte {
	for _, rr := range recs {
		b = append(b, `{"file":`...)
		b = jsonstr.AppendString(b, file)
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, rr.Pos.Row(), 10)
		if rr.Pos.Line > 0 {
			b = append(b, `,"line":`...)
			b = strconv.AppendInt(b, rr.Pos.Line, 10)
		}
		b = append(b, `,"reason":`...)
		b = jsonstr.AppendString(b, rr.Reason)
		if len(rr.Problems) > 0 {
			b = append(b, `,"problems":[`...)
			for i, p := range rr.Problems {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				first := true
				for _, kv := range [][2]string{{"column", p.Column}, {"field", p.Field}, {"rule", p.Rule}, {"message", p.Msg}} {
					if kv[1] == "" {
						continue
					}
					b = jsonstr.AppendKey(b, first, kv[0])
					b = jsonstr.AppendString(b, kv[1])
					first = false
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		if len(rr.Messages) > 0 {
			b = append(b, `,"insider_messages":[`...)
			for i, m := range rr.Messages {
				if i > 0 {
					b = append(b, ',')
				}
				b = jsonstr.AppendString(b, m)
			}
			b = append(b, ']')
		}
		b = append(b, `,"cells":{`...)
		for i, v := range rr.Cells {
			name := "column_" + strconv.Itoa(i+1)
			if i < len(cols) {
				name = cols[i]
			}
			b = jsonstr.AppendKey(b, i == 0, name)
			b = jsonstr.AppendString(b, v)
		}
		b = append(b, "}}\n"...)
	}
	return b
}

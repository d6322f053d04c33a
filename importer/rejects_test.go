package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/ledger/rejects"
	"github.com/insider-import/insider-import/internal/jsonstr"
	"github.com/insider-import/insider-import/readers"
)

// The rejects package encodes its JSON strings itself, one byte a step; its
// lines must hold each cell exactly as the payload's appendString writes it.
func TestRejectsLinesEncodeCellsAsThePayload(t *testing.T) {
	cells := []string{"plain", "quote\" back\\slash", "\n\r\t\x00\x1f\x7f", "é€\U0001F600", "\u2028\u2029", "\xff\xc3 bad", "\xed\xa0\x80"}
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w := rejects.New(path, nil)
	_, err := w.Resume(nil)
	require.NoError(t, err)
	rec := record(1, cells...)
	rr := ledger.Reject{Pos: rec.Pos, Row: toRow(rec), Problems: []encode.Problem{{Column: "c\"1", Rule: "x", Msg: "bad\x01"}}}
	require.NoError(t, w.Write("in.csv", []rejects.Record{rr.Record()}))
	require.NoError(t, w.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	line := string(b)
	for i, c := range cells {
		want := string(jsonstr.AppendKey(nil, i == 0, "column_"+string(rune('1'+i)))) + string(jsonstr.AppendString(nil, c))
		assert.True(t, strings.Contains(line, want), "cell %q: want %s in %s", c, want, line)
	}
	assert.Contains(t, line, `"reason":`+string(jsonstr.AppendString(nil, rr.Reason())))
	assert.Contains(t, line, `"problems":[{"column":`+string(jsonstr.AppendString(nil, "c\"1"))+`,"rule":"x","message":`+string(jsonstr.AppendString(nil, "bad\x01"))+`}]`)
}

func toRow(rec readers.Record) *encode.Row { return &encode.Row{Src: rec} }

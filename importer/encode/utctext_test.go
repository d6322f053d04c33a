package encode

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// A timestamp cell copied as it is (utcText) is byte for byte what
// appendTime writes of the time read from it; any other text is formatted.
func TestUTCTextSameAsAppendTime(t *testing.T) {
	texts := []string{"2024-01-01T00:06:33Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-02-29T12:00:00Z",
		"2024-01-01t00:06:33Z", "2024-01-01T00:06:33z", "2024-01-01 00:06:33Z", "2024-01-01T00:06:33.5Z",
		"2024-01-01T00:06:33+01:00", "2024-01-01T00:06:33", "2024-01-01", "0000-01-01T00:00:00Z"}
	rng := rand.New(rand.NewPCG(7, 9))
	for range 2000 {
		texts = append(texts, time.Unix(rng.Int64N(253402300800+62135596800)-62135596800, 0).UTC().Format(time.RFC3339))
	}
	copied := 0
	for _, layout := range []string{"", layoutRFC3339, "2006-01-02T15:04:05Z"} {
		for _, typ := range []config.FieldType{config.TypeDateTime, config.TypeDate} {
			f := &Field{}
			f.Column, f.Type, f.Layout, f.Timezone = "ts", typ, layout, time.FixedZone("X", 3600)
			for _, s := range texts {
				v := &readers.Value{Kind: readers.KindString, Str: s}
				ts, err := timeOf(f, v)
				text := utcText(f, v, err)
				if err != nil {
					assert.Empty(t, text, s)
					continue
				}
				if text != "" {
					copied++
				}
				e := &EventSpec{Name: "purchase"}
				want := append([]byte(`{"event_name":"purchase","timestamp":`), appendTime(nil, ts)...)
				require.Equal(t, string(want), string(appendEventHead(nil, e, "purchase", ts, text)), "%s as %q %s", s, layout, typ)
			}
		}
	}
	assert.Greater(t, copied, 2000, "the usual text is copied")
}

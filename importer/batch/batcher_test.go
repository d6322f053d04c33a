package batch

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// testSettings are the batch settings of a mapping of two attributes,
// name and custom tier (a row's Attrs[0] and Attrs[1]).
func testSettings(t *testing.T) Settings {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(`
source: {paths: [x]}
insider: {partner: acme, array_attributes: overwrite}
mapping:
  identifiers: {email: email}
  attributes: {name: name, custom: {tier: tier}}
`), encode.CheckValue)
	require.NoError(t, err)
	return SettingsOf(cfg)
}

// A user met again while its batch is open joins its earlier user object:
// one object per user per request, later values winning, events in row
// order.
func TestBatcherJoinsUserInOpenBatch(t *testing.T) {
	s := testSettings(t)
	s.Users = 10
	mk := func(i int, email, tier string) *unit {
		r := &encode.Row{Src: readers.Record{Pos: posAt(i)}, Key: []byte(`{"email":"` + email + `"}`),
			Attrs: [][]byte{nil, []byte(`"` + tier + `"`)}, Evs: [][]byte{[]byte(fmt.Sprintf(`{"event_name":"e%d"}`, i))}}
		return &unit{first: r.Src.Pos, rows: []*encode.Row{r}, users: []*encode.Row{r}}
	}
	bt := newBatcher(s)
	for i, u := range []*unit{mk(0, "a", "v1"), mk(1, "b", "v1"), mk(2, "a", "v2"), mk(3, "a", "v3")} {
		require.Nil(t, bt.add(u), "row %d", i)
	}
	b := bt.cut(posAt(4))
	require.Equal(t, 2, b.NUsers())
	assert.Len(t, b.units, 4, "every row stays in the batch's range")
	var body struct {
		Users []struct {
			Identifiers map[string]string `json:"identifiers"`
			Attributes  struct {
				Custom map[string]string `json:"custom"`
			} `json:"attributes"`
			Events []map[string]string `json:"events"`
		} `json:"users"`
	}
	require.NoError(t, json.Unmarshal(b.body, &body), "%s", b.body)
	require.Len(t, body.Users, 2)
	assert.Equal(t, "a", body.Users[0].Identifiers["email"])
	assert.Equal(t, "v3", body.Users[0].Attributes.Custom["tier"])
	assert.Equal(t, []map[string]string{{"event_name": "e0"}, {"event_name": "e2"}, {"event_name": "e3"}}, body.Users[0].Events)
	assert.Equal(t, "v1", body.Users[1].Attributes.Custom["tier"])
	// Offsets still cut the body into its users (for splitting).
	sub := b.SubBody(1, 2)
	assert.Contains(t, string(sub), `"email":"b"`)
	assert.NotContains(t, string(sub), `"email":"a"`)
}

// TestBatcherRebuildsJoinedUsersOnly holds a batch whose users were joined
// to the body a fresh encoding of its final users gives: joined users are
// encoded again, the others copied, at the start, middle and end.
func TestBatcherRebuildsJoinedUsersOnly(t *testing.T) {
	s := testSettings(t)
	s.Users = 10
	mk := func(i int, email string) *unit {
		r := &encode.Row{Src: readers.Record{Pos: posAt(i)}, Key: []byte(`{"email":"` + email + `"}`),
			Attrs: [][]byte{nil, []byte(fmt.Sprintf(`"t%d"`, i))}, Evs: [][]byte{[]byte(fmt.Sprintf(`{"event_name":"e%d"}`, i))}}
		return &unit{first: r.Src.Pos, rows: []*encode.Row{r}, users: []*encode.Row{r}}
	}
	bt := newBatcher(s)
	for i, email := range []string{"a", "b", "c", "b", "d", "e", "d"} {
		require.Nil(t, bt.add(mk(i, email)), "row %d", i)
	}
	// What the final users encode to, before cut releases the rows.
	want := append([]byte(nil), bt.prefix...)
	for k, u := range bt.cur.userUnit {
		if k > 0 {
			want = append(want, ',')
		}
		want = encode.AppendUser(want, bt.attrs, u.users, s.NotAppend)
	}
	want = append(want, bt.suffix...)
	// The attribute hashes Order compares, kept up as users were placed
	// and joined, are those of the final users (the last row wins).
	n := len(s.Attributes)
	wantAttrs := make([]uint64, len(bt.cur.userUnit)*n)
	for k, u := range bt.cur.userUnit {
		hashAttrs(wantAttrs[k*n:(k+1)*n], u.users)
	}
	require.Equal(t, wantAttrs, bt.cur.userAttrs)
	assert.NotEqual(t, wantAttrs[1*n+1], wantAttrs[3*n+1], "b's tier is t3, d's t6")
	b := bt.cut(posAt(7))
	require.Equal(t, 5, b.NUsers())
	assert.Equal(t, string(want), string(b.body))
	for k := range b.NUsers() {
		assert.Contains(t, string(b.SubBody(k, k+1)), fmt.Sprintf(`"email":"%c"`, "abcde"[k]))
	}
}

func posAt(i int) readers.Position { return readers.Position{Index: int64(i), Offset: -1} }

// TestBatcherBoundedJoinsCutAsExact holds the batches that joins sized by
// a bound (encode.GrowthBound) give to those of joins all sized exactly,
// under byte limits tight enough that joins meet them often: the same
// bodies, cut at the same rows, each within the limit.
func TestBatcherBoundedJoinsCutAsExact(t *testing.T) {
	s := testSettings(t)
	s.Users = 6
	mk := func(i int) *unit {
		h := uint32(i*2654435761) >> 7
		r := &encode.Row{Src: readers.Record{Pos: posAt(i)}, Key: []byte(fmt.Sprintf(`{"email":"u%d"}`, h%5))}
		if h%3 != 0 {
			r.Attrs = [][]byte{nil, []byte(fmt.Sprintf(`"%s"`, strings.Repeat("t", int(h%17))))}
		}
		for e := range h % 4 {
			r.Evs = append(r.Evs, []byte(fmt.Sprintf(`{"event_name":"e%d_%d"}`, i, e)))
		}
		if r.Attrs == nil && r.Evs == nil {
			r.Evs = [][]byte{[]byte(`{"event_name":"x"}`)}
		}
		return &unit{first: r.Src.Pos, rows: []*encode.Row{r}, users: []*encode.Row{r}}
	}
	run := func(bytes int) []string {
		s := s
		s.Bytes = bytes
		bt := newBatcher(s)
		var out []string
		keep := func(b *Batch) {
			if b != nil {
				assert.LessOrEqual(t, len(b.body), bytes)
				out = append(out, fmt.Sprintf("%d-%d %s", b.start.Index, b.end.Index, b.body))
			}
		}
		for i := range 400 {
			keep(bt.add(mk(i)))
		}
		keep(bt.cut(posAt(400)))
		return out
	}
	for _, limit := range []int{200, 260, 333, 420, 600, 1000, 2000} {
		bounded := run(limit)
		growthBound = func([]encode.Field, []*encode.Row) int { return 1 << 40 }
		exact := run(limit)
		growthBound = encode.GrowthBound
		require.Greater(t, len(exact), 10, "limit %d", limit)
		require.Equal(t, len(exact), len(bounded), "limit %d: batches", limit)
		for i := range exact {
			require.Equal(t, exact[i], bounded[i], "limit %d: batch %d", limit, i)
		}
	}
}

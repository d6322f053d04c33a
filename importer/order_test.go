package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// scatteredUsers writes users×per rows over two files, each user in per
// rows at random places, its tier going v1, v2, … in input order (file a,
// then b). It returns the paths and each user's last tier by email.
func scatteredUsers(t testing.TB, dir string, users, per int, seed uint64, same ...bool) ([]string, map[string]string) {
	t.Helper()
	order := make([]int, 0, users*per)
	for u := range users {
		for range per {
			order = append(order, u)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	seen := make([]int, users)
	last := map[string]string{}
	now := time.Now()
	var paths []string
	for f, part := range [][]int{order[:len(order)/2], order[len(order)/2:]} {
		var b strings.Builder
		b.WriteString("id,email,name,tier,order,cur,price,qty,ts\n")
		for i, u := range part {
			seen[u]++
			tier := fmt.Sprintf("v%d", seen[u])
			if len(same) > 0 && same[0] {
				tier = "v1"
			}
			email := fmt.Sprintf("user%d@example.com", u)
			fmt.Fprintf(&b, "%d,%s,Name %d,%s,O-%d-%d,EUR,1.50,1,%s\n", 90000000000000000+u, email, u, tier, f, i,
				now.Add(-time.Duration(i)*time.Second).UTC().Format(time.RFC3339))
			last[email] = tier
		}
		p := filepath.Join(dir, fmt.Sprintf("part%d.csv", f))
		require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
		paths = append(paths, p)
	}
	return paths, last
}

// tierStore is a stand-in that keeps, like Insider, the attribute value
// that arrives last: each request is held back a random time (as a busy
// API on several connections would) and then applied.
type tierStore struct {
	mu    sync.Mutex
	tier  map[string]string
	users int
}

func (s *tierStore) record(body []byte, _ upsert.Response) {
	var req struct {
		Users []struct {
			Identifiers struct {
				Email string `json:"email"`
			} `json:"identifiers"`
			Attributes struct {
				Custom struct {
					Tier string `json:"tier"`
				} `json:"custom"`
			} `json:"attributes"`
		} `json:"users"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range req.Users {
		s.users++
		if u.Attributes.Custom.Tier != "" {
			s.tier[u.Identifiers.Email] = u.Attributes.Custom.Tier
		}
	}
}

// A user's rows reach Insider in input order, across batches, workers and
// files: with every user in 5 scattered rows and answers held back at
// random, the value the stand-in keeps is the last row's, for every user.
func TestUsersInOrder(t *testing.T) {
	const users = 400
	dir := t.TempDir()
	files, want := scatteredUsers(t, dir, users, 5, uint64(time.Now().UnixNano()))
	store := &tierStore{tier: map[string]string{}}
	fake := fakeapi.New(fakeapi.Options{Token: testKey, Record: store.record})
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 7))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		d := time.Duration(rng.IntN(15)) * time.Millisecond
		mu.Unlock()
		time.Sleep(d)
		r.Body = io.NopCloser(bytes.NewReader(b))
		fake.ServeHTTP(w, r)
	}))
	defer ts.Close()
	cfg := testConfig(t, ts.URL+upsert.Path, files, "")
	cfg.Delivery.Workers = 8
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore()})
	require.NoError(t, err)
	assert.EqualValues(t, users*5, rep.EventsSent)

	store.mu.Lock()
	defer store.mu.Unlock()
	require.Len(t, store.tier, users)
	wrong := 0
	for email, tier := range want {
		if store.tier[email] != tier {
			if wrong < 5 {
				t.Errorf("%s: Insider keeps %s, the last row says %s", email, store.tier[email], tier)
			}
			wrong++
		}
	}
	assert.Zero(t, wrong, "users whose last value did not arrive last")
	t.Logf("%d rows, %d user objects sent in %d requests", users*5, store.users, rep.Requests)
}

// A user met again while its batch is open joins its earlier user object:
// one object per user per request, later values winning, events in row
// order.
func TestBatcherJoinsUserInOpenBatch(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1"+upsert.Path, []string{"x"}, "")
	cfg.Delivery.BatchUsers = 10
	mk := func(i int, email, tier string) *unit {
		r := &encode.Row{Src: readers.Record{Pos: posAt(i)}, Key: []byte(`{"email":"` + email + `"}`),
			Attrs: [][]byte{nil, []byte(`"` + tier + `"`)}, Evs: [][]byte{[]byte(fmt.Sprintf(`{"event_name":"e%d"}`, i))}}
		return &unit{first: r.Src.Pos, rows: []*encode.Row{r}, users: []*encode.Row{r}}
	}
	bt := newBatcher(cfg)
	for i, u := range []*unit{mk(0, "a", "v1"), mk(1, "b", "v1"), mk(2, "a", "v2"), mk(3, "a", "v3")} {
		require.Nil(t, bt.add(u), "row %d", i)
	}
	b := bt.cut(posAt(4))
	require.Equal(t, 2, b.nUsers())
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
	sub := bt.subBody(b, 1, 2)
	assert.Contains(t, string(sub), `"email":"b"`)
	assert.NotContains(t, string(sub), `"email":"a"`)
}

// TestBatcherRebuildsJoinedUsersOnly holds a batch whose users were joined
// to the body a fresh encoding of its final users gives: joined users are
// encoded again, the others copied, at the start, middle and end.
func TestBatcherRebuildsJoinedUsersOnly(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1"+upsert.Path, []string{"x"}, "")
	cfg.Delivery.BatchUsers = 10
	mk := func(i int, email string) *unit {
		r := &encode.Row{Src: readers.Record{Pos: posAt(i)}, Key: []byte(`{"email":"` + email + `"}`),
			Attrs: [][]byte{nil, []byte(fmt.Sprintf(`"t%d"`, i))}, Evs: [][]byte{[]byte(fmt.Sprintf(`{"event_name":"e%d"}`, i))}}
		return &unit{first: r.Src.Pos, rows: []*encode.Row{r}, users: []*encode.Row{r}}
	}
	bt := newBatcher(cfg)
	for i, email := range []string{"a", "b", "c", "b", "d", "e", "d"} {
		require.Nil(t, bt.add(mk(i, email)), "row %d", i)
	}
	// What the final users encode to, before cut releases the rows.
	want := append([]byte(nil), bt.prefix...)
	for k, u := range bt.cur.userUnit {
		if k > 0 {
			want = append(want, ',')
		}
		want = encode.AppendUser(want, bt.attrs, u.users, cfg.Insider.NotAppend)
	}
	want = append(want, bt.suffix...)
	b := bt.cut(posAt(7))
	require.Equal(t, 5, b.nUsers())
	assert.Equal(t, string(want), string(b.body))
	for k := range b.nUsers() {
		assert.Contains(t, string(bt.subBody(b, k, k+1)), fmt.Sprintf(`"email":"%c"`, "abcde"[k]))
	}
}

func posAt(i int) readers.Position { return readers.Position{Index: int64(i), Offset: -1} }

// BenchmarkUsersInOrder measures what keeping users in order costs: 50,000
// rows into an API that answers in 20ms, 8 workers, 500-user batches,
// where every user is in 5 rows at random places and every row changes its
// tier (scattered5: nearly every batch holds a user of a batch still in
// flight, so it waits), or keeps it (scattered5-unchanged: no waits),
// against the same number of rows of distinct users (distinct).
func BenchmarkUsersInOrder(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(20 * time.Millisecond)
		fmt.Fprintf(w, `{"data":{"successful":{"count":%d},"fail":{}}}`, bytes.Count(body, []byte(`{"identifiers":`)))
	}))
	defer ts.Close()
	for _, c := range []struct {
		name       string
		users, per int
		same       bool
	}{{"distinct", 50_000, 1, false}, {"scattered5", 10_000, 5, false}, {"scattered5-unchanged", 10_000, 5, true}} {
		b.Run(c.name, func(b *testing.B) {
			files, _ := scatteredUsers(b, b.TempDir(), c.users, c.per, 1, c.same)
			cfg := testConfig(b, ts.URL+upsert.Path, files, "")
			cfg.Delivery.Workers, cfg.Delivery.BatchUsers = 8, 500
			var reqs int64
			for b.Loop() {
				rep, err := Run(context.Background(), cfg, Options{APIKey: testKey})
				if err != nil && !errors.Is(err, ErrIncomplete) {
					b.Fatal(err)
				}
				reqs = rep.Requests
			}
			b.ReportMetric(float64(reqs), "requests")
		})
	}
}

// A batch waits only for unanswered batches that set one of its users'
// attributes to another value: an unchanged value or events alone need no
// order.
func TestUserOrderWaitsOnlyForChangedValues(t *testing.T) {
	o := newUserOrder()
	mk := func(vals ...uint64) *batch { // one user "u", two attributes
		return &batch{userHash: []uint64{42}, userAttrs: vals, answered: make(chan struct{})}
	}
	b1 := mk(1, 0)
	b2 := mk(1, 0) // same value: no wait
	b3 := mk(0, 7) // another attribute, first value: no wait
	b4 := mk(2, 0) // changed: waits for b1 and b2, which set the old value
	b5 := mk(0, 0) // events only
	for _, b := range []*batch{b1, b2, b3, b4, b5} {
		o.dispatch(b)
	}
	assert.Empty(t, b1.after)
	assert.Empty(t, b2.after)
	assert.Empty(t, b3.after)
	assert.ElementsMatch(t, []*batch{b1, b2}, b4.after)
	assert.Empty(t, b5.after)
	for _, b := range []*batch{b1, b2, b3, b4, b5} {
		o.answered(b)
	}
	assert.Empty(t, o.users, "nothing kept once every batch is answered")
	b6 := mk(3, 7)
	o.dispatch(b6)
	assert.Empty(t, b6.after)
}

// A batch answered while others are in flight is not followed by a batch
// dispatched after it, though its entries stay until met (userOrder), and
// the map keeps nothing once every batch is answered.
func TestUserOrderDropsAnsweredBeforeDispatch(t *testing.T) {
	o := newUserOrder()
	mk := func(h uint64, val uint64) *batch {
		return &batch{userHash: []uint64{h}, userAttrs: []uint64{val}, answered: make(chan struct{})}
	}
	b1, other := mk(42, 1), mk(7, 1)
	o.dispatch(b1)
	o.dispatch(other) // keeps a batch in flight
	o.answered(b1)
	b2 := mk(42, 2) // another value for b1's user
	o.dispatch(b2)
	assert.Empty(t, b2.after, "b1 was answered")
	refs, held := o.users[42]
	assert.True(t, held, "b2 holds user 42")
	assert.Equal(t, userRefs{first: userRef{b2, 0}}, refs, "b1's entry is replaced")
	b3 := mk(42, 3)
	o.dispatch(b3)
	assert.Equal(t, []*batch{b2}, b3.after)
	for _, b := range []*batch{other, b2, b3} {
		o.answered(b)
	}
	assert.Empty(t, o.users)
	assert.Zero(t, o.live)
}

// The entries of answered batches are swept once they outnumber the users
// in flight: with one batch kept in flight, the map stays bounded however
// many users pass, and the sweep keeps what is in flight.
func TestUserOrderSweepsAnsweredEntries(t *testing.T) {
	o := newUserOrder()
	open := &batch{userHash: []uint64{1}, userAttrs: []uint64{1}, answered: make(chan struct{})}
	o.dispatch(open)
	for i := range 100 {
		b := &batch{answered: make(chan struct{})}
		for k := range 500 {
			b.userHash = append(b.userHash, uint64(2+i*500+k))
			b.userAttrs = append(b.userAttrs, 1)
		}
		o.dispatch(b)
		o.answered(b)
		require.LessOrEqual(t, len(o.users), 2*o.live+sweepAt+500, "after batch %d", i)
	}
	assert.Equal(t, 1, o.live)
	again := &batch{userHash: []uint64{1}, userAttrs: []uint64{2}, answered: make(chan struct{})}
	o.dispatch(again)
	assert.Equal(t, []*batch{open}, again.after, "the batch in flight is still followed")
}

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
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
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

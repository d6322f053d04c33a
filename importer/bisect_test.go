package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
)

// badUsersCSV writes n rows: blocks of perBad consecutive rows for each bad
// user at the given row offsets, two rows per user elsewhere, one purchase
// event per row. It returns the path and the bad users' emails.
func badUsersCSV(t *testing.T, dir string, n, perBad int, at []int) (string, []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,email,name,tier,order,cur,price,qty,ts\n")
	now := time.Now()
	var bad []string
	user := 0
	for i := 0; i < n; {
		rows, email := 2, ""
		for k, a := range at {
			if i == a {
				rows, email = perBad, fmt.Sprintf("bad%d@example.com", k)
				bad = append(bad, email)
			}
		}
		if email == "" {
			email = fmt.Sprintf("user%d@example.com", user)
		}
		for r := 0; r < rows && i < n; r, i = r+1, i+1 {
			fmt.Fprintf(&b, "%d,%s,Name %d,t%d,O-%d,EUR,%d.50,%d,%s\n",
				90000000000000000+user, email, user, i%3, i, i%100, 1+i%3, now.Add(-time.Duration(i)*time.Second).UTC().Format(time.RFC3339))
		}
		user++
	}
	p := filepath.Join(dir, "a.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p, bad
}

// TestBisectFreesEveryGoodUser: 10 bad users among 20,000 rows (400 rows
// each, two of them in one batch, two more side by side) make the stand-in
// refuse every request that holds one, with a 400, as Insider does. Every
// good user's events are delivered, the rejects file holds the bad users'
// rows and only those, and the requests stay within one a batch plus
// 2·k·⌈log2 n⌉ for the k bad users.
func TestBisectFreesEveryGoodUser(t *testing.T) {
	const rows, perBad, batchUsers = 20000, 400, 500
	dir := t.TempDir()
	// Batches hold 500 users: about 1000 rows of good users. Bad users at
	// rows 1000 and 1500 share a batch; 9000 and 9400 are neighbours.
	at := []int{1000, 1500, 4000, 6000, 9000, 9400, 12000, 14000, 16500, 19000}
	p, bad := badUsersCSV(t, dir, rows, perBad, at)
	srv := fakeapi.New(fakeapi.Options{Token: testKey})
	var requests, refused atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		for _, e := range bad {
			if bytes.Contains(body, []byte(strconv.Quote(e))) {
				refused.Add(1)
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":"user %s cannot be processed: bad request"}`, e)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	cfg := testConfig(t, ts.URL+upsert.Path, []string{p}, "")
	cfg.Delivery.BatchUsers, cfg.Delivery.Workers = batchUsers, 4
	rejects := filepath.Join(dir, "rejects.jsonl")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)

	goodRows := rows - len(bad)*perBad
	st := srv.Stats()
	assert.EqualValues(t, goodRows, st.DistinctEvents, "every good user's events delivered")
	assert.EqualValues(t, len(bad), rep.UsersRejected)
	assert.EqualValues(t, len(bad)*perBad, rep.RowsRejectedByAPI)

	b, err := os.ReadFile(rejects)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Len(t, lines, len(bad)*perBad, "the bad users' rows, and only those")
	perUser := map[string]int{}
	for _, l := range lines {
		var r struct {
			Messages []string          `json:"insider_messages"`
			Cells    map[string]string `json:"cells"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		e := r.Cells["email"]
		require.Contains(t, bad, e, "a rejected row is a bad user's")
		perUser[e]++
		require.Len(t, r.Messages, 1)
		assert.Contains(t, r.Messages[0], "user "+e+" cannot be processed", "Insider's message, for that user")
	}
	for _, e := range bad {
		assert.Equal(t, perBad, perUser[e], e)
	}

	batches := int64((goodRows/2 + len(bad) + batchUsers - 1) / batchUsers)
	bound := batches + 2*int64(len(bad))*int64(bits.Len(uint(batchUsers-1)))
	assert.LessOrEqual(t, rep.Requests, bound, "one request a batch plus 2·k·⌈log2 n⌉")
	t.Logf("%d requests (%d answered 400) for about %d batches and %d bad users: bound %d", rep.Requests, refused.Load(), batches, len(bad), bound)
}

func TestBisectBound(t *testing.T) {
	// 2·(bad+workers)·⌈log2 n⌉
	for _, c := range []struct {
		bad        int64
		workers, n int
		want       int64
	}{{0, 1, 1, 2}, {0, 1, 2, 2}, {0, 1, 1000, 20}, {1, 1, 1024, 40}, {10, 8, 1025, 396}, {3, 0, 8, 24}} {
		assert.Equal(t, c.want, bisectBound(c.bad, c.workers, c.n), "%+v", c)
	}
}

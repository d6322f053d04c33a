package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/upsert"
)

// Every request body says exactly what its source rows say, also once the
// rows' encoding space is used again for later chunks (encode.RowArena.Recycle):
// 30,000 rows of changing widths over many chunks and small batches, each
// user in three rows 30 apart (so rows join user objects encoded chunks
// before), some rows rejected, every user object and event checked field by
// field against the rows it came from. Recycled space is overwritten at
// once (encode.PoisonRecycled), so a row read after its recycling shows.
func TestBodiesMatchTheirRowsWhenArenasAreReused(t *testing.T) {
	const n = 30_000
	now := time.Now().UTC().Truncate(time.Second)
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("id,email,name,tier,order,cur,price,qty,ts\n")
	name := func(i int) string { return "N" + strings.Repeat("x", (i*37)%300) + fmt.Sprint(i) }
	bad := func(i int) bool { return i%97 == 5 } // an invalid email: rejected
	userOf := func(i int) int { return (i/3)%30 + 30*(i/270) }
	last := map[int]int{} // user -> its last row that is sent
	for i := range n {
		email := fmt.Sprintf("user%d@example.com", userOf(i))
		if bad(i) {
			email = "not-an-email"
		} else {
			last[userOf(i)] = i
		}
		fmt.Fprintf(&csv, "%d,%s,%s,t%d,O-%d,EUR,%d.25,%d,%s\n", 70000000+userOf(i), email, name(i), i%5, i, i%1000, 1+i%4,
			now.Add(-time.Duration(i)*time.Second).Format(time.RFC3339))
	}
	file := filepath.Join(dir, "rows.csv")
	require.NoError(t, os.WriteFile(file, []byte(csv.String()), 0o600))

	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.add(b)
		fmt.Fprintf(w, `{"data":{"successful":{"count":%d},"fail":{}}}`, bytes.Count(b, []byte(`{"identifiers":`)))
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL+upsert.Path, []string{file}, "")
	cfg.Delivery.BatchUsers = 40
	encode.PoisonRecycled = true
	defer func() { encode.PoisonRecycled = false }()
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore(),
		RejectsPath: filepath.Join(dir, "rejects.jsonl")})
	require.ErrorIs(t, err, ErrIncomplete)

	type event struct {
		Name   string `json:"event_name"`
		TS     string `json:"timestamp"`
		Params struct {
			Group    string  `json:"event_group_id"`
			Currency string  `json:"currency"`
			Price    float64 `json:"unit_sale_price"`
			Qty      int     `json:"quantity"`
		} `json:"event_params"`
	}
	type user struct {
		IDs struct {
			UUID  string `json:"uuid"`
			Email string `json:"email"`
		} `json:"identifiers"`
		Attrs struct {
			Name   string            `json:"name"`
			Custom map[string]string `json:"custom"`
		} `json:"attributes"`
		Events []event `json:"events"`
	}
	seen := make([]bool, n)
	users := map[int]bool{}
	for _, body := range rec.bodies {
		var req struct {
			Users []user `json:"users"`
		}
		require.NoError(t, json.Unmarshal(body, &req), "%.200s", body)
		for _, u := range req.Users {
			var id int
			_, err := fmt.Sscanf(u.IDs.UUID, "%d", &id)
			require.NoError(t, err, u.IDs.UUID)
			id -= 70000000
			assert.Equal(t, fmt.Sprintf("user%d@example.com", id), u.IDs.Email)
			var lastHere int
			for _, e := range u.Events {
				var i int
				_, err := fmt.Sscanf(e.Params.Group, "O-%d", &i)
				require.NoError(t, err, e.Params.Group)
				require.True(t, i >= 0 && i < n && !bad(i) && userOf(i) == id, "event of row %d in user %d", i, id)
				require.False(t, seen[i], "row %d sent twice", i)
				seen[i], lastHere = true, max(lastHere, i)
				assert.Equal(t, "purchase", e.Name)
				assert.Equal(t, now.Add(-time.Duration(i)*time.Second).Format(time.RFC3339), e.TS, "row %d", i)
				assert.Equal(t, "EUR", e.Params.Currency)
				assert.InDelta(t, float64(i%1000)+0.25, e.Params.Price, 1e-9, "row %d", i)
				assert.Equal(t, 1+i%4, e.Params.Qty, "row %d", i)
			}
			require.NotEmpty(t, u.Events)
			// Attributes are the last row's of this user object.
			assert.Equal(t, name(lastHere), u.Attrs.Name, "user %d", id)
			assert.Equal(t, map[string]string{"tier": fmt.Sprintf("t%d", lastHere%5)}, u.Attrs.Custom, "user %d", id)
			users[id] = true
		}
	}
	badRows := 0
	for i := range n {
		if bad(i) {
			badRows++
		} else {
			assert.True(t, seen[i], "row %d never sent", i)
		}
	}
	assert.Len(t, users, len(last))
	assert.EqualValues(t, badRows, rep.RowsRejected)
}

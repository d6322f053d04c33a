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
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/ledger"
	"github.com/insider-import/insider-import/importer/upsert"
)

// countingServer answers every upsert as accepted, counting requests,
// users and events without keeping them (so the test's heap is the
// importer's), and the users each request holds.
type countingServer struct {
	requests, users, events atomic.Int64
	maxUsers                atomic.Int64
}

func (s *countingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n := int64(bytes.Count(body, []byte(`{"identifiers":`)))
	s.requests.Add(1)
	s.users.Add(n)
	s.events.Add(int64(bytes.Count(body, []byte(`"event_name":`))))
	for {
		m := s.maxUsers.Load()
		if n <= m || s.maxUsers.CompareAndSwap(m, n) {
			break
		}
	}
	fmt.Fprintf(w, `{"data":{"successful":{"count":%d},"fail":{}}}`, n)
}

// peakHeap samples the live heap every few milliseconds until stop is
// called, which returns the largest sample.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// smallFiles writes n files of 3 rows each (every row another user, one
// event each) into a new directory and returns it.
func smallFiles(t *testing.T, n int, now time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	require.NoError(t, os.Mkdir(dir, 0o700))
	ts := now.Add(-time.Hour).UTC().Format(time.RFC3339)
	var b strings.Builder
	for i := range n {
		b.Reset()
		b.WriteString("id,email,name,tier,order,cur,price,qty,ts\n")
		for j := range 3 {
			u := 3*i + j
			fmt.Fprintf(&b, "%d,user%d@example.com,Name %d,t1,O-%d,EUR,1.50,1,%s\n", 90000000000000000+u, u, u, u, ts)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%06d.csv", i)), []byte(b.String()), 0o600))
	}
	return dir
}

// TestManySmallFiles imports 20,000 files of 3 rows (4,000 under the race
// detector) with 500-user batches: a request holds the rows of many files
// (requests ≈ rows/500), the live heap stays bounded whatever the number
// of files (no per-file state is kept once a file is finished), finished
// files are archived in the checkpoint, and the report lists the first
// files with a total for the rest. A second run reads nothing.
func TestManySmallFiles(t *testing.T) {
	n := 20_000
	if raceEnabled || testing.Short() {
		n = 4_000
	}
	now := time.Now()
	dir := smallFiles(t, n, now)
	srv := &countingServer{}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg := testConfig(t, ts.URL+upsert.Path, []string{dir + "/"}, "")
	cfg.Delivery.BatchUsers = 500
	store, err := checkpoint.NewFileStore(filepath.Join(t.TempDir(), "checkpoints"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close(context.Background()) })

	runtime.GC()
	stop := peakHeap()
	start := time.Now()
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	elapsed := time.Since(start)
	peak := stop()
	require.NoError(t, err)

	rows := int64(3 * n)
	t.Logf("%d files, %d rows: %d requests, peak live heap %.1f MiB, %v", n, rows, srv.requests.Load(), float64(peak)/(1<<20), elapsed.Round(time.Millisecond))
	assert.Equal(t, rows, rep.RowsRead)
	assert.Equal(t, rows, srv.users.Load(), "every user arrived once")
	assert.Equal(t, rows, srv.events.Load(), "every event arrived once")
	assert.LessOrEqual(t, srv.requests.Load(), rows/500+2, "a request holds the users of many files")
	assert.EqualValues(t, 500, srv.maxUsers.Load(), "requests fill up to batch_users")
	// Before batches spanned files and finished files were archived, the
	// heap grew by tens of kilobytes per file (a gigabyte at 16,000).
	assert.Less(t, peak, uint64(64<<20), "peak live heap")

	assert.Len(t, rep.Files, maxListed, "the report lists the first files")
	assert.Equal(t, map[string]int64{"done": int64(n - maxListed)}, rep.FilesNotListed)

	st, err := store.Load(context.Background(), rep.Job)
	require.NoError(t, err)
	finished := 0
	for _, fs := range st.Index() {
		if fs.Finished && fs.RowsAcked == 3 && len(fs.InFlight) == 0 {
			finished++
		}
	}
	assert.Equal(t, n, finished, "every file finished in the checkpoint")
	assert.Less(t, len(st.Files), ledger.ArchiveAfter+1, "finished files are archived: a save writes at most about archiveAfter")
	assert.NotEmpty(t, st.Archived)

	// Resumed: every file is finished, nothing is read or sent.
	before := srv.requests.Load()
	rep2, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Zero(t, rep2.RowsRead)
	assert.Equal(t, before, srv.requests.Load())
	assert.Equal(t, int64(n-maxListed), rep2.FilesNotListed["skipped"])
}

// TestBatchSpansFilesRejectsByFile sends one batch over three files in which
// a row of the second is refused before sending and a user of the third by
// Insider: each reject names its own file, row and cells (read again from
// that file), and each file's checkpoint counts its own rows.
func TestBatchSpansFilesRejectsByFile(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	a := genCSVFrom(t, dir, "a.csv", 0, 4, now)
	b := genCSVFrom(t, dir, "b.csv", 4, 4, now)
	c := genCSVFrom(t, dir, "c.csv", 8, 4, now)
	data, err := os.ReadFile(b)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(b, bytes.Replace(data, []byte(",EUR,5.50,"), []byte(",EUR,abc,"), 1), 0o600)) // b.csv row 2
	srv, url := startFake(t, fakeapi.Options{BadUser: "user5@example.com"})                                       // c.csv rows 3 and 4
	cfg := testConfig(t, url, []string{a, b, c}, "")
	cfg.Delivery.BatchUsers = 500
	store := checkpoint.NewMemoryStore()
	rejects := filepath.Join(dir, "rejects.jsonl")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store, RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.EqualValues(t, 9, srv.Stats().DistinctEvents)
	assert.EqualValues(t, 1, rep.RowsRejected)
	assert.EqualValues(t, 2, rep.RowsRejectedByAPI)

	out, err := os.ReadFile(rejects)
	require.NoError(t, err)
	type reject struct {
		File  string            `json:"file"`
		Row   int64             `json:"row"`
		Cells map[string]string `json:"cells"`
	}
	var got []reject
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r reject
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		got = append(got, r)
	}
	require.Len(t, got, 3, "%s", out)
	assert.Equal(t, b, got[0].File)
	assert.EqualValues(t, 2, got[0].Row)
	assert.Equal(t, "abc", got[0].Cells["price"])
	for i, r := range got[1:] {
		assert.Equal(t, c, r.File)
		assert.EqualValues(t, 3+i, r.Row)
		assert.Equal(t, "user5@example.com", r.Cells["email"], "the cells, read again from c.csv")
	}

	st, err := store.Load(context.Background(), rep.Job)
	require.NoError(t, err)
	for f, want := range map[string][2]int64{a: {4, 0}, b: {3, 1}, c: {2, 2}} {
		fs := st.FileOf(f)
		require.NotNil(t, fs, f)
		assert.True(t, fs.Finished, f)
		assert.Equal(t, want, [2]int64{fs.RowsAcked, fs.RowsRejected}, "%s: acked, rejected", f)
	}
}

// TestResumeRebuildsBatchesOverFiles stops a run of 400 three-row files
// while its first batches (500 users each, over ~167 files) are on the wire
// and unanswered, then resumes it: each batch in flight is rebuilt over the
// same files and re-sent as the one request it was, not one per file.
func TestResumeRebuildsBatchesOverFiles(t *testing.T) {
	dir := smallFiles(t, 400, time.Now())
	var sent atomic.Int64
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that a closed connection ends r.Context
		sent.Add(1)
		select { // no answer
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	cfg := testConfig(t, hang.URL+upsert.Path, []string{dir + "/"}, "")
	cfg.Delivery.BatchUsers = 500
	store := checkpoint.NewMemoryStore()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		for sent.Load() < 1 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	rep, err := Run(ctx, cfg, Options{APIKey: testKey, Store: store, Grace: 10 * time.Millisecond})
	require.ErrorIs(t, err, ErrInterrupted)
	st, err := store.Load(context.Background(), rep.Job)
	require.NoError(t, err)
	cont := 0
	for _, fs := range st.Files {
		for _, r := range fs.InFlight {
			if r.Cont {
				cont++
			}
		}
	}
	assert.Greater(t, cont, 100, "a batch in flight continues over many files")

	srv := &countingServer{}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg2 := testConfig(t, ts.URL+upsert.Path, []string{dir + "/"}, "")
	cfg2.Delivery.BatchUsers = 500
	_, err = Run(context.Background(), cfg2, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 3, srv.requests.Load(), "the batches in flight rebuilt whole, and the rest")
	assert.EqualValues(t, 1200, srv.users.Load())
}

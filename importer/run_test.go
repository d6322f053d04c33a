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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
	"github.com/insider-import/insider-import/readers/s3test"
)

const testKey = "test-key-1234"

// testConfig is a purchases mapping over the columns genCSV writes.
func testConfig(t testing.TB, endpoint string, files []string, extra string) *Config {
	t.Helper()
	paths, _ := json.Marshal(files)
	y := fmt.Sprintf(`
source: {paths: %s}
insider: {endpoint: %q, partner: acme, array_attributes: overwrite}
delivery: {batch_users: 7, workers: 3, requests_per_second: 1000, max_attempts: 4}
%s
mapping:
  identifiers: {email: email, uuid: id}
  attributes:
    name: name
    custom: {tier: tier}
  events:
    - name: purchase
      timestamp: ts
      params: {event_group_id: order, currency: cur, unit_sale_price: {column: price, type: number}, quantity: {column: qty, type: integer}}
`, paths, endpoint, extra)
	cfg, err := ParseConfig("test.yaml", []byte(y))
	require.NoError(t, err)
	return cfg
}

// genCSV writes n rows, two consecutive rows per user, every event dated
// within the last day, and returns the path.
func genCSV(t *testing.T, dir, name string, n int, now time.Time) string {
	return genCSVFrom(t, dir, name, 0, n, now)
}

// genCSVFrom writes rows first..first+n-1 of the same sequence.
func genCSVFrom(t *testing.T, dir, name string, first, n int, now time.Time) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,email,name,tier,order,cur,price,qty,ts\n")
	for i := first; i < first+n; i++ {
		u := i / 2
		fmt.Fprintf(&b, "%d,user%d@example.com,Name %d,t%d,O-%d,EUR,%d.50,%d,%s\n",
			90000000000000000+u, u, u, i%3, i, i%100, 1+i%3, now.Add(-time.Duration(i)*time.Second).UTC().Format(time.RFC3339))
	}
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) add(b []byte) {
	r.mu.Lock()
	r.bodies = append(r.bodies, append([]byte(nil), b...))
	r.mu.Unlock()
}

func startFake(t *testing.T, opts fakeapi.Options) (*fakeapi.Server, string) {
	t.Helper()
	opts.Token = testKey
	srv := fakeapi.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL + upsert.Path
}

func TestRunImportsEveryEventOnce(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	srv, url := startFake(t, fakeapi.Options{})
	files := []string{genCSV(t, dir, "a.csv", 101, now), genCSVFrom(t, dir, "b.csv", 1000, 40, now)}
	cfg := testConfig(t, url, files, "")
	store := checkpoint.NewMemoryStore()
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store, RejectsPath: filepath.Join(dir, "rejects.jsonl")})
	require.NoError(t, err)

	st := srv.Stats()
	assert.Equal(t, int64(141), rep.RowsRead)
	assert.Equal(t, rep.RowsRead, rep.RowsMapped+rep.RowsRejected)
	assert.Equal(t, rep.EventsRead, rep.EventsSent+rep.EventsExpired+rep.EventsFuture+rep.EventsRejected)
	assert.Equal(t, rep.UsersSent, rep.UsersAccepted+rep.UsersRejected)
	assert.EqualValues(t, 141, rep.EventsSent)
	assert.EqualValues(t, 141, st.Events)
	assert.EqualValues(t, 141, st.DistinctEvents)
	assert.EqualValues(t, 51+20, st.UsersAccepted, "two consecutive rows of a user make one user object")
	assert.Zero(t, st.RequestsWithoutSkipHook)
	for _, n := range srv.Events() {
		assert.Equal(t, 1, n)
	}
	saved, err := store.Load(context.Background(), rep.Job)
	require.NoError(t, err)
	for _, f := range files {
		fs := saved.Files[f]
		require.NotNil(t, fs, f)
		assert.True(t, fs.Finished, f)
		assert.Empty(t, fs.InFlight)
		assert.Empty(t, fs.Done)
	}
	_, err = os.Stat(filepath.Join(dir, "rejects.jsonl"))
	assert.True(t, os.IsNotExist(err), "no rejects, no rejects file")

	// A second run finds every file finished and sends nothing.
	rep2, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Zero(t, rep2.Requests)
	assert.Equal(t, "skipped", rep2.Files[0].State)
}

func TestBatchesStayWithinLimits(t *testing.T) {
	now := time.Now()
	rec := &recorder{}
	_, url := startFake(t, fakeapi.Options{Record: func(b []byte, _ upsert.Response) { rec.add(b) }})
	p := genCSV(t, t.TempDir(), "a.csv", 300, now)
	cfg := testConfig(t, url, []string{p}, "")
	cfg.Delivery.BatchUsers = 50
	cfg.Delivery.BatchBytes = 6000
	_, err := Run(context.Background(), cfg, Options{APIKey: testKey})
	require.NoError(t, err)
	require.NotEmpty(t, rec.bodies)
	users := 0
	for _, b := range rec.bodies {
		var req struct {
			Users    []json.RawMessage `json:"users"`
			SkipHook *bool             `json:"skip_hook"`
		}
		require.NoError(t, json.Unmarshal(b, &req))
		assert.LessOrEqual(t, len(req.Users), 50)
		assert.LessOrEqual(t, len(b), 6000)
		require.NotNil(t, req.SkipHook)
		assert.True(t, *req.SkipHook)
		users += len(req.Users)
	}
	assert.Equal(t, 150, users)
}

// A run that fails part way leaves batches in flight; the next run re-sends
// exactly those, byte for byte, and nothing that was acknowledged.
func TestResumeResendsOnlyInFlightBatchesByteIdentical(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	p := genCSV(t, dir, "a.csv", 200, now)

	var (
		mu       sync.Mutex
		bodies   = map[string]int{} // body → times received
		accepted = map[string]bool{}
		calls    atomic.Int64
		broken   atomic.Bool
	)
	fake := fakeapi.New(fakeapi.Options{Token: testKey})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[string(b)]++
		mu.Unlock()
		if calls.Add(1) > 6 && broken.Load() {
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		accepted[string(b)] = true
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		fake.ServeHTTP(w, r)
	}))
	defer ts.Close()
	cfg := testConfig(t, ts.URL+upsert.Path, []string{p}, "")
	cfg.Delivery.MaxAttempts = 1
	store := checkpoint.NewMemoryStore()

	broken.Store(true)
	_, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 503")
	st, err := store.Load(context.Background(), cfg.JobID(0, 1))
	require.NoError(t, err)
	fs := st.Files[p]
	require.NotNil(t, fs)
	require.NotEmpty(t, fs.InFlight, "the failed batches stay in flight")
	firstAttempt, ackedFirst := map[string]bool{}, map[string]bool{}
	mu.Lock()
	for b := range bodies {
		firstAttempt[b] = true
		ackedFirst[b] = accepted[b]
	}
	mu.Unlock()

	broken.Store(false)
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 200, fake.Stats().DistinctEvents, "every event arrived")
	mu.Lock()
	defer mu.Unlock()
	// A body sent in both runs is a re-send of a batch the first run had in
	// flight and never got acknowledged, and it is byte-identical (the same
	// body string). Batches in flight that the first run never sent are
	// sent for the first time.
	resent := 0
	for b, n := range bodies {
		if n > 1 {
			resent++
			assert.True(t, firstAttempt[b])
			assert.False(t, ackedFirst[b], "a body the API acknowledged was sent again")
		}
	}
	assert.Positive(t, resent)
	assert.LessOrEqual(t, resent, len(fs.InFlight), "only in-flight batches are re-sent")
	for _, n := range fake.Events() {
		assert.Equal(t, 1, n, "no event delivered twice")
	}
	assert.Less(t, rep.RowsRead, int64(200), "rows acknowledged by the first run are not read again")
}

func TestCredentialsRefusedStopsAtOnce(t *testing.T) {
	now := time.Now()
	srv, url := startFake(t, fakeapi.Options{})
	p := genCSV(t, t.TempDir(), "a.csv", 100, now)
	cfg := testConfig(t, url, []string{p}, "")
	cfg.Delivery.Workers = 1
	store := checkpoint.NewMemoryStore()
	_, err := Run(context.Background(), cfg, Options{APIKey: "wrong", Store: store})
	require.ErrorIs(t, err, ErrCredentials)
	assert.EqualValues(t, 1, srv.Stats().Requests, "nothing more is sent after a 403")
	assert.NotContains(t, err.Error(), "wrong")
	_, err = store.Load(context.Background(), cfg.JobID(0, 1))
	require.NoError(t, err, "the checkpoint is saved")
}

func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	now := time.Now()
	srv, url := startFake(t, fakeapi.Options{Throttle: 40, FailRate: 0.3, Seed: 7})
	p := genCSV(t, t.TempDir(), "a.csv", 300, now)
	cfg := testConfig(t, url, []string{p}, "")
	cfg.Delivery.MaxAttempts = 20
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey})
	require.NoError(t, err)
	st := srv.Stats()
	assert.Positive(t, st.Failed)
	assert.Positive(t, rep.Retries)
	assert.EqualValues(t, 300, st.DistinctEvents)
	for _, n := range srv.Events() {
		assert.Equal(t, 1, n)
	}
}

// A 200 with a fail block rejects exactly the rows of the users it names.
func TestFailBlockMapsToSourceRows(t *testing.T) {
	now := time.Now()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":{"successful":{"count":6},"fail":{"count":1,"errors":{"users.1.attributes.custom.tier":["tier must be a number"]}}}}`)
	}))
	defer ts.Close()
	dir := t.TempDir()
	p := genCSV(t, dir, "a.csv", 14, now)
	cfg := testConfig(t, ts.URL+upsert.Path, []string{p}, "")
	rejects := filepath.Join(dir, "rejects.jsonl")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.EqualValues(t, 1, rep.UsersRejected)
	assert.EqualValues(t, 2, rep.RowsRejectedByAPI)
	b, err := os.ReadFile(rejects)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	for i, l := range lines {
		var r struct {
			Row      int64             `json:"row"`
			Messages []string          `json:"insider_messages"`
			Cells    map[string]string `json:"cells"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		assert.EqualValues(t, 3+i, r.Row, "user 1 is rows 3 and 4")
		assert.Equal(t, []string{"tier must be a number (users.1.attributes.custom.tier)"}, r.Messages)
		assert.Equal(t, "user1@example.com", r.Cells["email"])
	}
	info, err := os.Stat(rejects)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

// A 400 that says the request is too large splits the batch.
func TestTooLargeSplits(t *testing.T) {
	now := time.Now()
	srv, url := startFake(t, fakeapi.Options{MaxUsers: 2})
	p := genCSV(t, t.TempDir(), "a.csv", 20, now)
	cfg := testConfig(t, url, []string{p}, "")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey})
	require.NoError(t, err, "%+v", rep)
	assert.EqualValues(t, 20, srv.Stats().DistinctEvents)
	assert.Positive(t, srv.Stats().BadRequests)
}

func TestTTLDropsAreNotRejections(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	p := filepath.Join(dir, "ttl.csv")
	rows := "id,email,name,tier,order,cur,price,qty,ts\n" +
		fmt.Sprintf("1,a@x.io,A,t,O1,EUR,1,1,%s\n", now.Add(-800*24*time.Hour).UTC().Format(time.RFC3339)) +
		fmt.Sprintf("2,b@x.io,B,t,O2,EUR,1,1,%s\n", now.Add(-700*24*time.Hour).UTC().Format(time.RFC3339)) +
		fmt.Sprintf("3,c@x.io,C,t,O3,EUR,1,1,%s\n", now.Add(time.Hour).UTC().Format(time.RFC3339)) +
		fmt.Sprintf("4,d@x.io,D,t,O4,EUR,1,1,%s\n", now.Add(time.Minute).UTC().Format(time.RFC3339))
	require.NoError(t, os.WriteFile(p, []byte(rows), 0o600))
	srv, url := startFake(t, fakeapi.Options{})
	cfg := testConfig(t, url, []string{p}, "")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey})
	require.NoError(t, err)
	assert.EqualValues(t, 1, rep.EventsExpired)
	assert.EqualValues(t, 1, rep.EventsFuture)
	assert.EqualValues(t, 2, rep.EventsSent)
	assert.EqualValues(t, 2, srv.Stats().Events)
	assert.Zero(t, srv.Stats().ExpiredEvents)
}

// A scheduled run over a glob imports only new files. A finished file that
// reappears changed stops the run before anything is sent (on_change:
// stop), is left and counted (skip), or is imported again from row 1
// (reimport); a partly imported file that changed is refused.
func TestScheduledRunsImportNewFilesOnly(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	srv, url := startFake(t, fakeapi.Options{})
	genCSVFrom(t, dir, "day1.csv", 0, 10, now)
	cfg := testConfig(t, url, []string{filepath.Join(dir, "*.csv")}, "")
	store := checkpoint.NewMemoryStore()
	_, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 10, srv.Stats().Events)

	genCSVFrom(t, dir, "day2.csv", 100, 6, now)
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 6, rep.RowsRead, "only the new file is read")
	assert.EqualValues(t, 16, srv.Stats().Events)
	states := map[string]string{}
	for _, f := range rep.Files {
		states[filepath.Base(f.File)] = f.State
	}
	assert.Equal(t, map[string]string{"day1.csv": "skipped", "day2.csv": "done"}, states)

	genCSVFrom(t, dir, "day1.csv", 0, 12, now) // day1 rewritten
	day1 := filepath.Join(dir, "day1.csv")
	_, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.ErrorIs(t, err, ErrChangedInput, "on_change: stop is the default")
	assert.Contains(t, err.Error(), day1+": changed since it was imported (finished earlier): was ")
	for _, w := range []string{"on_change: reimport", "on_change: skip", "--restart"} {
		assert.Contains(t, err.Error(), w)
	}
	assert.EqualValues(t, 16, srv.Stats().Events, "nothing sent")

	cfg.Source.OnChange = config.OnChangeSkip
	rep, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Zero(t, rep.RowsRead)
	assert.EqualValues(t, 16, srv.Stats().Events, "a changed finished file is not re-imported")
	assert.EqualValues(t, 1, rep.SkippedChanged)
	for _, f := range rep.Files {
		if filepath.Base(f.File) == "day1.csv" {
			assert.Equal(t, "changed, skipped", f.State)
			assert.Contains(t, f.Note, "source.on_change: skip")
		}
	}

	cfg.Source.OnChange = config.OnChangeReimport
	rep, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 12, rep.RowsRead, "the new version from row 1")
	assert.EqualValues(t, 1, rep.Reimported)
	assert.EqualValues(t, 18, srv.Stats().DistinctEvents)
	rep, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Zero(t, rep.RowsRead, "imported once: finished again")
	assert.Zero(t, rep.Reimported)
	cfg.Source.OnChange = config.OnChangeStop

	// A partly imported file that changed is refused, naming the file.
	st, err := store.Load(context.Background(), cfg.JobID(0, 1))
	require.NoError(t, err)
	day2 := filepath.Join(dir, "day2.csv")
	st.Files[day2].Finished = false
	require.NoError(t, store.Save(context.Background(), cfg.JobID(0, 1), st))
	genCSVFrom(t, dir, "day2.csv", 100, 7, now)
	_, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.ErrorIs(t, err, ErrChangedInput)
	assert.Contains(t, err.Error(), day2)

	// --restart imports everything again from the start.
	rep, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store, Restart: true})
	require.NoError(t, err)
	assert.EqualValues(t, 19, rep.RowsRead)
}

// A changed mapping is refused rather than resumed with other payloads.
func TestChangedMappingIsRefused(t *testing.T) {
	now := time.Now()
	_, url := startFake(t, fakeapi.Options{})
	p := genCSV(t, t.TempDir(), "a.csv", 10, now)
	store := checkpoint.NewMemoryStore()
	_, err := Run(context.Background(), testConfig(t, url, []string{p}, ""), Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	cfg2 := testConfig(t, url, []string{p}, "events: {ttl: {default: 30d}}")
	_, err = Run(context.Background(), cfg2, Options{APIKey: testKey, Store: store})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "--restart")
}

// TestRunFromS3 imports a glob of objects on a real S3-compatible server
// (versitygw) mixed with a local file in one run, then resumes nothing.
func TestRunFromS3(t *testing.T) {
	ep := s3test.Server(t)
	t.Setenv("AWS_ACCESS_KEY_ID", ep.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ep.SecretKey)
	ctx := context.Background()
	s3opts := readers.S3Options{Region: ep.Region, Endpoint: ep.URL, PathStyle: true}
	client, err := readers.NewS3Client(ctx, s3opts)
	require.NoError(t, err)
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exports")})
	require.NoError(t, err)
	now := time.Now()
	dir := t.TempDir()
	for i, name := range []string{"day1.csv", "day2.csv"} {
		p := genCSVFrom(t, dir, name, i*1000, 30, now)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("exports"), Key: aws.String("in/" + name), Body: bytes.NewReader(b)})
		require.NoError(t, err)
	}
	local := genCSVFrom(t, dir, "local.csv", 5000, 10, now)

	srv, url := startFake(t, fakeapi.Options{})
	cfg := testConfig(t, url, []string{"s3://exports/in/day*.csv", local}, "")
	cfg.Source.S3 = s3opts
	store := checkpoint.NewMemoryStore()
	rep, err := Run(ctx, cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.EqualValues(t, 70, rep.RowsRead)
	assert.EqualValues(t, 70, srv.Stats().DistinctEvents)
	var files []string
	for _, f := range rep.Files {
		files = append(files, f.File+" "+f.State)
	}
	assert.Equal(t, []string{"s3://exports/in/day1.csv done", "s3://exports/in/day2.csv done", local + " done"}, files)

	rep, err = Run(ctx, cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Zero(t, rep.RowsRead, "finished objects are not read again")
}

// A file with a header and no rows is finished at once, and not read again.
func TestHeaderOnlyFileIsFinished(t *testing.T) {
	_, url := startFake(t, fakeapi.Options{})
	p := filepath.Join(t.TempDir(), "empty.csv")
	require.NoError(t, os.WriteFile(p, []byte("id,email,name,tier,order,cur,price,qty,ts\n"), 0o600))
	cfg := testConfig(t, url, []string{p}, "")
	store := checkpoint.NewMemoryStore()
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Equal(t, "done", rep.Files[0].State)
	st, err := store.Load(context.Background(), rep.Job)
	require.NoError(t, err)
	assert.Positive(t, st.Files[p].Frontier.Offset, "the frontier is the end of the header")
	rep, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store})
	require.NoError(t, err)
	assert.Equal(t, "skipped", rep.Files[0].State)
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	pq "github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/importer/config"
)

// e2eParquetRow is a row of the end-to-end data as Parquet: the same
// columns as e2eHeader, as optional strings (an empty CSV cell is a null).
type e2eParquetRow struct {
	CustomerID  *string `parquet:"customer_id,optional"`
	Email       *string `parquet:"email,optional"`
	Phone       *string `parquet:"phone,optional"`
	FirstName   *string `parquet:"first_name,optional"`
	Tier        *string `parquet:"tier,optional"`
	OrderID     *string `parquet:"order_id,optional"`
	SKU         *string `parquet:"sku,optional"`
	Currency    *string `parquet:"currency,optional"`
	Price       *string `parquet:"price,optional"`
	SalePrice   *string `parquet:"sale_price,optional"`
	Qty         *string `parquet:"qty,optional"`
	Store       *string `parquet:"store,optional"`
	PurchasedAt *string `parquet:"purchased_at,optional"`
	VisitedAt   *string `parquet:"visited_at,optional"`
}

// writeE2EParquet writes rows (in e2eHeader's columns) as Parquet with
// groupRows rows per row group.
func writeE2EParquet(t *testing.T, path string, rows [][]string, groupRows int64) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := pq.NewGenericWriter[e2eParquetRow](f, pq.MaxRowsPerRowGroup(groupRows))
	cell := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	out := make([]e2eParquetRow, len(rows))
	for i, r := range rows {
		out[i] = e2eParquetRow{cell(r[cID]), cell(r[cEmail]), cell(r[cPhone]), cell(r[cName]), cell(r[cTier]),
			cell(r[cOrder]), cell(r[cSKU]), cell(r[cCurrency]), cell(r[cPrice]), cell(r[cSale]), cell(r[cQty]),
			cell(r[cStore]), cell(r[cPurchased]), cell(r[cVisited])}
	}
	_, err = w.Write(out)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
}

// requestTimes returns when each upsert request reached the fake.
func (f *fake) requestTimes(t *testing.T) []time.Time {
	t.Helper()
	var ts []time.Time
	f.getJSON(t, "/request-times", &ts)
	return ts
}

// maxInWindow returns the most requests among ts (sorted) that fall in any
// window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// TestIndexedJobShards runs a Kubernetes Indexed Job without a cluster: four
// processes of one config with JOB_COMPLETION_INDEX=0..3 and --shard-count 4
// import several CSV files and one large Parquet file into one fake, with
// their checkpoints under one S3 prefix on a real S3-compatible server
// (versitygw). The union of the events is exactly the input's valid events,
// each delivered once (so no event came from two shards), and the combined
// request rate stays within requests_per_second. Then one shard is run
// again, killed with SIGKILL mid-run and retried the way a Job retries a
// failed index: the retry proceeds once the dead run's lease lapses (well
// within 45 s), resumes from its checkpoint, delivers exactly its share, and
// the other shards' checkpoints are not touched.
func TestIndexedJobShards(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const (
		shards = 4
		rps    = 40.0 // requests_per_second of the whole job: 10 per shard
	)
	bk := newNamedS3Bucket(t, "jobs")
	ep, client, ctx := bk.ep, bk.client, context.Background()

	// One input set: five CSV files and one Parquet file holding most rows,
	// in row groups of 500.
	d := genE2E(t, time.Now(), 21, 3000, false)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	require.NoError(t, os.Mkdir(in, 0o755))
	const csvRows = 500
	for i := range 5 {
		writeCSV(t, filepath.Join(in, fmt.Sprintf("part-%d.csv", i)), e2eHeader, d.rows[i*csvRows:(i+1)*csvRows])
	}
	big := filepath.Join(in, "big.parquet")
	writeE2EParquet(t, big, d.rows[5*csvRows:], 500)
	t.Logf("input: 5 CSV files of %d rows, %s with %d rows; %d valid events", csvRows, filepath.Base(big), len(d.rows)-5*csvRows, len(d.expected))

	fa := startFake(t, "--token", testKey)
	configFor := func(port string) string {
		c := e2eConfig(in, port, 20, 2, rps)
		c = strings.Replace(c, "  format: csv\n", "  format: auto\n  s3: {endpoint: \""+ep.URL+"\", path_style: true, region: us-east-1}\n", 1)
		return c
	}
	cfgPath := writeFile(t, dir, "import.yaml", configFor(fa.Port))
	env := func(shard int) []string {
		return []string{"INSIDER_API_KEY=" + testKey, "JOB_COMPLETION_INDEX=" + fmt.Sprint(shard),
			"AWS_ACCESS_KEY_ID=" + ep.AccessKey, "AWS_SECRET_ACCESS_KEY=" + ep.SecretKey, "AWS_REGION=" + ep.Region}
	}
	report := func(shard int) string { return filepath.Join(dir, fmt.Sprintf("report-%d.json", shard)) }
	args := func(shard int, extra ...string) []string {
		return append([]string{"run", "-c", cfgPath, "--shard-count", fmt.Sprint(shards),
			"--checkpoint", "s3://jobs/backfill/", "--report", report(shard),
			"--rejects", filepath.Join(dir, fmt.Sprintf("rejects-%d.jsonl", shard)),
			"--progress", "none", "--log-format", "json"}, extra...)
	}

	// Phase 1: the four shards at once.
	var procs []*proc
	for i := range shards {
		procs = append(procs, startImport(t, env(i), args(i)...))
	}
	var perShard, rowsPerShard []int64
	var sum int64
	for i, p := range procs {
		res := p.wait(t, 5*time.Minute)
		require.Equal(t, 0, res.Code, "shard %d:\n%s", i, tail([]byte(res.Stderr), 3000))
		rep := readReport(t, report(i))
		assertCountsAddUp(t, rep.Counts)
		perShard = append(perShard, rep.EventsSent)
		rowsPerShard = append(rowsPerShard, rep.RowsRead)
		sum += rep.EventsSent
		assert.Positive(t, rep.EventsSent, "shard %d has work", i)
	}
	assertExactlyOnce(t, d.expected, fa.Events(t))
	assert.Equal(t, int64(len(d.expected)), sum, "the shards' events add up to the input's")

	times := fa.requestTimes(t)
	require.Equal(t, fa.Stats(t).Requests, int64(len(times)))
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	span := times[len(times)-1].Sub(times[0])
	overall := float64(len(times)-1) / span.Seconds()
	// Each shard's limiter allows rps/shards a second with a burst of one,
	// so any 3 s window holds at most 3*rps + shards requests; a few more
	// for requests that reach the fake bunched up.
	worst := maxInWindow(times, 3*time.Second)
	assert.LessOrEqual(t, worst, int(3*rps)+2*shards, "requests in the busiest 3 s window, budget %v/s", rps)
	assert.LessOrEqual(t, overall, rps, "overall request rate")
	t.Logf("per-shard events %v (sum %d = %d valid events); %d requests over %.1fs: %.1f/s overall, busiest 3 s window %d (budget %v/s, so %v)",
		perShard, sum, len(d.expected), len(times), span.Seconds(), overall, worst, rps, 3*rps)

	// The checkpoints: one object per shard under the prefix.
	cfg, err := config.Load(cfgPath, importer.CheckValue)
	require.NoError(t, err)
	keyOf := func(shard int) string { return "backfill/" + cfg.JobID(shard, shards) + ".json" }
	etags := func() map[int]string {
		m := map[int]string{}
		for i := range shards {
			out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("jobs"), Key: aws.String(keyOf(i))})
			require.NoError(t, err, "checkpoint of shard %d", i)
			m[i] = aws.ToString(out.ETag)
		}
		return m
	}
	before := etags()

	// Phase 2: shard 3 again from the start (--restart) into a second fake,
	// slowed down so it can be killed mid-run; the same prefix holds the
	// other shards' finished checkpoints.
	const victim = 3
	fb := startFake(t, "--token", testKey, "--delay", "100ms")
	require.NoError(t, os.WriteFile(cfgPath, []byte(configFor(fb.Port)), 0o600))
	restarted := time.Now()
	p := startImport(t, env(victim), args(victim, "--restart")...)
	store, err := checkpoint.NewS3Store(ctx, client, "jobs", "backfill/", checkpoint.S3StoreOptions{Holder: "test"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := store.Peek(ctx, cfg.JobID(victim, shards))
		if err != nil || !st.Updated.After(restarted) {
			return false // still phase 1's checkpoint
		}
		for _, fs := range st.Files {
			if fs.RowsAcked > 0 {
				return true
			}
		}
		return false
	}, 2*time.Minute, 20*time.Millisecond, "shard %d saved no progress", victim)
	require.False(t, p.exited(), "shard %d finished before it could be killed", victim)
	require.NoError(t, p.cmd.Process.Kill()) // SIGKILL: no lease release, no final save
	killed := time.Now()
	res := p.wait(t, time.Minute)
	require.True(t, res.Signaled, "killed")
	deliveredBefore := len(fb.Events(t))

	// The Job's retries: a retry that comes while the dead run's lease holds
	// exits 5; the first one after it lapses proceeds and finishes.
	var proceeded time.Duration
	attempts := 0
	for {
		attempts++
		start := time.Now()
		res = runImport(t, env(victim), args(victim)...)
		if res.Code != exitLeaseHeld {
			proceeded = start.Sub(killed)
			break
		}
		require.Less(t, time.Since(killed), 2*time.Minute, "the lease never lapsed")
		time.Sleep(time.Second)
	}
	require.Equal(t, 0, res.Code, tail([]byte(res.Stderr), 3000))
	assert.Less(t, proceeded, 45*time.Second, "a retry proceeds within 45 s of the SIGKILL")
	t.Logf("SIGKILL to a retry that proceeds: %.1fs (%d attempts; lease TTL %s)", proceeded.Seconds(), attempts, checkpoint.DefaultLeaseTTL)
	rep := readReport(t, report(victim))
	assert.Less(t, rep.RowsRead, rowsPerShard[victim], "the retry resumes: it reads less than the whole share")
	t.Logf("the retry read %d of shard %d's %d rows", rep.RowsRead, victim, rowsPerShard[victim])

	// Fake B holds exactly shard 3's share: the events it delivered in
	// phase 1, each at least once (in-flight batches of the killed run are
	// sent again, byte-identical), none from outside the input.
	got := fb.Events(t)
	for k := range got {
		assert.Contains(t, d.expected, k)
	}
	assert.Equal(t, int(perShard[victim]), len(got), "shard %d's share (%d events before the kill)", victim, deliveredBefore)
	after := etags()
	for i := range shards {
		if i == victim {
			assert.NotEqual(t, before[i], after[i], "shard %d's own checkpoint moved on", i)
			continue
		}
		assert.Equal(t, before[i], after[i], "shard %d's checkpoint is not touched", i)
	}
}

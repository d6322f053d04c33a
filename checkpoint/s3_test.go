package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/checkpoint/checkpointtest"
	"github.com/insider-import/insider-import/readers/s3test"
)

// s3Backend is an S3-compatible server with an empty bucket.
type s3Backend struct {
	client *s3.Client
	bucket string
	n      atomic.Int64 // for fresh key prefixes
}

// prefix returns a key prefix no other store of this test used.
func (b *s3Backend) prefix() string { return fmt.Sprintf("run%d/checkpoints/", b.n.Add(1)) }

func newS3Client(t testing.TB, url, accessKey, secretKey string) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	require.NoError(t, err)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
	})
}

func newBackend(t *testing.T, client *s3.Client) *s3Backend {
	t.Helper()
	b := &s3Backend{client: client, bucket: "checkpoints"}
	_, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(b.bucket)})
	require.NoError(t, err)
	return b
}

// s3Backends returns the servers the S3 store is tested against: gofakes3
// in process, and a real S3-compatible server (versitygw) on loopback.
func s3Backends(t *testing.T) map[string]*s3Backend {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	ep := s3test.Server(t)
	return map[string]*s3Backend{
		"gofakes3":  newBackend(t, newS3Client(t, fake.URL, "ak", "sk")),
		"versitygw": newBackend(t, newS3Client(t, ep.URL, ep.AccessKey, ep.SecretKey)),
	}
}

// s3Client is the method set NewS3Store asks of its client.
type s3Client interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

func newS3Store(t *testing.T, client s3Client, bucket, prefix string, opts checkpoint.S3StoreOptions) *checkpoint.S3Store {
	t.Helper()
	s, err := checkpoint.NewS3Store(t.Context(), client, bucket, prefix, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// fakeClock is a settable clock for lease expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recordingClient records the conditions of every PutObject.
type recordingClient struct {
	*s3.Client
	mu   sync.Mutex
	puts []string
}

func (c *recordingClient) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	cond := "none"
	switch {
	case in.IfNoneMatch != nil:
		cond = "If-None-Match: " + *in.IfNoneMatch
	case in.IfMatch != nil:
		cond = "If-Match"
	}
	c.mu.Lock()
	c.puts = append(c.puts, cond)
	c.mu.Unlock()
	return c.Client.PutObject(ctx, in, optFns...)
}

// lostAnswerClient sends every PutObject twice and returns the second
// answer, as the SDK's retry does when the first answer is lost: a
// conditional write that succeeded is then refused.
type lostAnswerClient struct {
	*s3.Client
	repeated atomic.Int64
}

func (c *lostAnswerClient) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	first := *in
	first.Body = bytes.NewReader(body)
	if _, err := c.Client.PutObject(ctx, &first, optFns...); err != nil {
		return nil, err
	}
	c.repeated.Add(1)
	again := *in
	again.Body = bytes.NewReader(body)
	return c.Client.PutObject(ctx, &again, optFns...)
}

// rawObject is a checkpoint object as stored.
type rawObject struct {
	Lease struct {
		Holder  string    `json:"holder"`
		Expires time.Time `json:"expires"`
	} `json:"lease"`
	State *checkpoint.State `json:"state"`
}

func readRaw(t *testing.T, b *s3Backend, key string) rawObject {
	t.Helper()
	out, err := b.client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	var raw rawObject
	require.NoError(t, json.NewDecoder(out.Body).Decode(&raw))
	return raw
}

func putRaw(t *testing.T, b *s3Backend, key, body string) {
	t.Helper()
	_, err := b.client.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(b.bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(body)),
	})
	require.NoError(t, err)
}

func TestS3Store(t *testing.T) {
	for name, b := range s3Backends(t) {
		t.Run(name, func(t *testing.T) {
			testS3Store(t, b)
		})
	}
}

func testS3Store(t *testing.T, b *s3Backend) {
	const ttl = 2 * time.Minute

	t.Run("Suite", func(t *testing.T) {
		checkpointtest.Run(t, func(t *testing.T) checkpoint.Store {
			return newS3Store(t, b.client, b.bucket, b.prefix(), checkpoint.S3StoreOptions{})
		})
	})

	t.Run("Lease", func(t *testing.T) {
		checkpointtest.RunLease(t, func(t *testing.T) (x, y checkpoint.Store) {
			prefix := b.prefix()
			return newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a"}),
				newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-b"})
		})
	})

	t.Run("PeekLeavesTheLeaseAlone", func(t *testing.T) {
		prefix := b.prefix()
		a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a"})
		st := checkpointtest.SampleState("job1")
		require.NoError(t, a.Save(t.Context(), "job1", st))
		other := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "status"})
		got, err := other.Peek(t.Context(), "job1")
		require.NoError(t, err)
		assert.Equal(t, checkpointtest.Normalize(st).Files, checkpointtest.Normalize(got).Files)
		require.NoError(t, a.Save(t.Context(), "job1", st), "the holder keeps its lease after a peek")
		_, err = other.Peek(t.Context(), "nope")
		assert.ErrorIs(t, err, checkpoint.ErrNotFound)
	})

	t.Run("ManyRunsRaceOneWins", func(t *testing.T) {
		prefix := b.prefix()
		const n = 8
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			s := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: fmt.Sprint("run-", i)})
			wg.Go(func() {
				<-start
				// Each run loads (taking the lease), then saves.
				_, err := s.Load(t.Context(), "job1")
				if errors.Is(err, checkpoint.ErrNotFound) {
					err = s.Save(t.Context(), "job1", checkpoint.State{ConfigHash: fmt.Sprint(i)})
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "two runs took the lease: %d and %d", winner, i)
				winner = i
				continue
			}
			require.ErrorIs(t, err, checkpoint.ErrLeaseHeld, "run %d", i)
		}
		require.NotEqual(t, -1, winner, "one run takes the lease: %v", errs)
		raw := readRaw(t, b, prefix+"job1.json")
		assert.Equal(t, fmt.Sprint("run-", winner), raw.Lease.Holder)
		require.NotNil(t, raw.State)
		assert.Equal(t, fmt.Sprint(winner), raw.State.ConfigHash)
	})

	t.Run("ProtocolOnTheWire", func(t *testing.T) {
		clock := newFakeClock()
		rc := &recordingClient{Client: b.client}
		prefix := b.prefix()
		key := prefix + "job1.json"
		s := newS3Store(t, rc, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl, Now: clock.Now})
		uri, err := s.URI("job1")
		require.NoError(t, err)
		assert.Equal(t, "s3://"+b.bucket+"/"+key, uri)

		_, err = s.Load(t.Context(), "job1")
		require.ErrorIs(t, err, checkpoint.ErrNotFound)
		raw := readRaw(t, b, key)
		assert.Equal(t, "run-a", raw.Lease.Holder)
		assert.True(t, clock.Now().Add(ttl).Equal(raw.Lease.Expires), "lease until now+TTL: %s", raw.Lease.Expires)
		assert.Nil(t, raw.State, "taking the lease writes no State")

		clock.Advance(30 * time.Second)
		require.NoError(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
		raw = readRaw(t, b, key)
		assert.True(t, clock.Now().Add(ttl).Equal(raw.Lease.Expires), "Save renews the lease: %s", raw.Lease.Expires)
		require.NotNil(t, raw.State)
		assert.Equal(t, checkpointtest.Normalize(checkpointtest.SampleState("job1")), checkpointtest.Normalize(*raw.State))

		require.NoError(t, s.Delete(t.Context(), "job1"))
		raw = readRaw(t, b, key)
		assert.Nil(t, raw.State, "Delete removes the State")
		assert.Equal(t, "run-a", raw.Lease.Holder, "Delete keeps the lease")

		require.NoError(t, s.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
		require.NoError(t, s.Close(t.Context()))
		raw = readRaw(t, b, key)
		assert.True(t, raw.Lease.Expires.IsZero(), "Close releases the lease")
		assert.NotNil(t, raw.State, "Close keeps the State")
		_, err = s.Load(t.Context(), "job1")
		assert.Error(t, err, "a closed store is not used again")

		assert.Equal(t, []string{"If-None-Match: *", "If-Match", "If-Match", "If-Match", "If-Match"}, rc.puts)

		// A second run takes the released lease with If-Match on what it read.
		rc.puts = nil
		s2 := newS3Store(t, rc, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-b", LeaseTTL: ttl, Now: clock.Now})
		_, err = s2.Load(t.Context(), "job1")
		require.NoError(t, err)
		assert.Equal(t, []string{"If-Match"}, rc.puts)
		assert.Equal(t, "run-b", readRaw(t, b, key).Lease.Holder)
	})

	t.Run("HeldLeaseNamesHolder", func(t *testing.T) {
		clock := newFakeClock()
		prefix := b.prefix()
		a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "host-a:123:xyz", LeaseTTL: ttl, Now: clock.Now})
		bb := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "host-b:456:abc", LeaseTTL: ttl, Now: clock.Now})
		require.NoError(t, a.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
		expires := clock.Now().Add(ttl)

		clock.Advance(ttl - time.Second) // not yet expired
		_, err := bb.Load(t.Context(), "job1")
		require.ErrorIs(t, err, checkpoint.ErrLeaseHeld)
		var held *checkpoint.LeaseHeldError
		require.ErrorAs(t, err, &held)
		assert.Equal(t, "host-a:123:xyz", held.Holder)
		assert.True(t, expires.Equal(held.Expires), "expires %s, want %s", held.Expires, expires)
		assert.False(t, held.Lost)
		assert.Contains(t, err.Error(), "host-a:123:xyz")
		assert.Contains(t, err.Error(), expires.Format(time.RFC3339))
		assert.Contains(t, err.Error(), "s3://"+b.bucket+"/"+prefix+"job1.json")
	})

	t.Run("StaleLeaseTakeover", func(t *testing.T) {
		clock := newFakeClock()
		prefix := b.prefix()
		a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl, Now: clock.Now})
		bb := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-b", LeaseTTL: ttl, Now: clock.Now})
		want := checkpointtest.SampleState("job1")
		require.NoError(t, a.Save(t.Context(), "job1", want))

		// Run a stalls past its lease; run b takes over and gets a's State.
		clock.Advance(ttl + time.Second)
		got, err := bb.Load(t.Context(), "job1")
		require.NoError(t, err)
		assert.Equal(t, checkpointtest.Normalize(want), checkpointtest.Normalize(got))
		require.NoError(t, bb.Save(t.Context(), "job1", checkpoint.State{ConfigHash: "b"}))

		// Run a wakes up: every write fails and names the new holder.
		err = a.Save(t.Context(), "job1", want)
		require.ErrorIs(t, err, checkpoint.ErrLeaseHeld)
		var held *checkpoint.LeaseHeldError
		require.ErrorAs(t, err, &held)
		assert.True(t, held.Lost)
		assert.Equal(t, "run-b", held.Holder)
		assert.Contains(t, err.Error(), "taken over")
		// It no longer holds the lease, so it cannot take it back either.
		assert.ErrorIs(t, a.Save(t.Context(), "job1", want), checkpoint.ErrLeaseHeld)
		_, err = a.Load(t.Context(), "job1")
		assert.ErrorIs(t, err, checkpoint.ErrLeaseHeld)

		got, err = bb.Load(t.Context(), "job1")
		require.NoError(t, err)
		assert.Equal(t, "b", got.ConfigHash, "the overtaken run wrote nothing")
	})

	t.Run("OvertakenBetweenSaves", func(t *testing.T) {
		// Load and Close notice the takeover too.
		clock := newFakeClock()
		prefix := b.prefix()
		a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl, Now: clock.Now})
		bb := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-b", LeaseTTL: ttl, Now: clock.Now})
		require.NoError(t, a.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
		clock.Advance(ttl + time.Second)
		_, err := bb.Load(t.Context(), "job1")
		require.NoError(t, err)

		_, err = a.Load(t.Context(), "job1")
		var held *checkpoint.LeaseHeldError
		require.ErrorAs(t, err, &held)
		assert.True(t, held.Lost)

		require.NoError(t, a.Close(t.Context()), "a lost lease is not released again")
		require.NoError(t, a.Close(t.Context()))

		// A run that loses the lease while holding it hears so from Close.
		c := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-c", LeaseTTL: ttl, Now: clock.Now})
		clock.Advance(ttl + time.Second) // b's lease runs out
		_, err = c.Load(t.Context(), "job1")
		require.NoError(t, err)
		require.ErrorIs(t, bb.Close(t.Context()), checkpoint.ErrLeaseHeld)
		assert.Equal(t, "run-c", readRaw(t, b, prefix+"job1.json").Lease.Holder, "the loser's Close does not free the winner's lease")
	})

	t.Run("RenewAndSaveExtendLease", func(t *testing.T) {
		clock := newFakeClock()
		prefix := b.prefix()
		a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl, Now: clock.Now})
		bb := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-b", LeaseTTL: ttl, Now: clock.Now})
		want := checkpointtest.SampleState("job1")
		require.NoError(t, a.Save(t.Context(), "job1", want))
		for range 3 {
			clock.Advance(ttl - time.Second)
			require.NoError(t, a.Renew(t.Context(), "job1"))
			clock.Advance(ttl - time.Second)
			require.NoError(t, a.Save(t.Context(), "job1", want))
		}
		clock.Advance(ttl - time.Second)
		assert.ErrorIs(t, bb.Save(t.Context(), "job1", want), checkpoint.ErrLeaseHeld, "a lease kept alive is not stale")
		got, err := a.Load(t.Context(), "job1")
		require.NoError(t, err)
		assert.Equal(t, checkpointtest.Normalize(want), checkpointtest.Normalize(got), "Renew keeps the State")
	})

	t.Run("SameHolderRetakes", func(t *testing.T) {
		// A store of the same run (same Holder) may take the lease before it
		// expires, e.g. after its first store was dropped without Close.
		clock := newFakeClock()
		prefix := b.prefix()
		a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl, Now: clock.Now})
		require.NoError(t, a.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
		clock.Advance(time.Second)
		again := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl, Now: clock.Now})
		_, err := again.Load(t.Context(), "job1")
		require.NoError(t, err)
		assert.ErrorIs(t, a.Save(t.Context(), "job1", checkpoint.State{ConfigHash: "stale"}), checkpoint.ErrLeaseHeld,
			"the first store's ETag is stale")
	})

	t.Run("LostAnswerIsNotLostLease", func(t *testing.T) {
		lc := &lostAnswerClient{Client: b.client}
		prefix := b.prefix()
		s := newS3Store(t, lc, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a"})
		for i := range 3 {
			require.NoError(t, s.Save(t.Context(), "job1", checkpoint.State{ConfigHash: fmt.Sprint(i)}))
		}
		require.NoError(t, s.Delete(t.Context(), "job1"))
		require.NoError(t, s.Save(t.Context(), "job1", checkpoint.State{ConfigHash: "last"}))
		got, err := s.Load(t.Context(), "job1")
		require.NoError(t, err)
		assert.Equal(t, "last", got.ConfigHash)
		require.NoError(t, s.Close(t.Context()))
		assert.GreaterOrEqual(t, lc.repeated.Load(), int64(6))
		assert.True(t, readRaw(t, b, prefix+"job1.json").Lease.Expires.IsZero())
	})

	t.Run("Unreadable", func(t *testing.T) {
		fileCheckpoint, err := json.Marshal(checkpointtest.SampleState("job1"))
		require.NoError(t, err)
		newer := `{"lease":{"holder":"x","expires":"0001-01-01T00:00:00Z"},"state":{"version":3,"job":"job1"}}`
		tests := []struct {
			name, body string
			want       error
		}{
			{"Truncated", `{"lease":{"holder":"x","expi`, checkpoint.ErrCorrupt},
			{"NotJSON", "garbage", checkpoint.ErrCorrupt},
			{"BareState", string(fileCheckpoint), checkpoint.ErrCorrupt},
			{"TruncatedState", `{"lease":{"holder":"x","expires":"0001-01-01T00:00:00Z"},"state":{"version":1,"job":"job1","files":[]}}`, checkpoint.ErrCorrupt},
			{"NewerVersion", newer, checkpoint.ErrVersion},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				prefix := b.prefix()
				putRaw(t, b, prefix+"job1.json", tt.body)
				s := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{})
				_, err := s.Load(t.Context(), "job1")
				require.ErrorIs(t, err, tt.want)
				assert.NotErrorIs(t, err, checkpoint.ErrNotFound)
				assert.Contains(t, err.Error(), "s3://"+b.bucket+"/"+prefix+"job1.json")
			})
		}
	})

	t.Run("MissingBucketIsLoud", func(t *testing.T) {
		s := newS3Store(t, b.client, "no-such-bucket", b.prefix(), checkpoint.S3StoreOptions{})
		_, err := s.Load(t.Context(), "job1")
		require.Error(t, err)
		assert.NotErrorIs(t, err, checkpoint.ErrNotFound)
		assert.Contains(t, err.Error(), "s3://no-such-bucket/")
	})
}

func TestNewS3StoreOptions(t *testing.T) {
	client := s3.New(s3.Options{Region: "us-east-1"})
	_, err := checkpoint.NewS3Store(t.Context(), client, "", "p/", checkpoint.S3StoreOptions{})
	assert.Error(t, err, "no bucket")
	_, err = checkpoint.NewS3Store(t.Context(), client, "b", "p/", checkpoint.S3StoreOptions{LeaseTTL: -time.Second})
	assert.Error(t, err, "negative TTL")
	s, err := checkpoint.NewS3Store(t.Context(), client, "b", "p/", checkpoint.S3StoreOptions{})
	require.NoError(t, err)
	s2, err := checkpoint.NewS3Store(t.Context(), client, "b", "p/", checkpoint.S3StoreOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, s.Holder())
	assert.NotEqual(t, s.Holder(), s2.Holder(), "each store is its own run by default")
}

func TestParseS3URI(t *testing.T) {
	tests := []struct {
		uri, bucket, prefix string
		wantErr             bool
	}{
		{uri: "s3://bucket/prefix/", bucket: "bucket", prefix: "prefix/"},
		{uri: "s3://bucket/a/b/c/", bucket: "bucket", prefix: "a/b/c/"},
		{uri: "s3://bucket/prefix", bucket: "bucket", prefix: "prefix/"},
		{uri: "s3://bucket/", bucket: "bucket", prefix: ""},
		{uri: "s3://bucket", bucket: "bucket", prefix: ""},
		{uri: "s3:///prefix/", wantErr: true},
		{uri: "s3://", wantErr: true},
		{uri: "/local/dir", wantErr: true},
		{uri: "S3://bucket/x", wantErr: true},
		{uri: "s3://buck et/x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			bucket, prefix, err := checkpoint.ParseS3URI(tt.uri)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.bucket, bucket)
			assert.Equal(t, tt.prefix, prefix)
		})
	}
}

// TestS3StoreRenewsInBackground: a store that holds a lease and writes
// nothing for longer than its TTL keeps it (it renews by itself), a lease
// taken over behind its back fails its next Save as lost, and a lease whose
// holder died lapses after the TTL.
func TestS3StoreRenewsInBackground(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for lease TTLs")
	}
	for name, b := range s3Backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const ttl = 3 * time.Second
			prefix := b.prefix()
			a := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-a", LeaseTTL: ttl})
			require.NoError(t, a.Save(t.Context(), "job1", checkpointtest.SampleState("job1")))
			first := readRaw(t, b, prefix+"job1.json").Lease.Expires

			time.Sleep(ttl + ttl/2) // no Save: only the background renewal writes
			raw := readRaw(t, b, prefix+"job1.json")
			assert.Equal(t, "run-a", raw.Lease.Holder)
			assert.True(t, raw.Lease.Expires.After(first), "renewed: %s, first %s", raw.Lease.Expires, first)
			assert.True(t, raw.Lease.Expires.After(time.Now()), "still held: %s", raw.Lease.Expires)
			require.NotNil(t, raw.State, "a renewal keeps the State")
			other := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-b", LeaseTTL: ttl})
			_, err := other.Load(t.Context(), "job1")
			var held *checkpoint.LeaseHeldError
			require.ErrorAs(t, err, &held, "a live holder keeps its lease past the TTL")
			assert.Equal(t, "run-a", held.Holder)

			// Another run takes the object over (as if a's clock had stopped):
			// a's next renewal finds it and a's next Save fails as lost.
			body, err := json.Marshal(map[string]any{"lease": map[string]any{"holder": "run-c", "expires": time.Now().Add(time.Hour)}})
			require.NoError(t, err)
			putRaw(t, b, prefix+"job1.json", string(body))
			require.Eventually(t, func() bool {
				err := a.Save(t.Context(), "job1", checkpointtest.SampleState("job1"))
				return errors.As(err, &held) && held.Lost
			}, 4*ttl, ttl/4)
			assert.Equal(t, "run-c", readRaw(t, b, prefix+"job1.json").Lease.Holder, "the lost store wrote nothing")

			// A holder that dies without Close: its lease lapses after the TTL.
			dead := newS3Store(t, b.client, b.bucket, prefix, checkpoint.S3StoreOptions{Holder: "run-d", LeaseTTL: ttl, RenewEvery: -1})
			require.NoError(t, dead.Save(t.Context(), "job2", checkpointtest.SampleState("job2")))
			_, err = other.Load(t.Context(), "job2")
			require.ErrorAs(t, err, &held)
			time.Sleep(time.Until(held.Expires) + 100*time.Millisecond)
			_, err = other.Load(t.Context(), "job2")
			require.NoError(t, err, "the lease lapsed")
		})
	}
}

// BenchmarkS3StoreSave measures one checkpoint write (a conditional PUT of
// the envelope) on a real S3-compatible server, for a State of 4 files and
// one of 1,000: the cost a lease renewal adds every RenewEvery.
func BenchmarkS3StoreSave(b *testing.B) {
	ep := s3test.Server(b)
	cfg, err := config.LoadDefaultConfig(b.Context(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
	require.NoError(b, err)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(ep.URL); o.UsePathStyle = true })
	_, err = client.CreateBucket(b.Context(), &s3.CreateBucketInput{Bucket: aws.String("bench")})
	require.NoError(b, err)
	for _, files := range []int{4, 1000} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			st := checkpointtest.SampleState("job1")
			tmpl := st.Files["data/a.csv"]
			for i := range files - len(st.Files) {
				st.Files[fmt.Sprintf("s3://bucket/exports/part-%05d.csv.gz", i)] = tmpl
			}
			s, err := checkpoint.NewS3Store(b.Context(), client, "bench", fmt.Sprintf("files%d/", files), checkpoint.S3StoreOptions{RenewEvery: -1})
			require.NoError(b, err)
			defer s.Close(context.Background())
			require.NoError(b, s.Save(b.Context(), "job1", st))
			b.ResetTimer()
			for b.Loop() {
				if err := s.Save(b.Context(), "job1", st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkS3StoreSaveArchived measures one save on a real S3-compatible
// server while a job with 1k, 10k and 100k archived (finished) files reads
// a few more: one conditional PUT of the small document, the same at each
// size (the archive's segments were written once, when they were new).
func BenchmarkS3StoreSaveArchived(b *testing.B) {
	ep := s3test.Server(b)
	client := newS3Client(b, ep.URL, ep.AccessKey, ep.SecretKey)
	_, err := client.CreateBucket(b.Context(), &s3.CreateBucketInput{Bucket: aws.String("bench")})
	require.NoError(b, err)
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("finished=%d", n), func(b *testing.B) {
			s, err := checkpoint.NewS3Store(b.Context(), client, "bench", fmt.Sprintf("archived%d/", n), checkpoint.S3StoreOptions{RenewEvery: -1})
			require.NoError(b, err)
			defer s.Close(context.Background())
			st := checkpointtest.SampleState("job1")
			for i := 0; i < n; i += 1000 {
				st.Archived = checkpointtest.Archived(fmt.Sprintf("s3://bucket/exports/part-%d", i), min(1000, n-i))
				require.NoError(b, s.Save(b.Context(), "job1", st))
			}
			st.Archived = nil
			b.ResetTimer()
			for b.Loop() {
				if err := s.Save(b.Context(), "job1", st); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			got, err := s.Load(b.Context(), "job1")
			require.NoError(b, err)
			require.Len(b, got.Archived, n)
		})
	}
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseTwoRunsOfOneJob starts two processes of the same job at once
// against an S3 checkpoint on a real S3-compatible server (versitygw): exactly
// one proceeds and imports everything; the other stops with exit 5 before
// sending anything, naming the holder. A third run afterwards takes the
// released lease and finds the job done.
func TestLeaseTwoRunsOfOneJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bk := newNamedS3Bucket(t, "leases")
	ep := bk.ep

	f := startFake(t, "--delay", "20ms")
	d := genE2E(t, time.Now(), 5, 400, false)
	e := newE2EEnv(t, d, f, 20, 2, 200)
	cfg := strings.Replace(e2eConfig(e.csv, f.Port, 20, 2, 200), "  format: csv\n",
		"  format: csv\n  s3: {endpoint: \""+ep.URL+"\", path_style: true, region: us-east-1}\n", 1)
	e.config = writeFile(t, e.dir, "import.yaml", cfg)
	env := bk.env
	args := []string{"run", "-c", e.config, "--checkpoint", "s3://leases/checkpoints/", "--progress", "none", "--log-format", "json"}

	a, b := startImport(t, env, args...), startImport(t, env, args...)
	ra, rb := a.wait(t, 2*time.Minute), b.wait(t, 2*time.Minute)
	codes := []int{ra.Code, rb.Code}
	assert.ElementsMatch(t, []int{0, 5}, codes, "a: %s\nb: %s", tail([]byte(ra.Stderr), 2000), tail([]byte(rb.Stderr), 2000))
	loser := ra
	if ra.Code == 0 {
		loser = rb
	}
	assert.Contains(t, loser.Stderr, "held by")
	t.Logf("the run that lost: %s", strings.TrimSpace(loser.Stderr))
	assert.NotContains(t, loser.Stdout+loser.Stderr, testKey)
	assertExactlyOnce(t, d.expected, f.Events(t))

	// The winner released the lease: a later run takes it and has nothing to do.
	rc := runImport(t, env, args...)
	require.Equal(t, 0, rc.Code, rc.Stderr)
	assert.Contains(t, rc.Stdout, "skipped")
	assertExactlyOnce(t, d.expected, f.Events(t))
}

package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/readers"
)

func pair(d time.Duration, from string) []any { return []any{d, from} }

// The tables' defaults are the values a config without the keys had
// before them (applyDefaults), and the hash of such a config is what it
// was: a checkpoint written before resumes.
func TestSpecDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte("source: {paths: [a.csv]}\nmapping: {identifiers: {uuid: id}, attributes: {name: n}}\n"))
	require.NoError(t, err)
	assert.Equal(t, readers.FormatAuto, c.Source.Format)
	assert.Equal(t, OnChangeStop, c.Source.OnChange)
	assert.Zero(t, c.Source.Encoding, "utf-8 is the zero value: the hash stays")
	assert.Zero(t, c.Source.MaxRecordBytes)
	assert.Zero(t, c.Source.Delimiter)
	assert.Equal(t, InsiderConfig{Endpoint: DefaultEndpoint, APIKeyEnv: "INSIDER_API_KEY"}, c.Insider)
	assert.Equal(t, DeliveryConfig{BatchUsers: 1000, BatchBytes: 4_500_000, Workers: 8, RequestsPerSecond: 300, MaxAttempts: 8,
		Timeout: 60 * time.Second, GiveUpAfter: 30 * time.Minute}, c.Delivery)
	assert.Equal(t, map[string]time.Duration{"default": 90 * 24 * time.Hour, "purchase": 730 * 24 * time.Hour}, c.Events.TTL)
	assert.Equal(t, []any{90 * 24 * time.Hour, "built-in default"}, pair(c.Events.TTLFrom("view")))
	assert.Equal(t, []any{730 * 24 * time.Hour, "built-in for purchase"}, pair(c.Events.TTLFrom("purchase")))
	assert.Equal(t, 5*time.Minute, c.Events.FutureTolerance)
	assert.Equal(t, MetricsConfig{Job: "insider-import", PushInterval: 20 * time.Second}, c.Metrics)
	assert.Equal(t, VerifyConfig{Sample: 20}, c.Verify)
	assert.Equal(t, "a09d0e9cb8f2c1c6", c.Hash()[:16], "the hash of the defaults, as before the tables")

	c, err = Parse("c.yaml", []byte("source: {paths: [a.csv], csv: {delimiter: ';', encoding: windows-1252, max_record_bytes: 65536, quote: \"'\", escape: '\\', header: false, columns: [id, n]}, null_values: [NULL], columns_case: insensitive, format: csv}\n"+
		"insider: {array_attributes: overwrite, error_callback_url: 'https://x.example/cb'}\nevents: {ttl: {default: 30d, view: 2d}, future_tolerance: 1m}\nmapping: {identifiers: {uuid: id}, attributes: {name: n}}\n"))
	require.NoError(t, err)
	assert.Equal(t, "f676298828e76701", c.Hash()[:16], "the hash of a config setting the keys that shape payloads, as before the tables")
}

// Every key of the reference says what it is, and is listed once.
func TestReferenceKeys(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Reference() {
		assert.NotEmpty(t, k.Doc, k.Key)
		assert.False(t, seen[k.Key], "%s listed twice", k.Key)
		seen[k.Key] = true
	}
	for _, k := range []string{"source.csv.delimiter", "insider.profiles.<name>.partner", "mapping.events[].params.custom.<name>", "<field>.thousands", "verify.sample"} {
		assert.True(t, seen[k], k)
	}
}

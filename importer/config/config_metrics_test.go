package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigMetrics(t *testing.T) {
	const base = "source: {paths: [a.csv]}\nmapping: {identifiers: {uuid: id}, attributes: {name: n}}\n"
	cfg, err := Parse("c.yaml", []byte(base))
	require.NoError(t, err)
	assert.Equal(t, MetricsConfig{Job: "insider-import", PushInterval: 20 * time.Second}, MetricsConfig{Job: cfg.Metrics.Job, PushInterval: cfg.Metrics.PushInterval, Pushgateway: cfg.Metrics.Pushgateway}, "defaults: nothing pushed")

	cfg, err = Parse("c.yaml", []byte(base+"metrics: {pushgateway: \"http://pushgateway.monitoring:9091\", job: nightly-purchases, push_interval: 15s}\n"))
	require.NoError(t, err)
	assert.Equal(t, "http://pushgateway.monitoring:9091", cfg.Metrics.Pushgateway)
	assert.Equal(t, "nightly-purchases", cfg.Metrics.Job)
	assert.Equal(t, 15*time.Second, cfg.Metrics.PushInterval)

	assert.Equal(t, []string{
		`3:24: metrics.pushgateway: "pushgateway:9091" is not an http(s) URL`,
		"3:59: metrics.push_interval must be above 0",
		"3:63: metrics: unknown key \"address\" (known: pushgateway, job, push_interval)",
	}, configProblems(t, base+"metrics: {pushgateway: \"pushgateway:9091\", push_interval: 0s, address: x}\n"))
	assert.NotEqual(t, "", cfg.Hash())
	plain, err := Parse("c.yaml", []byte(base))
	require.NoError(t, err)
	assert.Equal(t, plain.Hash(), cfg.Hash(), "metrics settings do not change the payloads: a checkpoint stays valid")
}

package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer"
	"github.com/insider-import/insider-import/importer/config"
)

// TestKubernetesConfigAndArgs checks the Kubernetes manifests (deploy/
// kubernetes/, rendered and checked as objects by the deploy module's test)
// against this binary: the ConfigMaps' import.yaml files load, with the key
// from the Secret's file and metrics pushed, and the container's arguments
// are flags `run` accepts.
func TestKubernetesConfigAndArgs(t *testing.T) {
	configs, err := filepath.Glob("../../deploy/kubernetes/*/import.yaml")
	require.NoError(t, err)
	require.Len(t, configs, 2, "base/ (the CronJob's) and indexed-job/")
	for _, p := range configs {
		cfg, err := config.Load(p, importer.CheckValue)
		require.NoError(t, err)
		assert.Equal(t, "/var/run/secrets/insider/key", cfg.Insider.APIKeyFile, p)
		assert.NotEmpty(t, cfg.Metrics.Pushgateway, p)
	}

	b, err := os.ReadFile("../../deploy/kubernetes/base/job.yaml")
	require.NoError(t, err)
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(b, &job))
	require.Len(t, job.Spec.Template.Spec.Containers, 1)
	args := job.Spec.Template.Spec.Containers[0].Args
	require.NotEmpty(t, args)
	require.Equal(t, "run", args[0])
	f, err := parseRunFlags("run", args[1:], io.Discard, false)
	require.NoError(t, err, "the manifests' arguments: %q", args)
	assert.Equal(t, "/etc/insider-import/import.yaml", f.config)
	// The Indexed Job adds --shard-count=N; the index comes from the Job.
	f, err = parseRunFlags("run", append(args[1:], "--shard-count=4"), io.Discard, false)
	require.NoError(t, err)
	assert.Equal(t, 4, f.shardCount)
}

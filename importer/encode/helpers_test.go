package encode

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
)

// The encoder's tests parse configs as the importer does (importer.ParseConfig:
// config.Parse with CheckValue), with the clock and the settings of the
// importer's tests.

// testRef is the clock of mapping tests: TTLs count back from it.
var testRef = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// parseConfig is importer.ParseConfig.
func parseConfig(name string, b []byte) (*config.Config, error) {
	return config.Parse(name, b, CheckValue)
}

func parseTestConfig(t *testing.T, files []string, mapping string) *config.Config {
	t.Helper()
	paths, err := json.Marshal(files)
	require.NoError(t, err)
	cfg, err := parseConfig("cells.yaml", []byte(fmt.Sprintf(`
source: {paths: %s}
insider: {endpoint: "http://127.0.0.1:1/unused", partner: acme, array_attributes: overwrite}
delivery: {batch_users: 2, workers: 2, requests_per_second: 1000, max_attempts: 3}
events: {ttl: {default: 3650d, purchase: 3650d}}
%s`, paths, mapping)))
	require.NoError(t, err)
	return cfg
}

package encode

import (
	"testing"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode/encodetest"
)

// The encoder's tests parse configs as the importer does (importer.ParseConfig:
// config.Parse with CheckValue), with the clock and the settings of the
// importer's tests.

// parseConfig is importer.ParseConfig.
func parseConfig(name string, b []byte) (*config.Config, error) {
	return config.Parse(name, b, CheckValue)
}

func parseTestConfig(t *testing.T, files []string, mapping string) *config.Config {
	t.Helper()
	return encodetest.CellsConfig(t, files, mapping, CheckValue)
}

// The helpers the importer's tests share (encodetest).
var (
	testRef         = encodetest.Ref
	record          = encodetest.Record
	fakeVerdict     = encodetest.Verdict
	requireAccepted = encodetest.RequireAccepted
	purchaseHeader  = encodetest.PurchaseHeader
)

const purchaseMapping = encodetest.PurchaseMapping

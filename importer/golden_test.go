package importer

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "../testdata/golden"

// TestGolden maps each case in testdata/golden as 'insider-import validate'
// would and compares the request bodies and the rejects CSV with the golden
// files byte for byte. -update rewrites them.
func TestGolden(t *testing.T) {
	cases, err := os.ReadDir(goldenDir)
	require.NoError(t, err)
	n := 0
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		n++
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join(goldenDir, c.Name())
			y, err := os.ReadFile(filepath.Join(dir, "import.yaml"))
			require.NoError(t, err)
			cfg, err := ParseConfig("import.yaml", y)
			require.NoError(t, err)
			cfg.Source.Paths = []string{filepath.Join(dir, "input.csv")}
			rejects := filepath.Join(t.TempDir(), "rejects.csv")
			_, _, bodies := dryRun(t, cfg, Options{RejectsCSVPath: rejects})
			require.NotEmpty(t, bodies)

			var req bytes.Buffer
			for _, b := range bodies {
				code, resp := fakeVerdict(t, []byte(b))
				require.Equal(t, http.StatusOK, code, b)
				require.Zero(t, resp.Data.Fail.Count, "the stand-in API refuses %s: %v", b, resp.Data.Fail.Errors)
				req.WriteString(b)
				req.WriteByte('\n')
			}
			rej, err := os.ReadFile(rejects)
			if os.IsNotExist(err) {
				rej, err = nil, nil
			}
			require.NoError(t, err)
			golden(t, filepath.Join(dir, "requests.golden"), req.Bytes())
			golden(t, filepath.Join(dir, "rejects.golden.csv"), rej)
		})
	}
	assert.NotZero(t, n, "no golden cases")
}

// golden compares got with the file at path, or writes it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./importer -run TestGolden -update to create it")
	if !bytes.Equal(want, got) {
		// Line by line, for a readable diff.
		assert.Equal(t, strings.Split(string(want), "\n"), strings.Split(string(got), "\n"), "%s differs (-update rewrites it)", path)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EProfiles: one config holds the UAT and the production account;
// --profile picks the partner and key, each account has its own checkpoint
// (the job id keeps the partner), and without --profile a config of two
// profiles is refused with their names.
func TestE2EProfiles(t *testing.T) {
	f := startFake(t, "--partner", "acmeshop-uat", "--token", "uat-key")
	d := genE2E(t, time.Now(), 5, 60, false)
	e := newE2EEnv(t, d, f, 25, 2, 500)
	keyFile := writeFile(t, e.dir, "production.key", "prod-key\n")
	b, err := os.ReadFile(e.config)
	require.NoError(t, err)
	cfg := strings.Replace(string(b), "  partner: e2eshop\n  api_key_env: INSIDER_API_KEY\n",
		"  profiles:\n    uat: {partner: acmeshop-uat, api_key_env: UAT_KEY}\n    production: {partner: acmeshop, api_key_file: "+keyFile+"}\n", 1)
	require.NotEqual(t, string(b), cfg)
	require.NoError(t, os.WriteFile(e.config, []byte(cfg), 0o600))
	env := []string{"UAT_KEY=uat-key"}

	res := runImport(t, env, e.args()...)
	require.Equal(t, 2, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stderr, "insider.profiles has production, uat: choose one with --profile")
	res = runImport(t, env, e.args("--profile", "staging")...)
	require.Equal(t, 2, res.Code)
	assert.Contains(t, res.Stderr, "--profile staging: insider.profiles has production, uat")
	assert.Zero(t, f.Stats(t).Requests, "nothing sent without a profile")

	res = runImport(t, env, e.args("--profile", "uat", "--verify", "5")...)
	require.Equal(t, 0, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.Contains(t, res.Stdout, "partner acmeshop-uat")
	assert.Equal(t, int64(d.users), f.Stats(t).UsersAccepted)

	// Production: the key from its file and its own partner, which the UAT
	// stand-in refuses (4); its checkpoint is another job's.
	res = runImport(t, env, e.args("--profile", "production")...)
	require.Equal(t, 4, res.Code, "stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	assert.NotContains(t, res.Stdout+res.Stderr, "prod-key")
	cps, err := filepath.Glob(filepath.Join(e.checkpoints, "*.json"))
	require.NoError(t, err)
	assert.Len(t, cps, 2, "one checkpoint per account")
	uat := runImport(t, env, "status", "-c", e.config, "--checkpoint", e.checkpoints, "--profile", "uat")
	prod := runImport(t, env, "status", "-c", e.config, "--checkpoint", e.checkpoints, "--profile", "production")
	require.Equal(t, 0, uat.Code, uat.Stderr)
	require.Equal(t, 0, prod.Code, prod.Stderr)
	assert.Contains(t, uat.Stdout, " done ")
	assert.NotContains(t, prod.Stdout, " done ")
	assert.NotEqual(t, strings.SplitN(uat.Stdout, ",", 2)[0], strings.SplitN(prod.Stdout, ",", 2)[0], "two job ids")

	// validate needs no account: it runs without --profile.
	res = runImport(t, env, "validate", "-c", e.config, "--sample", "0", "--progress", "none")
	assert.Equal(t, 0, res.Code, res.Stderr)
}

package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProfilesAndVerifyConfig(t *testing.T) {
	const base = "source: {paths: [a.csv]}\nmapping: {identifiers: {email: e}, attributes: {name: n}}\n"
	assert.Equal(t, []string{
		"5:5: insider.profiles.uat.partner: missing (each profile names its account)",
		"6:5: insider.profiles.production: set api_key_env or api_key_file, not both",
		"7:20: verify.endpoint: plain http:// is only allowed for loopback hosts (the API key would travel in clear); use https://",
	}, configProblems(t, base+`insider:
  profiles:
    uat: {api_key_env: K}
    production: {partner: p, api_key_env: K, api_key_file: f}
verify: {endpoint: "http://example.com/p"}
`))

	c, err := Parse("c.yaml", []byte(base+`insider:
  endpoint: https://proxy.example.com:8443/api/user/v1/upsert?x=1
  partner: ignored
  profiles:
    uat: {partner: shop-uat, api_key_env: UAT_KEY}
    production: {partner: shop, api_key_file: /run/key}
`))
	require.NoError(t, err)
	assert.Equal(t, "https://proxy.example.com:8443/api/user/v1/profile", c.ProfileEndpoint(), "the upsert's host, the profile path")
	c.Insider.Endpoint = "https://proxy.example.com/insider/api/user/v1/upsert"
	assert.Equal(t, "https://proxy.example.com/insider/api/user/v1/profile", c.ProfileEndpoint(), "a proxy's prefix stays")
	require.NoError(t, c.UseProfile("", true), "optional: a dry run needs no account")
	assert.EqualError(t, c.UseProfile("", false), "config: c.yaml: insider.profiles has production, uat: choose one with --profile")
	assert.EqualError(t, c.UseProfile("prod", false), "config: c.yaml: --profile prod: insider.profiles has production, uat")
	uatJob := func() string { require.NoError(t, c.UseProfile("uat", false)); return c.JobID(0, 1) }()
	assert.Equal(t, "shop-uat", c.Partner())
	assert.Equal(t, "UAT_KEY", c.Insider.APIKeyEnv)
	require.NoError(t, c.UseProfile("production", false))
	assert.Equal(t, "shop", c.Partner())
	assert.Equal(t, "/run/key", c.Insider.APIKeyFile)
	assert.NotEqual(t, uatJob, c.JobID(0, 1), "UAT and production checkpoints never mix")
}

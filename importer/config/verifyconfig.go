package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/insider-import/insider-import/importer/upsert"
)

// VerifyConfig is the verify section: where the Get User Profile API is
// and which key it takes, when not the upsert's.
type VerifyConfig struct {
	// Endpoint is the profile API's URL; "" derives it from
	// insider.endpoint (same scheme and host, upsert.ProfilePath).
	Endpoint string
	// APIKeyEnv and APIKeyFile name the key for the profile API; both ""
	// use insider's key.
	APIKeyEnv  string
	APIKeyFile string
	// Sample is how many users verify reads back by default (20).
	Sample int
}

// InsiderProfile is one account of insider.profiles: its partner name
// and where its key is.
type InsiderProfile struct {
	Partner    string
	APIKeyEnv  string
	APIKeyFile string
}

// decodeProfiles reads insider.profiles: name → partner and key.
func decodeProfiles(w *walker, where string, _, v ast.Node, in *InsiderConfig) {
	in.Profiles = map[string]InsiderProfile{}
	w.mapping(v, where, nil, func(name string, k, v ast.Node) {
		where := where + "." + name
		var p InsiderProfile
		profileSection.decode(w, where, k, v, &p)
		if p.Partner == "" {
			// Each account's checkpoints are kept apart by its partner
			// name (Config.JobID): it cannot come from the environment.
			w.addf(k, "%s.partner: missing (each profile names its account)", where)
		}
		if p.APIKeyEnv != "" && p.APIKeyFile != "" {
			w.addf(k, "%s: set api_key_env or api_key_file, not both", where)
		}
		in.Profiles[name] = p
	})
}

// ProfileNames lists insider.profiles' names, sorted.
func (c *Config) ProfileNames() []string {
	names := make([]string, 0, len(c.Insider.Profiles))
	for n := range c.Insider.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// UseProfile applies profile name of insider.profiles: its partner and
// key replace insider's. "" picks the only profile; with several it is an
// error listing them, unless optional (a dry run needs no account). A
// config without profiles takes only "".
func (c *Config) UseProfile(name string, optional bool) error {
	names := c.ProfileNames()
	if len(names) == 0 {
		if name != "" {
			return &ConfigError{Problems: []ConfigProblem{{File: c.File, Msg: fmt.Sprintf("--profile %s: the config has no insider.profiles", name)}}}
		}
		return nil
	}
	if name == "" {
		if len(names) > 1 {
			if optional {
				return nil
			}
			return &ConfigError{Problems: []ConfigProblem{{File: c.File, Msg: fmt.Sprintf("insider.profiles has %s: choose one with --profile", strings.Join(names, ", "))}}}
		}
		name = names[0]
	}
	p, ok := c.Insider.Profiles[name]
	if !ok {
		return &ConfigError{Problems: []ConfigProblem{{File: c.File, Msg: fmt.Sprintf("--profile %s: insider.profiles has %s", name, strings.Join(names, ", "))}}}
	}
	c.Insider.Profile = name
	c.Insider.Partner = p.Partner
	if p.APIKeyEnv != "" || p.APIKeyFile != "" {
		c.Insider.APIKeyEnv, c.Insider.APIKeyFile = p.APIKeyEnv, p.APIKeyFile
	}
	return nil
}

// ProfileEndpoint is the Get User Profile API's URL: verify.endpoint, or
// insider.endpoint with upsert.ProfilePath in place of the upsert path.
func (c *Config) ProfileEndpoint() string {
	if c.Verify.Endpoint != "" {
		return c.Verify.Endpoint
	}
	u, err := url.Parse(c.Insider.Endpoint)
	if err != nil {
		return c.Insider.Endpoint
	}
	// A proxy's prefix before the upsert path stays.
	prefix, _ := strings.CutSuffix(u.Path, upsert.Path)
	if prefix == u.Path {
		prefix = ""
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = prefix+upsert.ProfilePath, "", "", ""
	return u.String()
}

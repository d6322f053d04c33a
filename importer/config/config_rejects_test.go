package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// delivery.rejects_exit_code is 3 (absent) or 0; anything else is refused
// with its line.
func TestConfigRejectsExitCode(t *testing.T) {
	parse := func(extra string) (*Config, error) {
		y := "source: {paths: [a.csv]}\ninsider: {partner: acme}\ndelivery: {" + extra + "}\nmapping:\n  identifiers: {email: email}\n  attributes: {name: name}\n"
		return Parse("test.yaml", []byte(y))
	}
	cfg, err := parse("workers: 2")
	require.NoError(t, err)
	assert.Nil(t, cfg.Delivery.RejectsExitCode, "absent: the default, 3")
	for _, code := range []int{0, 3} {
		cfg, err := parse("rejects_exit_code: " + []string{"0", "", "", "3"}[code])
		require.NoError(t, err)
		require.NotNil(t, cfg.Delivery.RejectsExitCode)
		assert.Equal(t, code, *cfg.Delivery.RejectsExitCode)
	}
	_, err = parse("rejects_exit_code: 1")
	assert.ErrorContains(t, err, "delivery.rejects_exit_code must be 3 (the default) or 0")
}

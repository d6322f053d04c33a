package importer

import (
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
)

// The config's names the importer's files use throughout; the config is
// decoded and checked by package importer/config.
type (
	Config      = config.Config
	ConfigError = config.ConfigError
	FieldType   = config.FieldType
)

// The mapping types (config.FieldType).
const (
	TypeString   = config.TypeString
	TypeNumber   = config.TypeNumber
	TypeInteger  = config.TypeInteger
	TypeBoolean  = config.TypeBoolean
	TypeDate     = config.TypeDate
	TypeDateTime = config.TypeDateTime
	TypeArray    = config.TypeArray
)

// ParseConfig is config.Parse with CheckValue: a config as Run takes it.
func ParseConfig(name string, b []byte) (*Config, error) {
	return config.Parse(name, b, CheckValue)
}

// CheckValue is encode.CheckValue, the importer's config.ValueCheck: a
// constant (value:) is converted as a row's cell is, so that config.Load
// reports a constant no row could send with its line.
func CheckValue(f *config.Field, value string) error { return encode.CheckValue(f, value) }

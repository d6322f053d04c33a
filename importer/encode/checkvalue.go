package encode

import (
	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// CheckValue is the encoder's config.ValueCheck: it converts a field's
// constant as a row's cell is converted, so that config.Load reports a
// constant no row could send (value: maybe on a boolean) with its line.
func CheckValue(f *config.Field, value string) error {
	bf := Field{Field: *f}
	if _, err := appendValue(nil, &bf, readers.StringValue(value)); err != nil && err != errNoItems {
		return err
	}
	return nil
}

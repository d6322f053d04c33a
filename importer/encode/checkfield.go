package encode

import (
	"errors"
	"fmt"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// Before the first request the importer holds the mapping against what the
// inputs hold (a Parquet schema, the first rows of a CSV file): the
// CheckedFields of a Mapper say, cell by cell, whether the mapping reads it.

// CheckedField is a bound field of a Mapper and where the config declares
// it (Where, a config path such as mapping.attributes[2]).
type CheckedField struct {
	Where      string
	F          *Field
	Identifier bool
}

// CheckedFields lists the mapper's fields that read a column, with their
// config paths. Event names are text and are not listed.
func (m *Mapper) CheckedFields() []CheckedField {
	var out []CheckedField
	add := func(section string, fs []Field, id bool) {
		for i := range fs {
			if f := &fs[i]; f.col >= 0 {
				out = append(out, CheckedField{f.Path(section), f, id})
			}
		}
	}
	add("mapping.identifiers", m.m.Identifiers, true)
	add("mapping.attributes", m.m.Attributes, false)
	for i := range m.m.Events {
		e := &m.m.Events[i]
		if e.Timestamp.col >= 0 {
			out = append(out, CheckedField{fmt.Sprintf("mapping.events[%d].timestamp", i), &e.Timestamp, false})
		}
		add(fmt.Sprintf("mapping.events[%d].params", i), e.Params, false)
	}
	return out
}

// ColumnIndex is the index of the input column f reads, or -1.
func (f *Field) ColumnIndex() int { return f.col }

// ConvertErr is the error the mapping gives cell v of field c, or nil: a
// type or layout that does not read it. Checks of the value itself (an
// email's form, a country code) are not made: they are the data's, not
// the config's.
func (c CheckedField) ConvertErr(v *readers.Value) error {
	var scratch [64]byte
	return c.ConvertInto(scratch[:0], v)
}

// ConvertInto is ConvertErr encoding into buf, whose space it may reuse.
func (c CheckedField) ConvertInto(buf []byte, v *readers.Value) error {
	if c.Identifier {
		if v.Kind == readers.KindList {
			return errors.New("an identifier must be a single value, not a list")
		}
		if c.F.Type == config.TypeInteger {
			_, err := fieldIDInteger(c.F, v)
			return err
		}
		return nil
	}
	_, err := appendCell(buf, c.F, v)
	if err == errNoItems {
		return nil
	}
	return err
}

// Problem is a config problem about c at its line in the config.
func (c CheckedField) Problem(msg string, args ...any) config.ConfigProblem {
	return config.ConfigProblem{Line: c.F.At.Line, Column: c.F.At.Column, Msg: c.Where + ": " + fmt.Sprintf(msg, args...)}
}

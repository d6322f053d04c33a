package readers

import (
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ColumnType is what a typed input's schema says every non-null cell of a
// column is: the Kind of its Values and, for KindTime, whether they are
// wall-clock times (a Parquet TIMESTAMP not adjusted to UTC).
type ColumnType struct {
	Kind Kind
	Wall bool
	// Physical names the column's type as the file declares it, for
	// messages: "TIMESTAMP (not adjusted to UTC)", "DOUBLE", ...
	Physical string
}

// ColumnTypes returns the types of rd's columns, in the order of Columns,
// when its format declares them (Parquet); nil for text formats (CSV),
// whose cells are whatever they hold. A Reader that wraps another (adding
// columns) reports types by implementing columnTypes too.
func ColumnTypes(rd Reader) []ColumnType {
	if t, ok := rd.(interface{ columnTypes() []ColumnType }); ok {
		return t.columnTypes()
	}
	return nil
}

func (p *parquetReader) columnTypes() []ColumnType {
	leaves := map[int]*pq.Column{}
	var walk func(c *pq.Column)
	walk = func(c *pq.Column) {
		if c.Leaf() {
			leaves[c.Index()] = c
			return
		}
		for _, child := range c.Columns() {
			walk(child)
		}
	}
	walk(p.file.Root())
	out := make([]ColumnType, len(p.cols))
	for i, col := range p.cols {
		c := leaves[col.leaf]
		if c == nil {
			continue
		}
		out[i] = pqColumnType(c.Type())
		if col.maxRL > 0 {
			out[i] = ColumnType{Kind: KindList, Physical: "a list of " + out[i].Physical}
		}
	}
	return out
}

// pqColumnType is the ColumnType of the Values pqConverter makes of a leaf
// of type t.
func pqColumnType(t pq.Type) ColumnType {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch lt := lt.(type) {
	case *format.DecimalType:
		return ColumnType{Kind: KindDecimal, Physical: "DECIMAL"}
	case *format.DateType:
		return ColumnType{Kind: KindDate, Physical: "DATE"}
	case *format.TimeType:
		return ColumnType{Kind: KindString, Physical: "TIME"}
	case *format.TimestampType:
		if !lt.IsAdjustedToUTC {
			return ColumnType{Kind: KindTime, Wall: true, Physical: "TIMESTAMP not adjusted to UTC (a wall-clock time without a zone)"}
		}
		return ColumnType{Kind: KindTime, Physical: "TIMESTAMP (UTC)"}
	case *format.UUIDType:
		return ColumnType{Kind: KindString, Physical: "UUID"}
	}
	switch t.Kind() {
	case pq.Boolean:
		return ColumnType{Kind: KindBool, Physical: "BOOLEAN"}
	case pq.Int32, pq.Int64:
		return ColumnType{Kind: KindInt, Physical: "INTEGER"}
	case pq.Int96:
		return ColumnType{Kind: KindTime, Physical: "INT96 timestamp"}
	case pq.Float, pq.Double:
		return ColumnType{Kind: KindFloat, Physical: "FLOAT/DOUBLE"}
	}
	return ColumnType{Kind: KindString, Physical: "BYTE_ARRAY (text)"}
}

package readers

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestValueIsSmall(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Value{}), uintptr(64), "a Value per Parquet cell: keep it small")
}

func TestTimeAndDateValues(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo")
	}
	in := time.Date(2025, 6, 1, 16, 32, 10, 123000000, berlin)
	v := TimeValue(in)
	assert.Equal(t, KindTime, v.Kind)
	assert.True(t, v.Time().Equal(in))
	assert.Equal(t, time.UTC, v.Time().Location())
	assert.Equal(t, "2025-06-01T14:32:10.123Z", v.String())

	// Beyond what int64 nanoseconds hold: kept as text, not wrapped around.
	old := time.Date(1500, 1, 2, 3, 4, 5, 0, time.UTC)
	v = TimeValue(old)
	assert.Equal(t, KindString, v.Kind)
	assert.Equal(t, "1500-01-02T03:04:05Z", v.String())

	// Dates count days, so any year fits.
	for _, d := range []time.Time{time.Date(1990, 4, 12, 0, 0, 0, 0, time.UTC), time.Date(1200, 7, 4, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		v = DateValue(d)
		assert.Equal(t, KindDate, v.Kind)
		assert.True(t, v.Time().Equal(d), d)
		assert.Equal(t, d.Format(time.DateOnly), v.String())
	}
	assert.True(t, BoolValue(true).Bool())
	assert.False(t, BoolValue(false).Bool())
	assert.Equal(t, "true", BoolValue(true).String())
}

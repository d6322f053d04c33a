package encode

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/readers"
)

// A Parquet timestamp not adjusted to UTC is a wall-clock time: like text
// without an offset it needs the field's timezone, and is placed in it.
func TestParquetWallClockTime(t *testing.T) {
	ist, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Skip("no zoneinfo")
	}
	wall := readers.WallTimeValue(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	instant := readers.TimeValue(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))

	_, err = toTime(&Field{Field: config.Field{Type: config.TypeDateTime}}, wall)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set timezone on the field")

	got, err := toTime(&Field{Field: config.Field{Type: config.TypeDateTime, Timezone: ist}}, wall)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 2, 0, 4, 5, 0, time.UTC), got.UTC(), "03:04:05 in Istanbul (+03)")

	got, err = toTime(&Field{Field: config.Field{Type: config.TypeDateTime, Timezone: time.UTC}}, wall)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), got.UTC())

	got, err = toTime(&Field{Field: config.Field{Type: config.TypeDateTime, Timezone: ist}}, instant)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), got.UTC(), "an instant is not moved")

	got, err = toTime(&Field{Field: config.Field{Type: config.TypeDate}}, wall)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), got, "the day as written")

	// The rejects CSV writes it without an offset, so that it reads back
	// as the same wall-clock time.
	f := &Field{Field: config.Field{Type: config.TypeDateTime, Timezone: ist}}
	written := cellText(f, wall)
	assert.Equal(t, "2025-01-02T03:04:05", written)
	back, err := toTime(f, readers.StringValue(written))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 2, 0, 4, 5, 0, time.UTC), back.UTC())
	f = &Field{Field: config.Field{Type: config.TypeDateTime, Timezone: ist, Layout: "2006-01-02 15:04"}}
	assert.Equal(t, "2025-01-02 03:04", cellText(f, wall), "its fields, not moved into the zone")

	// Mapped to a string, it is written as it is: without an offset.
	assert.Equal(t, "2025-01-02T03:04:05", text(wall))
	assert.Equal(t, "2025-01-02T03:04:05Z", text(instant))
}

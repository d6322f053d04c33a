package ledger

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRejectLimit(t *testing.T) {
	tests := []struct {
		in   string
		want *RejectLimit
		err  bool
	}{
		{in: "", want: nil},
		{in: "0", want: &RejectLimit{Rows: 0}},
		{in: "250", want: &RejectLimit{Rows: 250}},
		{in: "5%", want: &RejectLimit{Percent: 5, MinRows: 1000}},
		{in: " 0.5 % ", want: &RejectLimit{Percent: 0.5, MinRows: 1000}},
		{in: "-1", err: true},
		{in: "100%", err: true},
		{in: "x%", err: true},
		{in: "ten", err: true},
		{in: "1.5", err: true},
	}
	for _, tt := range tests {
		got, err := ParseRejectLimit(tt.in)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestTooManyRejectsErrorIs(t *testing.T) {
	err := error(&TooManyRejectsError{Limit: RejectLimit{Rows: 1}, Rejected: 2, Read: 2})
	assert.True(t, errors.Is(err, ErrTooManyRejects))
	assert.Equal(t, "too many rejected rows: 2 of the first 2 rows were rejected (limit: 1 rows), so the run stopped", err.Error())
}

package ctxsleep

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSleep(t *testing.T) {
	assert.NoError(t, Sleep(context.Background(), time.Millisecond), "the wait ends")
	assert.NoError(t, Sleep(context.Background(), 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled, "a done context ends the wait")
	assert.Less(t, time.Since(start), time.Minute)
	assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled)
}

func TestSleepOrWakes(t *testing.T) {
	wake := make(chan struct{})
	time.AfterFunc(10*time.Millisecond, func() { close(wake) })
	start := time.Now()
	assert.NoError(t, SleepOr(context.Background(), time.Hour, wake), "the wake ends it")
	assert.Less(t, time.Since(start), time.Minute)
	assert.NoError(t, SleepOr(context.Background(), time.Millisecond, nil), "a nil wake never does")
}

package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneGCKeepsTheEnvironmentsSettings checks the collector settings
// main starts with: a 400 MiB soft limit by default, GOGC left as it is,
// and what GOMEMLIMIT says when it is set.
func TestTuneGCKeepsTheEnvironmentsSettings(t *testing.T) {
	pct, lim := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(pct); debug.SetMemoryLimit(lim) })

	t.Setenv("GOMEMLIMIT", "")
	// t.Setenv sets it empty; tuneGC looks for an unset variable.
	unsetenv(t, "GOMEMLIMIT")
	debug.SetGCPercent(77)
	tuneGC()
	if got := debug.SetGCPercent(100); got != 77 {
		t.Errorf("GC percent %d after tuneGC, want 77 left alone", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 400<<20 {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, 400<<20)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	tuneGC()
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit %d, want it left alone", got)
	}
}

func unsetenv(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

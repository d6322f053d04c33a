package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneGCKeepsTheEnvironmentsSettings checks the collector settings
// main starts with: GOGC=200 and a 400 MiB soft limit by default, and
// what GOGC / GOMEMLIMIT say when they are set.
func TestTuneGCKeepsTheEnvironmentsSettings(t *testing.T) {
	pct, lim := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(pct); debug.SetMemoryLimit(lim) })

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	// t.Setenv sets them empty; tuneGC looks for unset variables.
	unsetenv(t, "GOGC")
	unsetenv(t, "GOMEMLIMIT")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GOGC unset: GC percent %d, want 200", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 400<<20 {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, 400<<20)
	}

	debug.SetGCPercent(77)
	t.Setenv("GOGC", "77")
	t.Setenv("GOMEMLIMIT", "1GiB")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 77 {
		t.Errorf("GOGC=77: GC percent %d, want 77 kept", got)
	}
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

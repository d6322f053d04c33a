package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneGCKeepsTheEnvironmentsSettings checks the collector settings
// main starts with: a 400 MiB soft limit and GOGC 200 by default, and
// what GOMEMLIMIT and GOGC say when they are set.
func TestTuneGCKeepsTheEnvironmentsSettings(t *testing.T) {
	pct, lim := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(pct); debug.SetMemoryLimit(lim) })

	// t.Setenv sets them empty (and restores them); tuneGC looks for
	// unset variables.
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	unsetenv(t, "GOMEMLIMIT")
	unsetenv(t, "GOGC")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GOGC unset: GC percent %d, want 200", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 400<<20 {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, 400<<20)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("GOGC", "77")
	debug.SetGCPercent(77) // what the runtime read from GOGC at start
	tuneGC()
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit %d, want it left alone", got)
	}
	if got := debug.SetGCPercent(100); got != 77 {
		t.Errorf("GOGC set: GC percent %d, want 77 left alone", got)
	}
}

func unsetenv(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

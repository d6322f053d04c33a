//go:build race

package importer

// raceEnabled is set when the tests run under the race detector, which
// makes them several times slower.
const raceEnabled = true

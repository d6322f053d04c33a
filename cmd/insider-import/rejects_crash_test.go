package main

// Rejects files across crashes: the real binary imports a file with 20 %
// bad rows, is killed (SIGKILL) at random moments or runs out of room for
// its rejects file, and is resumed until it finishes; the rejects JSON lines
// and CSV are then read line by line.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badRowsEnv is a crash environment whose input has every fifth row (at
// random) made invalid, in one of three ways the mapping rejects; it writes
// rejects as JSON lines and CSV.
func badRowsEnv(t *testing.T, rows int, seed uint64, fakeArgs ...string) (e *crashEnv, bad map[int]bool, jsonl, csvPath string) {
	t.Helper()
	data := genCrash(t, rows, seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	bad = map[int]bool{}
	for i, row := range data.rows {
		if rng.IntN(5) != 0 {
			continue
		}
		switch rng.IntN(3) {
		case 0:
			row[5] = "12,3x" // unit_price: not a number
		case 1:
			row[8] = "yesterday" // purchased_at: not RFC 3339
		case 2:
			row[7] = "many, \"quoted\"\nand a newline" // quantity: not an integer; quoting in the CSV
		}
		bad[i] = true
	}
	e = newCrashEnvData(t, data, fakeArgs...)
	jsonl = filepath.Join(e.dir, "rejects.jsonl")
	csvPath = filepath.Join(e.dir, "rejects.csv")
	e.args = append(e.args, "--rejects-csv", csvPath)
	return e, bad, jsonl, csvPath
}

// rejectsCheck is what the rejects files hold, line by line.
type rejectsCheck struct {
	jsonLines, jsonTorn, jsonDup, jsonWrong   int
	csvRows, csvWrongFields, csvDup, csvWrong int
	jsonMissing, csvMissing                   int
	examples                                  []string
}

// checkRejectsFiles reads the rejects JSON lines and CSV of an import of
// e.data and counts, against the bad rows: lines that are not a whole JSON
// object (torn or glued), CSV records with another field count than the
// header, rows listed twice, rows listed that are not bad, bad rows missing.
func checkRejectsFiles(t *testing.T, e *crashEnv, bad map[int]bool, jsonl, csvPath string) rejectsCheck {
	t.Helper()
	var c rejectsCheck
	example := func(format string, args ...any) {
		if len(c.examples) < 6 {
			c.examples = append(c.examples, fmt.Sprintf(format, args...))
		}
	}
	b, err := os.ReadFile(jsonl)
	require.NoError(t, err)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		c.jsonTorn++
		example("the JSON lines file ends in a torn line: %q", tail(b, 80))
	}
	seen := map[int]int{}
	for line := range bytes.Lines(b) {
		c.jsonLines++
		var v struct {
			File  string            `json:"file"`
			Row   int               `json:"row"`
			Cells map[string]string `json:"cells"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&v); err != nil || dec.More() || v.Row == 0 || v.Cells["order_id"] == "" {
			c.jsonTorn++
			example("JSON line %d is not one whole reject: %.120q", c.jsonLines, line)
			continue
		}
		i := v.Row - 1 // row numbers count data rows from 1
		if want := fmt.Sprintf("O%08d", i); v.Cells["order_id"] != want || v.File != e.csv {
			c.jsonWrong++
			example("JSON line %d: row %d of %s has order id %q, want %q", c.jsonLines, v.Row, v.File, v.Cells["order_id"], want)
			continue
		}
		if !bad[i] {
			c.jsonWrong++
			example("JSON line %d: row %d is not a bad row", c.jsonLines, v.Row)
		}
		if seen[i]++; seen[i] == 2 {
			c.jsonDup++
			example("row %d is in the JSON lines more than once", v.Row)
		}
	}
	for i := range bad {
		if seen[i] == 0 {
			c.jsonMissing++
		}
	}

	f, err := os.Open(csvPath)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	require.NoError(t, err)
	require.Equal(t, append(slices.Clone(crashHeader), "reject_reason"), header)
	seen = map[int]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.csvWrongFields++
			example("CSV record %d does not parse: %v", c.csvRows+1, err)
			break
		}
		c.csvRows++
		if len(rec) != len(header) {
			c.csvWrongFields++
			example("CSV record %d has %d fields, the header %d: %.120q", c.csvRows, len(rec), len(header), rec)
			continue
		}
		i, err := strconv.Atoi(rec[2][1:])
		if err != nil || i >= len(e.data.rows) || !slices.Equal(rec[:len(crashHeader)], e.data.rows[i]) {
			c.csvWrong++
			example("CSV record %d is not a row of the input as read: %.120q", c.csvRows, rec)
			continue
		}
		if !bad[i] {
			c.csvWrong++
			example("CSV record %d: row %d is not a bad row", c.csvRows, i+1)
		}
		if seen[i]++; seen[i] == 2 {
			c.csvDup++
			example("row %d is in the CSV more than once", i+1)
		}
	}
	for i := range bad {
		if seen[i] == 0 {
			c.csvMissing++
		}
	}
	return c
}

func (c rejectsCheck) assertExact(t *testing.T, bad int) {
	t.Helper()
	assert.Zero(t, c.jsonTorn, "torn or glued JSON lines: %v", c.examples)
	assert.Zero(t, c.jsonDup, "rows twice in the JSON lines: %v", c.examples)
	assert.Zero(t, c.jsonWrong, "JSON lines of rows that are not bad: %v", c.examples)
	assert.Zero(t, c.jsonMissing, "bad rows missing from the JSON lines")
	assert.Equal(t, bad, c.jsonLines, "JSON lines")
	assert.Zero(t, c.csvWrongFields, "CSV records with another field count than the header: %v", c.examples)
	assert.Zero(t, c.csvDup, "rows twice in the CSV: %v", c.examples)
	assert.Zero(t, c.csvWrong, "CSV records of rows that are not bad: %v", c.examples)
	assert.Zero(t, c.csvMissing, "bad rows missing from the CSV")
	assert.Equal(t, bad, c.csvRows, "CSV records")
}

// rejectsSizes returns the sizes of the rejects files now and the lengths
// the checkpoint records for them (-1: none).
func rejectsSizes(t *testing.T, e *crashEnv, paths ...string) (sizes, committed []int64) {
	cp, ok := readCheckpoint(t, e.checkpoints)
	for _, p := range paths {
		n := int64(-1)
		if st, err := os.Stat(p); err == nil {
			n = st.Size()
		}
		sizes = append(sizes, n)
		c := int64(-1)
		if ok && cp.Rejects != nil {
			if l, ok := cp.Rejects.Lengths[p]; ok {
				c = l
			}
		}
		committed = append(committed, c)
	}
	return sizes, committed
}

// TestCrashRejectsKill9 kills an import of 60,000 rows, 20 % of them bad,
// with SIGKILL at 10 random moments and resumes it until it finishes. The
// rejects JSON lines and CSV then hold every bad row exactly once, whole:
// no torn or glued line, every CSV record with the header's field count.
func TestCrashRejectsKill9(t *testing.T) {
	const rows, kills = 60_000, 10
	testStart := time.Now()
	e, bad, jsonl, csvPath := badRowsEnv(t, rows, 7, "--throttle", "30", "--delay", "5ms")
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("%d bad rows of %d; kill moments: seed %d (INSIDER_IMPORT_CRASH_SEED=%d replays them)", len(bad), rows, seed, seed)

	uncommitted := 0 // kills after which a rejects file held more than its checkpoint recorded
	killResume(t, e, kills, rng, 3, func(kill int, delay time.Duration) {
		sizes, committed := rejectsSizes(t, e, jsonl, csvPath)
		if sizes[0] > committed[0] || sizes[1] > committed[1] {
			uncommitted++
		}
		t.Logf("kill %2d after %3dms: rejects JSON lines %d bytes (checkpoint: %d), CSV %d bytes (checkpoint: %d)",
			kill, delay.Milliseconds(), sizes[0], committed[0], sizes[1], committed[1])
	})
	c := checkRejectsFiles(t, e, bad, jsonl, csvPath)
	t.Logf("closing figures: rows %d, bad rows %d, kills %d (SIGKILL), %d of them left more in a rejects file than the checkpoint recorded; "+
		"JSON lines: %d lines, %d torn, %d duplicate rows, %d missing; CSV: %d records, %d with another field count, %d duplicate rows, %d missing; %.1fs",
		rows, len(bad), kills, uncommitted, c.jsonLines, c.jsonTorn, c.jsonDup, c.jsonMissing,
		c.csvRows, c.csvWrongFields, c.csvDup, c.csvMissing, time.Since(testStart).Seconds())
	c.assertExact(t, len(bad))
	cp, ok := readCheckpoint(t, e.checkpoints)
	require.True(t, ok)
	require.NotNil(t, cp.Files[e.csv])
	assert.Equal(t, int64(len(bad)), cp.Files[e.csv].RowsRejected, "the checkpoint counts each bad row once")
	for _, p := range []string{jsonl, csvPath} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
	}
}

// TestCrashRejectsFileTooLarge runs out of room for the rejects file (a
// file size limit, as a full disk would) part way: the run fails naming
// the file, and the resume without the limit leaves the rejects exact.
func TestCrashRejectsFileTooLarge(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash for ulimit -f")
	}
	const rows = 20_000
	e, bad, jsonl, csvPath := badRowsEnv(t, rows, 8, "--throttle", "200")
	// 256 KiB: the rejects JSON lines (about 1.5 MB in the end) cross it;
	// the checkpoint and the report stay well under it.
	args := append([]string{"-c", `ulimit -f 256 && exec "$0" "$@"`, binary(t)}, e.args...)
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bash, args...)
	p.cmd.Env = childEnv(e.env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); p.res.Code = p.cmd.ProcessState.ExitCode(); close(p.done) }()
	res := p.wait(t, 2*time.Minute)
	// It fails with exit 1 (whether the write failed in a save's flush or
	// when the rows were written), naming the rejects file and the error.
	require.Equal(t, 1, res.Code, "the limited run fails\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	assert.Contains(t, res.Stderr, jsonl+": file too large")
	sizes, committed := rejectsSizes(t, e, jsonl, csvPath)
	t.Logf("limited run: exit %d; rejects JSON lines %d bytes (checkpoint: %d), CSV %d bytes (checkpoint: %d)",
		res.Code, sizes[0], committed[0], sizes[1], committed[1])
	assert.LessOrEqual(t, sizes[0], int64(256<<10))
	if b, err := os.ReadFile(jsonl); assert.NoError(t, err) && len(b) > 0 {
		assert.Equal(t, byte('\n'), b[len(b)-1], "the failed write was taken back: the file ends with a whole line")
	}

	res = runImport(t, e.env, e.args...)
	require.Equal(t, 3, res.Code, "resume\nstdout:\n%s\nstderr:\n%s", res.Stdout, tail([]byte(res.Stderr), 3000))
	c := checkRejectsFiles(t, e, bad, jsonl, csvPath)
	t.Logf("closing figures: rows %d, bad rows %d, one run stopped by the file size limit; JSON lines: %d lines, %d torn, %d duplicate rows, %d missing; "+
		"CSV: %d records, %d with another field count, %d duplicate rows, %d missing",
		rows, len(bad), c.jsonLines, c.jsonTorn, c.jsonDup, c.jsonMissing, c.csvRows, c.csvWrongFields, c.csvDup, c.csvMissing)
	c.assertExact(t, len(bad))
}

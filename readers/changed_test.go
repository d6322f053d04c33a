package readers

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// changedCSV is a CSV of n rows of about 100 bytes each, of random text
// (gzip'd, it stays far larger than the readers' buffers).
func changedCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,text\n")
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		fmt.Fprintf(&b, "%d,%016x%016x%016x%016x%016x\n", i, rnd.Uint64(), rnd.Uint64(), rnd.Uint64(), rnd.Uint64(), rnd.Uint64())
	}
	return b.Bytes()
}

// readChanged opens path, reads 10 records, lets change alter the file,
// and reads on to the end: it returns the records read and the error that
// ended the input.
func readChanged(t *testing.T, path string, change func()) (int, error) {
	t.Helper()
	ctx := context.Background()
	r, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer r.Close()
	n := 0
	for ; n < 10; n++ {
		_, err := r.Next(ctx)
		require.NoError(t, err)
	}
	change()
	for {
		_, err := r.Next(ctx)
		if err != nil {
			return n, err
		}
		n++
	}
}

// A local file cut short, grown or rewritten between open and the end of
// the read ends the input with a *ChangedError naming both sizes, never an
// io.EOF after part of it; read whole, it ends with io.EOF.
func TestLocalChangedWhileRead(t *testing.T) {
	const n = 20000 // 1.9 MB: far more than the readers buffer
	full := changedCSV(n)
	zfull := func() []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(full)
		w.Close()
		return b.Bytes()
	}()
	var pqb bytes.Buffer
	type pqRow struct {
		ID   int64  `parquet:"id"`
		Text string `parquet:"text"`
	}
	w := pq.NewGenericWriter[pqRow](&pqb, pq.MaxRowsPerRowGroup(1000))
	for i := range n {
		_, err := w.Write([]pqRow{{int64(i), strings.Repeat("x", 90)}})
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	later := time.Now().Add(time.Minute)
	for _, c := range []struct {
		name, file string
		data       []byte
		change     func(path string, data []byte)
		want       string
	}{
		{"csv cut", "a.csv", full, func(p string, d []byte) { require.NoError(t, os.Truncate(p, int64(len(d))*3/10)) },
			fmt.Sprintf("%s bytes when opened, %s now", Thousands(int64(len(full))), Thousands(int64(len(full))*3/10))},
		{"csv grown", "a.csv", full, func(p string, d []byte) { appendTo(t, p, changedCSV(10)[8:]) },
			fmt.Sprintf("%s bytes when opened, %s now", Thousands(int64(len(full))), Thousands(int64(len(full)+len(changedCSV(10))-8)))},
		{"csv touched", "a.csv", full, func(p string, d []byte) { require.NoError(t, os.Chtimes(p, later, later)) },
			"changed while it was being read: modified"},
		{"csv replaced", "a.csv", full, func(p string, d []byte) {
			require.NoError(t, os.WriteFile(p+".new", d, 0o600))
			require.NoError(t, os.Rename(p+".new", p))
		}, "changed while it was being read: replaced by another file"},
		{"csv removed", "a.csv", full, func(p string, d []byte) { require.NoError(t, os.Remove(p)) },
			"changed while it was being read: removed"},
		{"gzip cut", "a.csv.gz", zfull, func(p string, d []byte) { require.NoError(t, os.Truncate(p, int64(len(d))*3/10)) },
			fmt.Sprintf("%s bytes when opened, %s now", Thousands(int64(len(zfull))), Thousands(int64(len(zfull))*3/10))},
		{"parquet cut", "a.parquet", pqb.Bytes(), func(p string, d []byte) { require.NoError(t, os.Truncate(p, int64(len(d))*3/10)) },
			fmt.Sprintf("%s bytes when opened, %s now", Thousands(int64(pqb.Len())), Thousands(int64(pqb.Len())*3/10))},
		{"parquet touched", "a.parquet", pqb.Bytes(), func(p string, d []byte) { require.NoError(t, os.Chtimes(p, later, later)) },
			"changed while it was being read: modified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.file)
			require.NoError(t, os.WriteFile(path, c.data, 0o600))
			got, err := readChanged(t, path, func() { c.change(path, c.data) })
			var ce *ChangedError
			require.ErrorAs(t, err, &ce, "after %d rows", got)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), path)
			if strings.HasSuffix(c.name, "cut") {
				assert.Less(t, got, n, "the rows after the cut are not read")
			} else {
				assert.Equal(t, n, got, "the rows of the file as opened, then the error instead of io.EOF")
			}
			inPlace := !strings.Contains(c.name, "replaced") && !strings.Contains(c.name, "removed")
			assert.Equal(t, inPlace, ce.InPlace)
			assert.Equal(t, !inPlace, errors.Is(err, ErrChanged), "a replaced or removed file is a new version")
			t.Log(err)
		})
	}
	// Untouched, each is read to its end.
	for name, data := range map[string][]byte{"a.csv": full, "a.csv.gz": zfull, "a.parquet": pqb.Bytes()} {
		path := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		got, err := readChanged(t, path, func() {})
		require.ErrorIs(t, err, io.EOF, name)
		assert.Equal(t, n, got, name)
	}
}

func appendTo(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

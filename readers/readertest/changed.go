package readertest

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/insider-import/insider-import/readers"
)

// testChangedLocal cuts a local file to half, or appends to it, after its
// reader read a few rows: reading on must end in a fatal *ChangedError
// naming the file, never io.EOF after part of the file or more than it had
// when it was opened.
func testChangedLocal(t *testing.T, env Env, f Format, how string) {
	data, want := f.Sample(t, 20000)
	path := env.Put(t, how+f.Ext, data)
	r := open(t, env, path, nil)
	n := 0
	for ; n < 5; n++ {
		if _, err := r.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	switch how {
	case "cut":
		if err := os.Truncate(path, int64(len(data)/2)); err != nil {
			t.Fatal(err)
		}
	case "grown":
		fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fh.Write(data[len(data)/2:])
		fh.Close()
	}
	for ; n <= len(want); n++ {
		_, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			t.Fatalf("a file %s while read was read to an end without an error (%d rows of %d)", how, n, len(want))
		}
		if err != nil {
			var ce *readers.ChangedError
			if !errors.As(err, &ce) {
				t.Fatalf("after %d rows: not a *readers.ChangedError: %v", n, err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "changed while it was being read") {
				t.Errorf("the error does not name the file and the change: %v", err)
			}
			if _, again := r.Next(context.Background()); again == nil || errors.Is(again, io.EOF) {
				t.Errorf("the error is not sticky: then %v", again)
			}
			t.Logf("after %d rows: %v", n, err)
			return
		}
	}
	t.Fatalf("read %d rows from a %d-row file", n, len(want))
}

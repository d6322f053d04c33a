package readertest

import "testing"

// TestReaders runs the suite for every format on local disk and S3.
func TestReaders(t *testing.T) {
	for _, f := range Formats() {
		t.Run("local/"+f.Name, func(t *testing.T) { Run(t, NewLocal(t), f) })
		t.Run("s3/"+f.Name, func(t *testing.T) { Run(t, NewS3(t), f) })
	}
}

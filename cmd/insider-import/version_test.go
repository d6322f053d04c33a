package main

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersion: `version` prints the version and commit stamped with
// -ldflags -X, and the Go version; without a stamp it still prints three
// lines from the build info.
func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version"}, &stdout, &stderr))
	assert.Regexp(t, `^insider-import \S+\ncommit \S+\n`+runtime.Version()+` `+runtime.GOOS+`/`+runtime.GOARCH+`\n$`, stdout.String())

	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "0123abcd"
	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"version"}, &stdout, &stderr))
	assert.Equal(t, "insider-import v1.2.3\ncommit 0123abcd\n"+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n", stdout.String())

	err := run(context.Background(), []string{"version", "extra"}, &stdout, &stderr)
	assert.Equal(t, exitUsage, exitCode(err))
}

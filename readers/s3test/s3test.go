// Package s3test gives tests a real S3-compatible server on loopback.
//
// Server returns the endpoint named by IMPORTER_TEST_S3_ENDPOINT (with
// IMPORTER_TEST_S3_ACCESS_KEY and IMPORTER_TEST_S3_SECRET_KEY) when it is set;
// otherwise it starts a versitygw binary (from IMPORTER_VERSITYGW, PATH, or
// the cache .ci/run fills) on a free loopback port over a temporary directory
// and stops it when the test ends. With neither, the test is skipped, except
// under CI=true, where it fails: CI never skips S3 tests.
package s3test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Endpoint describes a running S3-compatible server.
type Endpoint struct {
	URL       string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
}

// Server returns a running S3-compatible server for t.
func Server(t testing.TB) Endpoint {
	t.Helper()
	if url := os.Getenv("IMPORTER_TEST_S3_ENDPOINT"); url != "" {
		return Endpoint{
			URL:       url,
			AccessKey: os.Getenv("IMPORTER_TEST_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("IMPORTER_TEST_S3_SECRET_KEY"),
			Region:    "us-east-1",
		}
	}
	bin := findVersitygw()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no S3-compatible server: set IMPORTER_TEST_S3_ENDPOINT or install versitygw (see .ci/run)")
		}
		t.Skip("no S3-compatible server: set IMPORTER_TEST_S3_ENDPOINT or install versitygw (see .ci/run)")
	}
	return startVersitygw(t, bin)
}

func findVersitygw() string {
	if p := os.Getenv("IMPORTER_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "insider-import-ci", "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func startVersitygw(t testing.TB, bin string) Endpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	ep := Endpoint{URL: "http://" + addr, AccessKey: "testaccess", SecretKey: "testsecret1234", Region: "us-east-1"}
	cmd := exec.Command(bin, "--port", addr, "--access", ep.AccessKey, "--secret", ep.SecretKey, "posix", dir)
	logf, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(ep.URL + "/")
		if err == nil {
			resp.Body.Close()
			return ep
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw did not answer on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// String is for logs.
func (e Endpoint) String() string { return fmt.Sprintf("s3 %s", e.URL) }

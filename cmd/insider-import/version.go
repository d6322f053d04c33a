package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time by `make build` / `make image`:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=abc1234"
//
// When they are not set (go build, go install), cmdVersion falls back to what
// the Go toolchain recorded in the binary (module version, VCS revision).
var (
	version = ""
	commit  = ""
)

// buildVersion returns the version, commit and Go version of this binary.
func buildVersion() (ver, rev, goVersion string) {
	ver, rev, goVersion = version, commit, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" {
			ver = bi.Main.Version
		}
		if rev == "" {
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if rev != "" && modified {
				rev += "-dirty"
			}
		}
	}
	if ver == "" {
		ver = "(devel)"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, goVersion
}

// cmdVersion runs `insider-import version`.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insider-import version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("version: unexpected argument %q", fs.Arg(0))}
	}
	ver, rev, goVersion := buildVersion()
	fmt.Fprintf(stdout, "insider-import %s\ncommit %s\n%s %s/%s\n", ver, rev, goVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}

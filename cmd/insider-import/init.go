package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/insider-import/insider-import/importer/initconfig"
	"github.com/insider-import/insider-import/internal/safefile"
	"github.com/insider-import/insider-import/readers"
)

// cmdInit runs `insider-import init [--out import.yaml] INPUT...`: it
// writes a first config from the inputs (initconfig.Generate). A config
// that still needs an edit (no identifier found) is written all the same,
// and the command exits 2 saying what to edit.
func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("insider-import init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: insider-import init [--out import.yaml] INPUT...\n\n"+
			"Reads the header or schema and a sample of rows of the inputs (paths, directories, globs, s3://)\n"+
			"and writes a commented import config that validate accepts.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	out := fs.String("out", "import.yaml", "write the config to `file` (- for stdout)")
	sample := fs.Int("sample", 1000, "read this many `rows` of the first input")
	force := fs.Bool("force", false, "overwrite --out if it exists")
	endpoint := fs.String("endpoint", "", "the Upsert API `URL` written to insider.endpoint (default Insider's; the stand-in's, e.g. http://127.0.0.1:8080/api/user/v1/upsert, to try the config locally)")
	var s3 readers.S3Options
	fs.StringVar(&s3.Region, "s3-region", "", "S3 region of s3:// inputs (source.s3.region)")
	fs.StringVar(&s3.Endpoint, "s3-endpoint", "", "S3-compatible endpoint `URL` (source.s3.endpoint)")
	fs.BoolVar(&s3.PathStyle, "s3-path-style", false, "path-style S3 requests (source.s3.path_style)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"init: name at least one input (a file, directory, glob or s3:// URI)"}
	}
	if *sample < 1 {
		return usageError{"init: --sample must be at least 1"}
	}
	if *out != "-" && !*force {
		if _, err := os.Lstat(*out); err == nil {
			return usageError{fmt.Sprintf("init: %s exists; choose another --out or add --force", *out)}
		}
	}
	y, err := initconfig.Generate(ctx, initconfig.Options{Inputs: fs.Args(), SampleRows: *sample, S3: s3, Partner: os.Getenv("INSIDER_PARTNER_NAME"), Endpoint: *endpoint})
	var pe *initconfig.ProblemsError
	if err != nil && !errors.As(err, &pe) {
		return err
	}
	if *out == "-" {
		_, werr := stdout.Write(y)
		return errors.Join(werr, usageErrorOf(pe))
	}
	// The config lists sample values of unmapped columns: user data, 0600.
	if err := safefile.WriteFile(*out, y); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if pe != nil {
		return usageError{fmt.Sprintf("init: wrote %s, but %v", *out, pe)}
	}
	fmt.Fprintf(stdout, "wrote %s: check it, then run insider-import validate -c %s\n", *out, *out)
	return nil
}

func usageErrorOf(pe *initconfig.ProblemsError) error {
	if pe == nil {
		return nil
	}
	return usageError{pe.Error()}
}

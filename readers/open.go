package readers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Open opens one input for reading: a local path or an s3:// URI. The format
// is opts.Format, or with FormatAuto chosen by extension (.parquet is
// Parquet; everything else is CSV, compressed or not, told by its first
// bytes, unless they are Parquet's).
// With opts.Start set, reading resumes at that position. An input in a
// Hive-style partition directory (country=TR/) has a text column for each
// partition after its own (see partitionsOf).
func Open(ctx context.Context, uri string, opts Options) (Reader, error) {
	src, err := openSource(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	var r Reader
	switch FormatOf(uri, opts.Format) {
	case FormatParquet:
		r, err = newParquetReader(ctx, src, opts)
	default:
		r, err = newCSVReader(ctx, src, opts)
		if errors.Is(err, errParquetMagic) && (opts.Format == "" || opts.Format == FormatAuto) {
			// A Parquet file named otherwise (Glue's part files): auto
			// goes by its first bytes.
			r, err = newParquetReader(ctx, src, opts)
		}
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	if parts := partitionsOf(uri); len(parts) > 0 {
		pr, err := withPartitions(r, uri, parts)
		if err != nil {
			r.Close()
			return nil, err
		}
		r = pr
	}
	if opts.Stop != nil {
		r = &stopReader{Reader: r, stop: opts.Stop.Index}
	}
	return r, nil
}

// FormatOf returns the format an input is read as.
func FormatOf(uri string, f Format) Format {
	if f != "" && f != FormatAuto {
		return f
	}
	if strings.HasSuffix(strings.ToLower(uri), ".parquet") {
		return FormatParquet
	}
	return FormatCSV
}

// IsS3 reports whether uri names an S3 object or prefix.
func IsS3(uri string) bool { return strings.HasPrefix(uri, "s3://") }

// Expand turns the configured paths into the list of inputs: local globs
// are expanded, a local directory stands for the data files in its tree
// (see listTree), s3:// URIs may name an object, a prefix ending in "/"
// (listed as a directory is) or a glob in the key. The
// result is sorted within each pattern and free of duplicates; a pattern
// that matches nothing is an error, so a typo is not a silent no-op.
func Expand(ctx context.Context, patterns []string, opts S3Options) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		var (
			matches []string
			err     error
		)
		if IsS3(p) {
			matches, err = expandS3(ctx, p, opts)
		} else {
			matches, err = expandLocal(p)
		}
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, &InputError{Input: p, Msg: "no input files match", Err: ErrNoMatch}
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

func expandLocal(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if lit := literalGlob(pattern, matches); lit != nil {
		return nil, lit
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	var out []string
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() && !st.Mode().IsRegular() {
			return nil, notRegular(m, st.Mode())
		}
		if !st.IsDir() {
			out = append(out, m)
			continue
		}
		files, err := walkLocal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	slices.Sort(out)
	return out, nil
}

// literalGlob is the error for a path whose file name holds glob
// characters (data[1].csv): a file of that name exists, but as a pattern
// the path matches other files or none. It says how to escape them.
func literalGlob(pattern string, matches []string) error {
	const meta = `*?[\`
	if !strings.ContainsAny(pattern, meta) || slices.Contains(matches, pattern) {
		return nil
	}
	if _, err := os.Lstat(pattern); err != nil {
		return nil
	}
	var esc strings.Builder
	for _, r := range pattern {
		if strings.ContainsRune(meta+"]", r) {
			esc.WriteByte('\\')
		}
		esc.WriteRune(r)
	}
	what := "no file"
	if len(matches) > 0 {
		what = matches[0]
		if len(matches) > 1 {
			what += fmt.Sprintf(" and %d more", len(matches)-1)
		}
	}
	return &InputError{Input: pattern, Msg: fmt.Sprintf("a file of this name exists, but source.paths reads * ? [ ] and \\ as glob characters, so as a pattern this path does not name it (it matches %s); "+
		"to name the file, escape each with a backslash, in single quotes in YAML: '%s'", what, esc.String())}
}

// walkLocal lists the data files of the tree under dir as listTree keeps
// them: every level, hidden names skipped, tables refused.
func walkLocal(dir string) ([]string, error) {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept, err := listTree(dir, rels)
	for i, rel := range kept {
		kept[i] = filepath.Join(dir, filepath.FromSlash(rel))
	}
	return kept, err
}

// listTree picks the data files out of a directory tree (a local directory
// or an S3 prefix) as Spark, Hive, DuckDB and pyarrow read one: rels are
// the paths of every file below root, "/"-separated, and a file is skipped
// when any element of its path starts with "_" or "." (_SUCCESS,
// _committed_*, .crc checksums, _temporary/), or it is a NAME_$folder$
// directory marker. A tree that is a table
// rather than a folder of files (Delta Lake's _delta_log/, Iceberg's
// metadata/*.metadata.json) is refused: its folder also holds files that
// later commits removed, and reading them would send stale rows.
func listTree(root string, rels []string) ([]string, error) {
	var kept []string
	for _, rel := range rels {
		els := strings.Split(rel, "/")
		for i, el := range els {
			table := ""
			switch {
			case el == "_delta_log" && i < len(els)-1:
				table = "a Delta Lake table (it holds " + strings.Join(els[:i+1], "/") + "/)"
			case el == "metadata" && i == len(els)-2 && strings.HasSuffix(els[i+1], ".metadata.json"):
				table = "an Iceberg table (it holds " + rel + ")"
			}
			if table != "" {
				return nil, &InputError{Input: root, Msg: "is " + table + ", not a folder of files: the folder also holds files that later commits removed; export the table's current rows (e.g. COPY ... TO with DuckDB or Spark) and import those"}
			}
		}
		if !treeHidden(els) {
			kept = append(kept, rel)
		}
	}
	return kept, nil
}

// treeHidden reports whether a path below a listed directory has an
// element that data tools treat as hidden, or is a directory marker
// (NAME_$folder$, which Hadoop's older S3 file systems write for each
// directory).
func treeHidden(els []string) bool {
	for _, el := range els {
		if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
			return true
		}
	}
	return strings.HasSuffix(els[len(els)-1], "_$folder$")
}

// Stat returns the identity of an input without reading any of its content:
// a stat for local files, a HEAD request for S3 objects.
func Stat(ctx context.Context, uri string, opts Options) (Identity, error) {
	src, err := openSource(ctx, uri, opts)
	if err != nil {
		return Identity{}, err
	}
	defer src.Close()
	return src.Identity(), nil
}

func openSource(ctx context.Context, uri string, opts Options) (source, error) {
	if IsS3(uri) {
		return openS3(ctx, uri, opts)
	}
	return openLocal(uri)
}

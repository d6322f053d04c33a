package main

// The examples in README.md and docs/*.md run here, so the docs cannot
// drift from the tool. A fenced block is an example when its info string
// has the word "example" after the language:
//
//	```sh example     run by bash -e -o pipefail; every command must exit 0;
//	                  variables it exports stay set for the next ones
//	```yaml example   a config: with a mapping, written as is; without one,
//	                  a fragment merged into the import.yaml before it
//	                  (as the reader adds it by hand); either way it must
//	                  pass `insider-import validate` (exit 0, or 3 when some
//	                  rows are invalid: the config itself was accepted)
//
// The examples of one file run in document order in one directory, so a
// walk-through builds on its earlier steps; it starts with export.csv (the
// demo's purchases without the rows it holds invalid on purpose) and
// exports/2025-06.csv.gz (the same rows with a loyalty_card column, gzipped).
// The built binary is first on PATH as insider-import, and the stand-in the
// examples name at 127.0.0.1:8080 is a fresh `insider-import fake` on a free
// port. See docs/development.md, "Examples in the docs".

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/importer/config"
)

// docExample is one fenced block marked as an example.
type docExample struct {
	lang string // sh or yaml
	line int    // of the opening fence
	text string
}

// docExamples returns the examples of a Markdown file in order.
func docExamples(t *testing.T, path string) []docExample {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []docExample
	var cur *docExample
	var buf strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			info := strings.Fields(strings.TrimPrefix(line, "```"))
			cur = &docExample{line: n}
			if len(info) >= 2 && info[1] == "example" {
				cur.lang = info[0]
				require.Contains(t, []string{"sh", "yaml"}, cur.lang, "%s:%d: an example must be sh or yaml", path, n)
			}
			buf.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			if cur.lang != "" {
				cur.text = buf.String()
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil:
			buf.WriteString(line + "\n")
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "%s: a fence is not closed", path)
	return out
}

func TestDocsExamples(t *testing.T) {
	bin := binary(t)
	root := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	demo, err := os.ReadFile(filepath.Join(root, "testdata", "demo", "purchases.csv"))
	require.NoError(t, err)

	total := map[string]int{}
	for _, file := range files {
		examples := docExamples(t, file)
		name := filepath.Base(file)
		total[name] = len(examples)
		if len(examples) == 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f := startFake(t)
			dir := docsWorkdir(t, demo)
			binDir := t.TempDir()
			require.NoError(t, os.Symlink(bin, filepath.Join(binDir, "insider-import")))
			env := childEnv("PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+dir)
			for i, ex := range examples {
				where := fmt.Sprintf("%s:%d", name, ex.line)
				text := strings.ReplaceAll(ex.text, "http://127.0.0.1:8080", f.URL)
				switch ex.lang {
				case "sh":
					script := filepath.Join(dir, fmt.Sprintf(".example-%d.sh", i))
					// Variables exported by an earlier example stay set, as
					// in the reader's terminal.
					text = "if [ -f .example-env ]; then . ./.example-env; fi\n" + text + "export -p >.example-env\n"
					require.NoError(t, os.WriteFile(script, []byte(text), 0o600))
					out, err := docsRun(dir, env, "bash", "-e", "-o", "pipefail", script)
					require.NoError(t, err, "%s: the example failed:\n%s\n---- output:\n%s", where, ex.text, out)
				case "yaml":
					cfg := docsConfig(t, dir, i, where, text)
					out, err := docsRun(dir, env, bin, "validate", "-c", cfg, "--sample", "0", "--progress", "none", "--log-format", "text")
					var ee *exec.ExitError
					if errors.As(err, &ee) && ee.ExitCode() == exitRejects {
						err = nil // the config was accepted; some rows are invalid
					}
					require.NoError(t, err, "%s: validate refused the example:\n%s\n---- output:\n%s", where, ex.text, out)
				}
			}
			if name == "README.md" {
				// The walk-through imported into the stand-in and read back.
				st := f.Stats(t)
				assert.Positive(t, st.UsersAccepted, "README's walk-through delivered no user")
			}
		})
	}
	// The marks cannot vanish unnoticed: the walk-through and the
	// reference's config and commands stay examples.
	assert.GreaterOrEqual(t, total["README.md"], 3, "README.md's examples")
	assert.GreaterOrEqual(t, total["config.md"], 3, "docs/config.md's examples")
	assert.GreaterOrEqual(t, total["operations.md"], 1, "docs/operations.md's examples")
}

// docsWorkdir makes a file's working directory: export.csv and
// exports/2025-06.csv.gz from the demo's rows that it holds valid.
func docsWorkdir(t *testing.T, demo []byte) string {
	t.Helper()
	dir := t.TempDir()
	var clean, loyal bytes.Buffer
	for i, line := range strings.Split(strings.TrimRight(string(demo), "\n"), "\n") {
		// The demo's bad email, purchase without quantity and non-E.164 phone.
		if strings.Contains(line, "bad-email") || strings.Contains(line, "no.qty@") || strings.Contains(line, ",07700900456,") {
			continue
		}
		clean.WriteString(line + "\n")
		if i == 0 {
			fmt.Fprintf(&loyal, "%s,loyalty_card\n", line)
		} else {
			fmt.Fprintf(&loyal, "%s,LC-%04d\n", line, i)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "export.csv"), clean.Bytes(), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "exports"), 0o700))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(loyal.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports", "2025-06.csv.gz"), gz.Bytes(), 0o600))
	return dir
}

// docsConfig writes a yaml example as a config to validate: a whole one
// (it has a mapping) to a file of its own; a fragment merged into the
// directory's import.yaml, which it then is.
func docsConfig(t *testing.T, dir string, i int, where, text string) string {
	t.Helper()
	var frag map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &frag), "%s: not YAML", where)
	if _, whole := frag["mapping"]; whole {
		return writeFile(t, dir, fmt.Sprintf(".example-%d.yaml", i), text)
	}
	path := filepath.Join(dir, "import.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err, "%s: a config fragment needs an import.yaml made by an example before it", where)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	mergeYAML(cfg, frag)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

// mergeYAML merges src into dst: maps key by key, anything else replaced.
func mergeYAML(dst, src map[string]any) {
	for k, v := range src {
		sm, ok1 := v.(map[string]any)
		dm, ok2 := dst[k].(map[string]any)
		if ok1 && ok2 {
			mergeYAML(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// docsRun runs a command of an example in dir, giving up after 5 minutes
// (the machine may be loaded), and returns its combined output.
func docsRun(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDocsConfigKeys holds docs/config.md's reference to the config's
// spec tables (config.Reference): between its markers, the table lists
// exactly the keys the decoder knows, each with its default, so a key
// cannot go undocumented or keep a stale default. UPDATE_DOCS=1 rewrites
// the table from the specs.
func TestDocsConfigKeys(t *testing.T) {
	const begin, end = "<!-- config reference: begin -->\n", "<!-- config reference: end -->\n"
	path := filepath.Join("..", "..", "docs", "config.md")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	require.True(t, i >= 0 && j > i, "docs/config.md has no reference between %q and %q", begin, end)
	var table strings.Builder
	table.WriteString("| key | default | |\n|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	keys := config.Reference()
	for _, k := range keys {
		def := ""
		if k.Default != "" {
			def = "`" + cell(k.Default) + "`"
		}
		fmt.Fprintf(&table, "| `%s` | %s | %s |\n", cell(k.Key), def, cell(k.Doc))
	}
	want := doc[:i+len(begin)] + table.String() + doc[j:]
	if os.Getenv("UPDATE_DOCS") != "" {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		return
	}
	assert.Equal(t, strings.Split(want, "\n"), strings.Split(doc, "\n"), "docs/config.md's reference is not the config's specs (UPDATE_DOCS=1 go test -run TestDocsConfigKeys ./cmd/insider-import/ rewrites it)")
	assert.Greater(t, len(keys), 70, "config keys in the reference")
}

// TestDocsLinks checks every relative link of README.md and docs/*.md: the
// file exists and, for a #fragment, has a heading of that anchor (as
// GitHub makes them), so moving a section cannot leave a dead link.
func TestDocsLinks(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, filepath.Join(root, "README.md"))
	anchors := func(path string) map[string]bool {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		out := map[string]bool{}
		fenced := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "```") {
				fenced = !fenced
			}
			if fenced || !strings.HasPrefix(line, "#") {
				continue
			}
			var slug strings.Builder
			for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#"))) {
				switch {
				case r == ' ':
					slug.WriteByte('-')
				case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
					slug.WriteRune(r)
				}
			}
			out[slug.String()] = true
		}
		return out
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			n++
			file, frag, _ := strings.Cut(target, "#")
			path := f
			if file != "" {
				path = filepath.Join(filepath.Dir(f), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %s: %v", f, target, err)
				continue
			}
			if frag != "" && !anchors(path)[frag] {
				t.Errorf("%s: link %s: %s has no heading #%s", f, target, path, frag)
			}
		}
	}
	assert.Greater(t, n, 20, "relative links checked")
}

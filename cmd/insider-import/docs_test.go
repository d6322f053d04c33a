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
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestDocsConfigKeys holds docs/ to every key the config parser knows: each
// list of known keys the parser checks a section against (the calls
// w.mapping(node, "section", []string{...}, ...) in importer/config/) must have
// each key documented as "key:" or "section.key" in docs/config.md,
// formats.md or operations.md, so a new key cannot go undocumented.
func TestDocsConfigKeys(t *testing.T) {
	root := filepath.Join("..", "..")
	var docs strings.Builder
	for _, f := range []string{"config.md", "formats.md", "operations.md"} {
		b, err := os.ReadFile(filepath.Join(root, "docs", f))
		require.NoError(t, err)
		docs.Write(b)
	}
	srcs, err := filepath.Glob(filepath.Join(root, "importer", "config", "*.go"))
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, src := range srcs {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, src, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 3 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "mapping" {
				return true
			}
			section := "" // a section named by a variable: the key alone
			if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				section, _ = strconv.Unquote(lit.Value)
			}
			keys, ok := call.Args[2].(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, e := range keys.Elts {
				lit, ok := e.(*ast.BasicLit)
				if !ok {
					continue
				}
				key, _ := strconv.Unquote(lit.Value)
				checked++
				found := strings.Contains(docs.String(), key+":") ||
					section != "" && section != "config" && strings.Contains(docs.String(), section+"."+key)
				assert.True(t, found, "%s: config key %s.%s is not in docs/config.md, formats.md or operations.md", fset.Position(lit.Pos()), section, key)
			}
			return true
		})
	}
	assert.Greater(t, checked, 50, "config keys found in importer/config/")
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

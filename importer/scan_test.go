package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insider-import/insider-import/checkpoint"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/fakeapi"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// wireServer is the fake API on loopback, with every request body it
// received kept as sent.
type wireServer struct {
	url    string
	mu     sync.Mutex
	bodies [][]byte
}

func startWire(t *testing.T) *wireServer {
	t.Helper()
	w := &wireServer{}
	srv := fakeapi.New(fakeapi.Options{Token: testKey})
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.bodies = append(w.bodies, b)
		w.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	w.url = ts.URL + upsert.Path
	return w
}

// names returns, by email, the name and city attributes the server
// received, decoded from the JSON on the wire.
func (w *wireServer) names(t *testing.T) map[string][2]string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][2]string{}
	for _, b := range w.bodies {
		var req struct {
			Users []struct {
				Identifiers map[string]any `json:"identifiers"`
				Attributes  map[string]any `json:"attributes"`
			} `json:"users"`
		}
		require.NoError(t, json.Unmarshal(b, &req))
		for _, u := range req.Users {
			name, _ := u.Attributes["name"].(string)
			custom, _ := u.Attributes["custom"].(map[string]any)
			city, _ := custom["city"].(string)
			out[u.Identifiers["email"].(string)] = [2]string{name, city}
		}
	}
	return out
}

func encodingsConfig(t *testing.T, url, file, csvOpts string) *Config {
	t.Helper()
	y := fmt.Sprintf(`
source: {paths: [%q], csv: {%s}}
insider: {endpoint: %q, partner: acme}
delivery: {batch_users: 2, workers: 1, requests_per_second: 1000, max_attempts: 2}
mapping:
  identifiers: {email: email}
  attributes:
    name: name
    custom: {city: city}
`, file, csvOpts, url)
	cfg, err := ParseConfig("enc.yaml", []byte(y))
	require.NoError(t, err)
	return cfg
}

func encodingsFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "testdata", "encodings", name))
	require.NoError(t, err)
	_, err = os.Stat(p)
	require.NoError(t, err, "made by scripts/encodings.sh")
	return p
}

// expectedNames reads the UTF-8 original of a converted file: email →
// name, city.
func expectedNames(t *testing.T, name string) map[string][2]string {
	t.Helper()
	b, err := os.ReadFile(encodingsFile(t, name))
	require.NoError(t, err)
	out := map[string][2]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		c := strings.Split(l, ",")
		out[c[1]] = [2]string{c[2], c[3]}
	}
	return out
}

// Files in Windows-1252, ISO-8859-1 and UTF-16 (made by iconv) import with
// exactly their characters, as the API receives them.
func TestRunTextEncodingsOnTheWire(t *testing.T) {
	for _, c := range []struct{ file, opts, want string }{
		{"cp1252.csv", "encoding: windows-1252", "cp1252.utf8.csv"},
		{"latin1.csv", "encoding: iso-8859-1", "latin1.utf8.csv"},
		{"utf16.tsv", `encoding: utf-16, delimiter: "\t"`, "cp1252.utf8.csv"},
	} {
		t.Run(c.file, func(t *testing.T) {
			w := startWire(t)
			cfg := encodingsConfig(t, w.url, encodingsFile(t, c.file), c.opts)
			rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore()})
			require.NoError(t, err)
			want := expectedNames(t, c.want)
			assert.Equal(t, int64(len(want)), rep.RowsRead)
			assert.Equal(t, want, w.names(t))
			for _, b := range w.bodies {
				assert.NotContains(t, string(b), `\ufffd`)
				assert.NotContains(t, string(b), "\ufffd")
			}
		})
	}
}

// Without the option: the UTF-16 file stops before anything is sent and
// says which option to set; the Windows-1252 file's rows with bytes that
// are not UTF-8 are rejected naming the column and the byte, and the
// rest import.
func TestRunWrongEncoding(t *testing.T) {
	w := startWire(t)
	cfg := encodingsConfig(t, w.url, encodingsFile(t, "utf16.tsv"), `delimiter: "\t"`)
	_, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "this file is UTF-16; set source.csv.encoding: utf-16")
	assert.Empty(t, w.bodies)

	dir := t.TempDir()
	rejects := filepath.Join(dir, "rejects.jsonl")
	file := encodingsFile(t, "cp1252.csv")
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	cfg = encodingsConfig(t, w.url, file, "")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore(), RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.Equal(t, int64(5), rep.RowsRejected)
	assert.Equal(t, map[string][2]string{"plain@example.com": {"Plain Name", "Paris"}}, w.names(t))
	lines := readLines(t, rejects)
	require.Len(t, lines, 5)
	var first struct {
		Row      int64
		Problems []encode.Problem
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, int64(1), first.Row)
	require.Len(t, first.Problems, 1)
	p := first.Problems[0]
	assert.Equal(t, "csv.encoding", p.Rule)
	assert.Equal(t, "name", p.Column)
	assert.Equal(t, fmt.Sprintf("byte 0xE9 at byte %d is not UTF-8; if the file is in another encoding, set source.csv.encoding (e.g. windows-1252)", bytes.IndexByte(raw, 0xE9)), p.Msg)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	require.NoError(t, sc.Err())
	return out
}

// Two ids that differ only in a byte that is not UTF-8 never become one
// user: both rows are rejected, neither is sent.
func TestRunInvalidUTF8NeverMerges(t *testing.T) {
	w := startWire(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "ids.csv", "email,name,city\nC\xe9@example.com,Ann,X\nC\xe8@example.com,Bob,Y\nok@example.com,Ok,Z\n")
	cfg := encodingsConfig(t, w.url, file, "")
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore(), RejectsPath: filepath.Join(dir, "r.jsonl")})
	require.ErrorIs(t, err, ErrIncomplete)
	assert.Equal(t, int64(2), rep.RowsRejected)
	assert.Equal(t, map[string][2]string{"ok@example.com": {"Ok", "Z"}}, w.names(t))
}

// A CSV error says where once; its rule says which CSV rule.
func TestRunCSVRejectRules(t *testing.T) {
	w := startWire(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "q.csv", "email,name,city\na@example.com,A\nb@example.com,\"B\"x,C\nc@example.com,C,C\n")
	rejects := filepath.Join(dir, "r.jsonl")
	cfg := encodingsConfig(t, w.url, file, "")
	_, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: checkpoint.NewMemoryStore(), RejectsPath: rejects})
	require.ErrorIs(t, err, ErrIncomplete)
	lines := readLines(t, rejects)
	require.Len(t, lines, 2)
	var rules []string
	for _, l := range lines {
		var rj struct{ Problems []encode.Problem }
		require.NoError(t, json.Unmarshal([]byte(l), &rj))
		require.Len(t, rj.Problems, 1)
		rules = append(rules, rj.Problems[0].Rule)
		assert.NotContains(t, rj.Problems[0].Msg, file, "where is said once, by the reject's file/row/line")
		assert.NotContains(t, rj.Problems[0].Msg, "row ")
	}
	sort.Strings(rules)
	assert.Equal(t, []string{"csv.fields", "csv.quote"}, rules)
}

// A gzip'd CSV cut short stops the run: an error naming the file and where,
// nothing in the rejects file, the rows before kept in the checkpoint; run
// again with the whole file, it resumes and imports each row once.
func TestRunTruncatedGzipStopsAndResumes(t *testing.T) {
	w := startWire(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("email,name,city\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "u%d@example.com,Name %d,City %d\n", i, i*7919%100003, i%97)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(b.String()))
	require.NoError(t, zw.Close())
	file := filepath.Join(dir, "users.csv.gz")
	require.NoError(t, os.WriteFile(file, z.Bytes()[:z.Len()*3/4], 0o600))
	rejects := filepath.Join(dir, "rejects.jsonl")
	store := checkpoint.NewMemoryStore()
	cfg := encodingsConfig(t, w.url, file, "")
	cfg.Delivery.BatchUsers = 500
	rep, err := Run(context.Background(), cfg, Options{APIKey: testKey, Store: store, RejectsPath: rejects})
	var rf *ReadFailedError
	require.ErrorAs(t, err, &rf)
	assert.Contains(t, err.Error(), "stopped reading "+file+" after row ")
	assert.Contains(t, err.Error(), "byte ")
	assert.Contains(t, err.Error(), "the gzip stream ends early: the file is truncated")
	assert.Zero(t, rep.RowsRejected)
	_, statErr := os.Stat(rejects)
	assert.True(t, os.IsNotExist(statErr), "no rejects file")
	st, err := store.Load(context.Background(), cfg.JobID(0, 1))
	require.NoError(t, err)
	fs := st.Files[file]
	require.NotNil(t, fs)
	assert.False(t, fs.Finished)
	assert.Contains(t, fs.Unreadable, "truncated")
	assert.Greater(t, fs.RowsAcked, int64(0))
	sent := len(w.names(t))
	assert.Equal(t, int(fs.RowsAcked), sent, "what was acknowledged is what was sent")

	// Fixed: the whole file. The run resumes where it stopped.
	require.NoError(t, os.WriteFile(file, z.Bytes(), 0o600))
	w.mu.Lock()
	w.bodies = nil
	w.mu.Unlock()
	rep, err = Run(context.Background(), cfg, Options{APIKey: testKey, Store: store, RejectsPath: rejects})
	require.NoError(t, err)
	assert.Equal(t, int64(20000)-fs.RowsAcked, rep.RowsRead, "only the rest is read")
	assert.Len(t, w.names(t), 20000-sent, "each row sent once")
}

// loopReader hands out the same row error forever, as the old Parquet
// reader did on a page it could not decode.
type loopReader struct{ n int }

func (l *loopReader) Columns() []string { return []string{"email"} }
func (l *loopReader) Next(context.Context) (readers.Record, error) {
	l.n++
	pos := readers.Position{File: "loop.parquet", Index: 0, Offset: -1}
	return readers.Record{Pos: pos, Values: []readers.Value{readers.StringValue("x")}}, &readers.ParseError{File: "loop.parquet", Row: 1, Err: errors.New("corrupt page")}
}
func (l *loopReader) Pos() readers.Position {
	return readers.Position{File: "loop.parquet", Offset: -1}
}
func (l *loopReader) Identity() readers.Identity { return readers.Identity{} }
func (l *loopReader) Close() error               { return nil }

// A reader that does not move on is stopped: one reject at most, then a
// fatal error, never a growing rejects file.
func TestReaderThatDoesNotAdvanceIsFatal(t *testing.T) {
	r := &run{}
	lr := &loopReader{}
	work := make(chan *chunk, 4)
	ordered := make(chan *chunk, 4)
	r.readChunks(context.Background(), lr, work, ordered)
	var chunks []*chunk
	for c := range ordered {
		chunks = append(chunks, c)
	}
	require.Len(t, chunks, 1)
	c := chunks[0]
	assert.Len(t, c.recs, 1, "the first row error is a row")
	var rf *ReadFailedError
	require.ErrorAs(t, c.err, &rf)
	assert.Contains(t, c.err.Error(), "loop.parquet")
	assert.Contains(t, c.err.Error(), "returned row 1 again")
	assert.Equal(t, 2, lr.n)
}

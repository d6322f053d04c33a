package readers

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The text dialects read as their writers mean them: PostgreSQL's text
// format, MySQL/MariaDB INTO OUTFILE with and without enclosing quotes,
// and quoting off; an unquoted \N is null (the empty text) in each.
func TestCSVTextDialects(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		opts Options
		want [][]string
	}{
		{
			name: "postgres text",
			data: "id\tnote\tn\n1\tsay \"hi\"\t\\N\n2\ta\\tb\\nc\\\\d\\re\t7\n3\t\\\\N\t\n4\tback\\\\\\\\slash\\N\t\\N\n",
			opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\'},
			want: [][]string{{"1", `say "hi"`, ""}, {"2", "a\tb\nc\\d\re", "7"}, {"3", `\N`, ""}, {"4", `back\\slashN`, ""}},
		},
		{
			name: "mariadb outfile default",
			data: "1\ttab\\\there\t\\N\n2\tnew\\\nline\tx\\0y\n3\t\"quoted\"\tZ\\Z\n",
			opts: Options{Delimiter: '\t', Quote: NoQuote, Escape: '\\', NoHeader: true, Names: []string{"id", "note", "v"}},
			want: [][]string{{"1", "tab\there", ""}, {"2", "new\nline", "x\x00y"}, {"3", `"quoted"`, "Z\x1a"}},
		},
		{
			name: "mariadb optionally enclosed",
			data: "1,\"say \\\"hi\\\", ok\",\\N,2.5\n2,\"two\\\nlines\",\"\\N\",\"\"\n3,\"a,b\",\"back\\\\slash\",\n",
			opts: Options{Escape: '\\', NoHeader: true, Names: []string{"id", "note", "v", "n"}},
			want: [][]string{{"1", `say "hi", ok`, "", "2.5"}, {"2", "two\nlines", "N", ""}, {"3", "a,b", `back\slash`, ""}},
		},
		{
			name: "no quoting",
			data: "a|b\n\"x|y\"\n\\N|\"\\N\"\n",
			opts: Options{Delimiter: '|', Quote: NoQuote},
			want: [][]string{{`"x`, `y"`}, {"", `"\N"`}},
		},
		{
			name: "default dialect",
			data: "a,b,c\n\\N,\"\\N\",x\\N\n\"multi\nline\",\\N,\"q\"\"\"\n",
			opts: Options{},
			want: [][]string{{"", `\N`, `x\N`}, {"multi\nline", "", `q"`}},
		},
		{
			name: "multi-byte delimiter escaped",
			data: "a→b\nx\\→y→z\n",
			opts: Options{Delimiter: '→', Quote: NoQuote, Escape: '\\'},
			want: [][]string{{"x→y", "z"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "d.txt", []byte(tc.data))
			r, err := Open(context.Background(), p, tc.opts)
			require.NoError(t, err)
			rows, pos, perrs := readAll(t, r)
			end := r.Pos()
			r.Close()
			require.Empty(t, perrs)
			assert.Equal(t, tc.want, rows)
			assert.Equal(t, int64(len(tc.data)), end.Offset)
			// Resuming at every row gives the rest, positions unchanged.
			resumesAtEveryRow(t, p, tc.opts, rows, pos)
		})
	}
}

// Without a header row the first line is a record, and a record of
// another width says what the configured columns are.
func TestCSVNoHeader(t *testing.T) {
	p := writeFile(t, "n.csv", []byte("1,a\n2,b,c\n"))
	r, err := Open(context.Background(), p, Options{NoHeader: true, Names: []string{"id", "v"}})
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, []string{"id", "v"}, r.Columns())
	rows, pos, perrs := readAll(t, r)
	assert.Equal(t, [][]string{{"1", "a"}}, rows)
	assert.Equal(t, int64(1), pos[0].Line)
	require.Len(t, perrs, 1)
	assert.Equal(t, p+" row 2 (line 2): 3 fields, source.csv.columns lists 2", perrs[0].Error())
}

// A quote out of place in an enclosed field is a reject, the rest read.
func TestCSVDialectBadQuote(t *testing.T) {
	p := writeFile(t, "q.csv", []byte("1,\"a\"x,2\n3,\"b\",4\n"))
	r, err := Open(context.Background(), p, Options{Escape: '\\', NoHeader: true, Names: []string{"a", "b", "c"}})
	require.NoError(t, err)
	defer r.Close()
	rows, _, perrs := readAll(t, r)
	assert.Equal(t, [][]string{{"3", "b", "4"}}, rows)
	require.Len(t, perrs, 1)
	assert.Equal(t, "csv.quote", perrs[0].Rule)
	assert.Equal(t, int64(1), perrs[0].Line)
}

// With TextNullMarker an unquoted \N is the text it is, in the default
// dialect (both paths) and in the others.
func TestCSVTextNullMarker(t *testing.T) {
	for _, o := range []Options{{}, {Quote: NoQuote}, {Escape: '\\'}} {
		o.TextNullMarker = true
		r, err := Open(context.Background(), writeFile(t, "n.csv", []byte("a,b\n\\N,x\n\"q\"\"\",\\N\n")), o)
		require.NoError(t, err)
		rows, _, perrs := readAll(t, r)
		r.Close()
		require.Empty(t, perrs)
		want := `\N`
		if o.Escape != 0 {
			want = "N" // an escaped N
		}
		assert.Equal(t, want, rows[0][0], "%+v", o)
		assert.Equal(t, want, rows[1][1], "%+v", o)
	}
}

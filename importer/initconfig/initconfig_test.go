package initconfig

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func initYAML(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	y, err := Generate(context.Background(), Options{Inputs: []string{path}})
	require.NoError(t, err, "%s", y)
	_, err = config.Parse(name, y, encode.CheckValue)
	require.NoError(t, err, "validate loads the config:\n%s", y)
	return string(y)
}

const initCSV = "Email;Name;Phone;Score;Joined;Notes\n" +
	"ana@example.com;Ana;07700 900123;1,5;2026-01-02 10:00:00;a\n" +
	"ben@example.com;Ben;07700 900124;2,25;2026-01-03 11:00:00;NULL\n" +
	"cem@example.com;Cem;07700 900125;3;2026-01-04 12:00:00;c\n"

// TestInitDialects: the delimiter, encoding, byte order mark, gzip and
// NULL marker are found and written out, and the values read the same.
func TestInitDialects(t *testing.T) {
	cp1252, err := charmap.Windows1252.NewEncoder().Bytes([]byte(initCSV + "dör@example.com;Dör;07700 900126;4;2026-01-05 12:00:00;d\n"))
	require.NoError(t, err)
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(initCSV))
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(initCSV))
	zw.Close()
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"plain.csv", []byte(initCSV), []string{`delimiter: ";"`, `null_values: ["NULL"]`}},
		{"bom.csv", append([]byte{0xEF, 0xBB, 0xBF}, initCSV...), []string{"UTF-8 byte order mark"}},
		{"cp1252.csv", cp1252, []string{"encoding: windows-1252"}},
		{"utf16.csv", utf16, []string{"encoding: utf-16\n", "UTF-16LE byte order mark"}},
		{"zipped.csv.gz", gz.Bytes(), []string{"gzip-compressed"}},
		{"tabs.tsv", bytes.ReplaceAll([]byte(initCSV), []byte(";"), []byte("\t")), []string{"delimiter: tab"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := initYAML(t, c.name, c.data)
			for _, w := range c.want {
				assert.Contains(t, y, w)
			}
			assert.Contains(t, y, "    email: \"Email\"\n")
			assert.Contains(t, y, "    name: \"Name\"\n")
			assert.Contains(t, y, `score: {column: "Score", type: number, decimal: ","}`)
			assert.Contains(t, y, `joined: {column: "Joined", type: datetime, layout: "rfc3339", timezone: UTC}`)
			assert.Contains(t, y, `# "Joined" has no time zone: read as UTC. Set timezone to the zone the export was written in.`)
			// Local phone numbers are not guessed into E.164: listed, with why.
			assert.Contains(t, y, `# "Phone": phone numbers without a country prefix (not E.164)`)
			assert.Contains(t, y, `Sample values: "07700 900123", "07700 900124", "07700 900125"`)
			assert.NotContains(t, y, "phone_number:")
		})
	}
}

// TestInitPlacesAndDemotes: an event-name column makes the event; a
// column whose values do not all fit a type is demoted to text with a
// note; a name Insider cannot take is listed, commented out, with its
// values; a header that looks like data is pointed out.
func TestInitPlacesAndDemotes(t *testing.T) {
	y := initYAML(t, "events.csv", []byte("user_id,event_name,occurred_at,code,Ünïcödé ☃,country\n"+
		"u1,page_view,2026-05-01T10:00:00Z,12,x,Germany\n"+
		"u2,signup,2026-05-01T11:00:00+02:00,0012,y,France\n"))
	assert.Contains(t, y, "    uuid: \"user_id\"\n")
	assert.Contains(t, y, "    - name_column: \"event_name\"\n")
	assert.Contains(t, y, `      timestamp: {column: "occurred_at", layout: "rfc3339"}`)
	assert.Contains(t, y, `      code: "code"`, "0012 keeps its zeros: text")
	assert.Contains(t, y, `      country: "country"`, "not ISO codes: a custom attribute, not the default one")
	assert.Contains(t, y, `# "Ünïcödé ☃": its name cannot be a custom attribute name`)
	assert.Contains(t, y, `Sample values: "x", "y"`)

	y = initYAML(t, "orders.csv", []byte("mail,order_no,ccy,amount,ordered_at\n"+
		"a@example.com,O1,EUR,9.5,2026-05-01 10:00:00+00\nb@example.com,O2,USD,12,2026-05-02 10:00:00+00\n"))
	assert.Contains(t, y, "    email: \"mail\"\n")
	assert.Contains(t, y, `    # no quantity column: each row is taken as one item (quantity 1)
    - name: purchase
      timestamp: {column: "ordered_at", layout: "rfc3339"}
      params:
        event_group_id: "order_no"
        currency: "ccy"
        unit_sale_price: {column: "amount", type: number}
        quantity: {value: "1", type: integer}
`)

	y = initYAML(t, "old.csv", []byte("email,order_id,currency,price,qty,purchased_at\n"+
		"a@example.com,O1,EUR,9.5,1,2001-05-01T10:00:00Z\nb@example.com,O2,EUR,9.5,1,2099-05-01T10:00:00Z\nc@example.com,O3,EUR,9.5,1,"+time.Now().UTC().Format(time.RFC3339)+"\n"))
	assert.Contains(t, y, "    # 1 of the sample's 3 events are older than their TTL (events.ttl) and 1 are in the future: those are not sent (Insider would drop them)\n")

	y = initYAML(t, "us.csv", []byte("email,signup\na@example.com,1/2/2026 10:00\nb@example.com,3/4/2026 11:30\n"))
	assert.Contains(t, y, `# "signup": day and month can be read either way in every sample value; layout "1/2/2006 15:04" is a guess ("2/1/2006 15:04" reads the other way)`)
	assert.Contains(t, y, `signup: {column: "signup", type: datetime, layout: "1/2/2006 15:04", timezone: UTC}`)

	y = initYAML(t, "bademail.csv", []byte("id,e_mail,tier\n1,a@example.com,g\n2,not-an-email,s\n3,b@example.com,g\n"))
	assert.Contains(t, y, `    # 33% of the sample's values of "e_mail" are not email addresses: those rows will be rejected, with the reason
    email: "e_mail"
`)

	y = initYAML(t, "dup.csv", []byte("email,name,tier,tier\na@example.com,Ann,g,x\n"))
	assert.Contains(t, y, `# "tier": the header has this column name more than once (or none): rename it in the export. Sample values: "g"`)

	y = initYAML(t, "nohead.csv", []byte("a@example.com,1\nb@example.com,2\n"))
	assert.Contains(t, y, "The first row looks like data")
}

// TestInitSeveralInputs: the first input is sampled, and another whose
// columns differ is pointed out.
func TestInitSeveralInputs(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("email,tier\na@example.com,gold\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.csv"), []byte("email\nb@example.com\n"), 0o600))
	y, err := Generate(context.Background(), Options{Inputs: []string{dir}})
	require.NoError(t, err)
	assert.Contains(t, string(y), `paths: ["`+dir+`"]`)
	assert.Contains(t, string(y), `# `+filepath.Join(dir, "b.csv")+` has no column "tier"`)
}

// TestInitWithoutIdentifier: no identifier column; the config is still
// written, with the problem, for a person to finish.
func TestInitWithoutIdentifier(t *testing.T) {
	path := filepath.Join(t.TempDir(), "noid.csv")
	require.NoError(t, os.WriteFile(path, []byte("color,size\nred,3\nblue,4\n"), 0o600))
	y, err := Generate(context.Background(), Options{Inputs: []string{path}})
	var pe *ProblemsError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Error(), "map at least one identifier")
	assert.Contains(t, string(y), "# no identifier column found: map email, phone_number (E.164) or uuid")
	assert.Contains(t, string(y), `size: {column: "size", type: integer}`)
}

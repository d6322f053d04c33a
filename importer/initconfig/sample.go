package initconfig

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/readers"
)

// readerOptions open an input with the format and dialect found so far.
func (p *initPlan) readerOptions() readers.Options {
	return readers.Options{Format: p.format, Delimiter: p.delim, Encoding: p.encoding, S3: p.opts.S3}
}

// sniffCSV finds the text encoding and byte order mark (from the first
// bytes of a local file) and the delimiter (the one that splits the
// header into the most columns and the rows without errors).
func (p *initPlan) sniffCSV(ctx context.Context) error {
	if head, gz, err := rawHead(p.files[0]); err == nil {
		p.gz = gz
		switch {
		case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
			p.bom = "UTF-8"
		case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
			p.bom, p.encoding = "UTF-16LE", "utf-16"
		case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
			p.bom, p.encoding = "UTF-16BE", "utf-16be"
		case len(head) > 1 && head[0] == 0 && head[1] != 0:
			p.encoding = "utf-16be"
		case len(head) > 1 && head[0] != 0 && head[1] == 0:
			p.encoding = "utf-16le"
		default:
			// A sample cut mid-character is still UTF-8.
			trimmed := head
			for i := 0; i < 3 && len(trimmed) > 0 && !utf8.Valid(trimmed); i++ {
				trimmed = trimmed[:len(trimmed)-1]
			}
			if !utf8.Valid(trimmed) {
				p.encoding = "windows-1252"
			}
		}
	}
	best, bestCols, bestErrs := ',', 0, 1<<30
	for _, d := range []rune{',', ';', '\t', '|'} {
		p.delim = d
		rd, err := readers.Open(ctx, p.files[0], p.readerOptions())
		if err != nil {
			continue
		}
		cols, errs := len(rd.Columns()), 0
		for range 200 {
			_, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs++
				var pe *readers.ParseError
				if !errors.As(err, &pe) {
					break
				}
			}
		}
		rd.Close()
		if cols > 1 && (errs < bestErrs || errs == bestErrs && cols > bestCols) {
			best, bestCols, bestErrs = d, cols, errs
		}
	}
	p.delim = best
	return nil
}

// rawHead returns the first 64 KiB of a local file, gunzipped.
func rawHead(path string) ([]byte, bool, error) {
	if readers.IsS3(path) {
		return nil, false, errors.New("not local")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	gz := false
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, false, err
		}
		r, gz = zr, true
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil && len(b) == 0 {
		return nil, gz, err
	}
	return b, gz, nil
}

// initNullMarkers are the NULL markers init puts in source.null_values when
// the sample holds them: only those no export writes as a real value
// (encode's nullMarkers, for hints, also lists NA, None...).
var initNullMarkers = []string{"NULL", "null"} // an unquoted \N is null already

// readSample reads the sample rows of the first input.
func (p *initPlan) readSample(ctx context.Context) error {
	rd, err := readers.Open(ctx, p.files[0], p.readerOptions())
	if err != nil {
		return err
	}
	defer rd.Close()
	cols := rd.Columns()
	for _, c := range cols {
		p.columns = append(p.columns, &initCol{name: c})
	}
	markers := map[string]int{}
	for len(p.records) < p.opts.SampleRows {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *readers.ParseError
			if errors.As(err, &pe) {
				if p.badRows == 0 {
					p.firstBad = pe.Error()
				}
				p.badRows++
				continue
			}
			return err
		}
		p.records = append(p.records, rec)
		for i := 0; i < rec.Len() && i < len(cols); i++ {
			if rec.Values == nil && slices.Contains(initNullMarkers, rec.Text[i]) {
				markers[rec.Text[i]]++
			}
		}
	}
	if len(p.records) == 0 && p.badRows > 0 {
		return fmt.Errorf("init: none of the first %d rows could be read: %s", p.badRows, p.firstBad)
	}
	for _, m := range initNullMarkers {
		if markers[m] > 0 {
			p.nulls = append(p.nulls, m)
		}
	}
	for _, rec := range p.records {
		for i, c := range p.columns {
			if i >= rec.Len() {
				c.nulls++
				continue
			}
			v := rec.Value(i)
			if v.Kind == readers.KindNull || v.Kind == readers.KindString && (strings.TrimSpace(v.Str) == "" || slices.Contains(p.nulls, v.Str)) {
				c.nulls++
				continue
			}
			c.vals = append(c.vals, v)
		}
	}
	if p.format == readers.FormatCSV && headerLooksLikeData(cols) {
		p.notes = append(p.notes, "The first row looks like data, not column names: this tool reads the first row as the header. Add a header row to the export.")
	}
	return nil
}

// headerLooksLikeData: a header cell that is a number, an email or a date.
func headerLooksLikeData(cols []string) bool {
	for _, c := range cols {
		if _, err := strconv.ParseFloat(c, 64); err == nil || upsert.ValidEmail(c) {
			return true
		}
		if _, _, ok := encode.ParseRFC3339(c, true); ok {
			return true
		}
	}
	return false
}

// checkOtherFiles notes inputs that lack a column mapped from the first.
func (p *initPlan) checkOtherFiles(ctx context.Context) {
	var first []string
	for _, c := range p.columns {
		if len(c.places) > 0 {
			first = append(first, c.name)
		}
	}
	for _, f := range p.files[1:] {
		rd, err := readers.Open(ctx, f, p.readerOptions())
		if err != nil {
			p.notes = append(p.notes, fmt.Sprintf("%s could not be opened: %v", f, err))
			continue
		}
		for _, c := range first {
			if !slices.Contains(rd.Columns(), c) {
				p.notes = append(p.notes, fmt.Sprintf("%s has no column %q: a run refuses a mapped column missing from an input; leave it out, or import that file with its own config", f, c))
			}
		}
		rd.Close()
	}
}

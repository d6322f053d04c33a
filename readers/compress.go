package readers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compressed text is told by its first bytes, never by its name: warehouse
// unloads name files part_0_0_0.csv whatever their codec, and a .gz that is
// not gzip should fail as what it is.
type magic struct {
	name   string
	prefix []byte
	// read is false for a format this build does not read; msg then
	// says what to do.
	read bool
	msg  string
}

var magics = []magic{
	{name: "gzip", prefix: []byte{0x1f, 0x8b}, read: true},
	{name: "zstd", prefix: []byte{0x28, 0xb5, 0x2f, 0xfd}, read: true},
	{name: "xz", prefix: []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, read: true},
	{name: "zip", prefix: []byte("PK\x03\x04"), read: true},
	{name: "zip", prefix: []byte("PK\x05\x06"), read: true}, // empty
	// bzip2 is checked by bzip2Magic: "BZh" and a block size digit.
	{name: "lz4", prefix: []byte{0x04, 0x22, 0x4d, 0x18}, msg: "recompress it with gzip, zstd, bzip2 or xz"},
	{name: "snappy (framed)", prefix: []byte("\xff\x06\x00\x00sNaPpY"), msg: "recompress it with gzip, zstd, bzip2 or xz"},
	{name: "7z", prefix: []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, msg: "extract it, or recompress it with gzip, zstd, bzip2 or xz"},
	{name: "Unix compress (.Z)", prefix: []byte{0x1f, 0x9d}, msg: "recompress it with gzip, zstd, bzip2 or xz"},
	{name: "lzip", prefix: []byte("LZIP"), msg: "recompress it with gzip, zstd, bzip2 or xz"},
	{name: "RAR", prefix: []byte("Rar!\x1a\x07"), msg: "extract it, or recompress it with gzip, zstd, bzip2 or xz"},
	{name: "Parquet", prefix: []byte("PAR1"), msg: "set source.format: parquet (or auto)"},
}

// errParquetMagic is the cause of the InputError for a Parquet file read
// as text: Open with FormatAuto reads it as Parquet instead.
var errParquetMagic = errors.New("Parquet magic")

// sniffLen is how many bytes sniff needs to see (tar's "ustar" sits at
// byte 257).
const sniffLen = 262

// sniff names the compression or file format head (the first bytes of an
// input) starts with: "" for none (text), and whether it is read.
func sniff(head []byte) (m magic, ok bool) {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.prefix) {
			return m, true
		}
	}
	if len(head) >= 4 && string(head[:3]) == "BZh" && head[3] >= '1' && head[3] <= '9' {
		return magic{name: "bzip2", read: true}, true
	}
	if len(head) >= 262 && string(head[257:262]) == "ustar" {
		return magic{name: "tar", msg: "extract it and import the files in it"}, true
	}
	return magic{}, false
}

// decompress opens the text of a compressed input whose first bytes br
// holds: the stream to read and what closes it (besides rc). An input in
// a format this build does not read, or that is not text at all
// (Parquet), is an *InputError saying what it is.
func decompress(ctx context.Context, src source, br *bufio.Reader) (codec string, in io.Reader, closer io.Closer, err error) {
	head, _ := br.Peek(sniffLen)
	m, ok := sniff(head)
	if !ok {
		return "", br, nil, nil
	}
	if !m.read {
		ie := &InputError{Input: src.Name(), Msg: fmt.Sprintf("is %s, not text (its first bytes say so); %s", m.name, m.msg)}
		if m.name == "Parquet" {
			ie.Err = errParquetMagic
		}
		return "", nil, nil, ie
	}
	fail := func(err error) (string, io.Reader, io.Closer, error) {
		return "", nil, nil, fmt.Errorf("%s: %s: %w", src.Name(), m.name, err)
	}
	switch m.name {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fail(err)
		}
		return m.name, zr, zr, nil
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return fail(err)
		}
		return m.name, zr, closeFunc(func() error { zr.Close(); return nil }), nil
	case "bzip2":
		return m.name, bzip2.NewReader(br), nil, nil
	case "xz":
		zr, err := xz.NewReader(br)
		if err != nil {
			return fail(err)
		}
		return m.name, zr, nil, nil
	case "zip":
		rc, err := zipMember(ctx, src)
		if err != nil {
			return "", nil, nil, err
		}
		return m.name, rc, rc, nil
	}
	return fail(fmt.Errorf("no reader"))
}

// zipMember opens the one file in a zip archive. An archive of more files
// (or none) is an *InputError listing them: which one is meant is not
// clear.
func zipMember(ctx context.Context, src source) (io.ReadCloser, error) {
	zr, err := zip.NewReader(src.ReaderAt(ctx), src.Identity().Size)
	if err != nil {
		return nil, fmt.Errorf("%s: zip: %w", src.Name(), err)
	}
	var files []*zip.File
	var names []string
	excel := false
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || strings.HasPrefix(f.Name, "__MACOSX/") {
			continue
		}
		files = append(files, f)
		names = append(names, f.Name)
		excel = excel || f.Name == "[Content_Types].xml"
	}
	switch {
	case excel:
		return nil, &InputError{Input: src.Name(), Msg: "is an Excel workbook (.xlsx), not text; save it as \"CSV UTF-8\" and import that"}
	case len(files) != 1:
		if len(names) > 5 {
			names = append(names[:5], "...")
		}
		return nil, &InputError{Input: src.Name(), Msg: fmt.Sprintf("is a zip archive of %d files (%s); a zip input must hold exactly one: extract it and import the files", len(files), strings.Join(names, ", "))}
	}
	rc, err := files[0].Open()
	if err != nil {
		return nil, fmt.Errorf("%s: zip member %s: %w", src.Name(), files[0].Name, err)
	}
	if c, ok := src.(interface{ checkEnd(int64) error }); ok {
		// The member is read at random through ReaderAt, which never
		// reaches the file's end: check the file where the member ends.
		return &zipEndChecked{ReadCloser: rc, check: c.checkEnd}, nil
	}
	return rc, nil
}

// zipEndChecked is a zip member whose io.EOF is replaced by the source's
// verdict on the file (a *ChangedError if it was cut, grown or replaced
// while read).
type zipEndChecked struct {
	io.ReadCloser
	check func(read int64) error
}

func (z *zipEndChecked) Read(b []byte) (int, error) {
	n, err := z.ReadCloser.Read(b)
	if err == io.EOF {
		if cerr := z.check(-1); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

package readers

import (
	"fmt"
	_ "unsafe" // for go:linkname

	"github.com/parquet-go/parquet-go/compress"
	pqlz4 "github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// pqCodecs is parquet-go's table of decompressors by codec.
//
//go:linkname pqCodecs github.com/parquet-go/parquet-go.compressionCodecs
var pqCodecs [format.Lz4Raw + 1]compress.Codec

// parquet-go v0.32.0 loses LZ4_RAW pages that compress less than 3:1: its
// decoder then decompresses into a new buffer, and the caller keeps the page
// buffer it passed in, stale (polars' lz4 files read as zeros or as another
// page's bytes). pqLz4Raw decompresses into the caller's buffer instead.
// Remove when the library is fixed: TestInteropCorpus/polars_lz4 tells.
func init() { pqCodecs[format.Lz4Raw] = &pqLz4Raw{} }

type pqLz4Raw struct{ pqlz4.Codec }

func (c *pqLz4Raw) Decode(dst, src []byte) ([]byte, error) {
	n, err := lz4.UncompressBlock(src, dst[:cap(dst)])
	if err != nil {
		return nil, fmt.Errorf("LZ4_RAW: %w (corrupt page, or larger than its header says)", err)
	}
	return dst[:n], nil
}

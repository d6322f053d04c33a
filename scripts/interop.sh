#!/usr/bin/env bash
# Regenerates the interop corpus in testdata/interop: Parquet files written
# by DuckDB, polars, arrow-rs (parquet-wasm), arrow-go, xitongsys/parquet-go
# and parquet-go/parquet-go, each with NAME.jsonl, the rows that writer's own
# reader reads back (or NAME.error, the error our reader must give); and
# DuckDB's CSV exports with NAME.csv.jsonl, what its read_csv reads back;
# ids held as floats by polars and DuckDB in ids/ (gen_ids.js, for the
# mapping's type: integer; not part of the readers' corpus tests).
# readers/interop_test.go compares them with what our reader reads.
# testdata/interop/exports holds the same 200 purchase rows as PostgreSQL
# (COPY text and CSV), MariaDB (INTO OUTFILE, --batch), sqlite3 and DuckDB
# (PARTITION_BY, COMPRESSION zstd, a Spark-layout directory) export them,
# each beside what its writer reads back (readers/exports_test.go,
# cmd/insider-import/exports_test.go). Needs node and npm (the packages go
# to a temporary directory, never into the repo), Go, and as root the
# Debian packages postgresql, mariadb-server and sqlite3 (throwaway servers
# in temporary directories); CI only reads the committed files.
#   scripts/interop.sh        (or: make interop)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/testdata/interop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$(uname -m)" in
  x86_64) polars_native=nodejs-polars-linux-x64-gnu@0.26.1 ;;
  aarch64) polars_native=nodejs-polars-linux-arm64-gnu@0.26.1 ;;
  *) polars_native= ;;
esac
(cd "$work" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error \
    @duckdb/node-api@1.5.6-r.1 nodejs-polars@0.26.1 $polars_native \
    parquet-wasm@0.8.0 apache-arrow@21.2.0 >/dev/null)

rm -f "$out"/*.parquet "$out"/*.csv "$out"/*.jsonl "$out"/*.error
NODE_PATH="$work/node_modules" node testdata/interop/gen/node/gen.js "$out"
NODE_PATH="$work/node_modules" node testdata/interop/gen/node/gen_csv.js "$out"
mkdir -p "$out/ids" && rm -f "$out"/ids/*
NODE_PATH="$work/node_modules" node testdata/interop/gen/node/gen_ids.js "$out/ids"
go run ./testdata/interop/gen/gowriters "$out"
(cd testdata/interop/gen/arrowgo && go run . "$out")

exports=$out/exports
rm -rf "$exports"
mkdir -p "$exports"
testdata/interop/gen/exports/postgres.sh "$exports"
testdata/interop/gen/exports/mariadb.sh "$exports"
testdata/interop/gen/exports/sqlite.sh "$exports"
NODE_PATH="$work/node_modules" node testdata/interop/gen/node/gen_exports.js "$exports"

# arrow-rs reads its own LZ4 (Hadoop-framed) file; we refuse the codec.
rm -f "$out/arrowrs_lz4_hadoop.jsonl"
echo "unsupported Parquet codec LZ4 (Hadoop); rewrite with snappy, zstd or lz4_raw" >"$out/arrowrs_lz4_hadoop.error"
ls -l "$out"
du -sh "$out"

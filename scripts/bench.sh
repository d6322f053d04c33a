#!/usr/bin/env bash
# Whole-process figures: rows/s and peak RSS of `insider-import run` for CSV,
# CSV.gz and Parquet, local and (with versitygw) S3, at 1x and 10x size, into
# the stand-in API; next to a bare encoding/csv read of the same CSV.
# Parquet is also compared with a bare parquet-go read (GenericReader).
#   scripts/bench.sh [ROWS]      (default 100000; 10x is ROWS*10)
#   BENCH_FORMATS="parquet" scripts/bench.sh   (only some formats)
set -euo pipefail
rows=${1:-100000}
formats=${BENCH_FORMATS:-csv csv.gz parquet}
bin=bin/insider-import
go build -o "$bin" ./cmd/insider-import
work=$(mktemp -d)
go build -o "$work/gen" ./testdata/gen
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

export INSIDER_API_KEY=bench-key
"$bin" fake --addr 127.0.0.1:0 >"$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
api=$(sed -n 's#.*listening on \(http://[^ ]*\).*#\1#p' "$work/fake.out")

s3=""
gw=${IMPORTER_VERSITYGW:-$HOME/.cache/insider-import-ci/bin/versitygw}
if [ -x "$gw" ]; then
  port=$(( 20000 + RANDOM % 20000 ))
  mkdir -p "$work/s3"
  "$gw" --port "127.0.0.1:$port" --access benchaccess --secret benchsecret1234 posix "$work/s3" >/dev/null 2>&1 &
  pids+=($!)
  s3="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecret1234 AWS_REGION=us-east-1
  for _ in $(seq 50); do curl -s "$s3" >/dev/null 2>&1 && break; sleep 0.1; done
fi

config() { # $1 = path or URI
  cat <<YAML
source:
  paths: ["$1"]
  s3: {endpoint: "$s3", path_style: true, region: us-east-1}
insider: {endpoint: "$api/api/user/v1/upsert", partner: bench, array_attributes: overwrite}
delivery: {batch_users: 1000, workers: 8, requests_per_second: 10000}
YAML
  cat testdata/bench/mapping.yaml
}

measure() { # $1 label, $2 input, $3 rows
  config "$2" >"$work/c.yaml"
  rm -rf "$work/cp"
  /usr/bin/time -v "$bin" run -c "$work/c.yaml" --checkpoint "$work/cp" --progress none --log-format json \
    >"$work/out" 2>"$work/time" || { cat "$work/out" "$work/time"; exit 1; }
  local secs rss
  secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
  awk -v l="$1" -v n="$3" -v s="$secs" -v r="$rss" 'BEGIN { printf "%-22s %9d rows %7.2fs %9.0f rows/s  peak RSS %6.1f MiB\n", l, n, s, n/s, r/1024 }'
}

for scale in 1 10; do
  n=$(( rows * scale ))
  for ext in csv $formats; do
    "$work/gen" -rows "$n" -out "$work/p$scale.$ext"
  done
  "$work/gen" -read "$work/p$scale.csv" | sed "s/^/${scale}x /"
  for ext in $formats; do
    if [ "$ext" = parquet ]; then
      /usr/bin/time -v "$work/gen" -read "$work/p$scale.parquet" 2>"$work/time" | sed "s/^/${scale}x /"
      sed -n 's/.*Maximum resident set size (kbytes): \(.*\)/\1/p' "$work/time" |
        awk -v l="${scale}x" '{ printf "%s bare parquet-go read peak RSS %6.1f MiB\n", l, $1/1024 }'
    fi
    measure "${scale}x local $ext" "$work/p$scale.$ext" "$n"
    if [ -n "$s3" ]; then
      "$work/gen" -upload "$work/p$scale.$ext" -endpoint "$s3" -bucket bench -key "p$scale.$ext"
      measure "${scale}x s3 $ext" "s3://bench/p$scale.$ext" "$n"
    fi
  done
done
echo "stand-in API: $(curl -s "$api/stats")"

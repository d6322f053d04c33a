#!/usr/bin/env bash
# Many small files: wall, CPU, peak RSS and requests of `insider-import run`
# over N CSV files of 3 rows each (one directory), into the stand-in API with
# 500-user batches; issue 14's figures. A second run of the same job (all
# files finished) shows what resuming a finished job of N files costs.
#   scripts/bench-smallfiles.sh [N ...]     (default 20000 100000)
set -euo pipefail
sizes=${*:-20000 100000}
bin=bin/insider-import
go build -o "$bin" ./cmd/insider-import
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export INSIDER_API_KEY=bench-key
"$bin" fake --addr 127.0.0.1:0 >"$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
api=$(sed -n 's#.*listening on \(http://[^ ]*\).*#\1#p' "$work/fake.out")

requests() { curl -s "$api/stats" | sed -n 's/.*"requests": *\([0-9]*\).*/\1/p'; }
measure() { # $1 label, $2 config
  local before after
  before=$(requests)
  /usr/bin/time -v "$bin" run -c "$2" --checkpoint "$work/cp" --progress none --log-format json \
    >"$work/out" 2>"$work/time" || { tail -5 "$work/out" "$work/time"; exit 1; }
  after=$(requests)
  awk -v l="$1" -v q=$((after - before)) '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = (n == 3) ? t[1]*3600+t[2]*60+t[3] : t[1]*60+t[2] }
    /User time/ { u = $NF } /System time/ { y = $NF }
    /Maximum resident set size/ { r = $NF }
    END { printf "%-24s wall %6.2fs  cpu %6.2fs  peak RSS %6.1f MiB  requests %d\n", l, s, u+y, r/1024, q }' "$work/time"
}

for n in $sizes; do
  dir="$work/files$n"
  mkdir -p "$dir"
  awk -v n="$n" -v dir="$dir" 'BEGIN {
    for (i = 0; i < n; i++) {
      f = sprintf("%s/part-%06d.csv", dir, i)
      print "email,tier" > f
      for (j = 0; j < 3; j++) printf "u%d-%d@example.com,gold\n", i, j > f
      close(f)
    } }'
  cat >"$work/c$n.yaml" <<YAML
source: {paths: ["$dir/"]}
insider: {endpoint: "$api/api/user/v1/upsert", partner: bench}
delivery: {batch_users: 500, workers: 8, requests_per_second: 10000}
mapping:
  identifiers: {email: email}
  attributes: {custom: {tier: tier}}
YAML
  rm -rf "$work/cp"
  measure "$n files" "$work/c$n.yaml"
  measure "$n files, again" "$work/c$n.yaml"
  rm -rf "$dir"
done

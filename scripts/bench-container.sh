#!/usr/bin/env bash
# Container figures: image size, and rows/s of an import in the container
# (make image; read-only root, user 65532, host network, the data and a work
# volume mounted) next to the same static binary run bare, on the same file
# into the same stand-in API. Runs alternate, ROUNDS times each.
#   scripts/bench-container.sh [ROWS]     (default 200000; needs podman)
set -euo pipefail
rows=${1:-200000}
rounds=${ROUNDS:-3}
make -s image CONTAINER_TOOL=podman >/dev/null
image=$(make -s --no-print-directory image-name):latest
bin=bin/image/insider-import # the binary the image holds
work=$(mktemp -d)
go build -o "$work/gen" ./testdata/gen
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

echo "image $image: $(podman image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.1f MB (%d bytes)", $1/1e6, $1 }')"
"$bin" fake --addr 127.0.0.1:0 >"$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
api=$(sed -n 's#.*listening on \(http://[^ ]*\).*#\1#p' "$work/fake.out")

mkdir -p "$work/data" "$work/vol"
chmod 755 "$work" "$work/data"
chmod 777 "$work/vol"
"$work/gen" -rows "$rows" -out "$work/data/p.csv"
chmod 644 "$work/data/p.csv"
printf 'bench-key\n' >"$work/key"
chmod 644 "$work/key"
config() { # $1 = data dir, $2 = key file
  cat <<YAML
source: {paths: ["$1/p.csv"]}
insider: {endpoint: "$api/api/user/v1/upsert", partner: bench, api_key_file: "$2", array_attributes: overwrite}
delivery: {batch_users: 1000, workers: 8, requests_per_second: 10000}
YAML
  cat testdata/bench/mapping.yaml
}
config "$work/data" "$work/key" >"$work/bare.yaml"
config /data /var/run/secrets/insider/key >"$work/container.yaml"
chmod 644 "$work/bare.yaml" "$work/container.yaml"

rate() { # report.json → rows/s
  awk -F'[:,]' '/"rows_read"/ { n = $2 } /"duration_seconds"/ { s = $2 }
    END { printf "%d rows in %.2fs: %.0f rows/s", n, s, n/s }' "$1"
}
for r in $(seq "$rounds"); do
  rm -rf "$work/vol/"* "$work/bare-cp"
  "$bin" run -c "$work/bare.yaml" --checkpoint "$work/bare-cp" --report "$work/bare-report.json" \
    --progress none --log-format json >/dev/null 2>&1
  echo "round $r bare      $(rate "$work/bare-report.json")"
  podman run --rm --read-only --user 65532:65532 --network host --http-proxy=false \
    -v "$work/container.yaml:/etc/insider-import/import.yaml:ro" \
    -v "$work/key:/var/run/secrets/insider/key:ro" -v "$work/data:/data:ro" -v "$work/vol:/work" \
    "$image" run -c /etc/insider-import/import.yaml --checkpoint /work/cp --report /work/report.json \
    --progress none --log-format json >/dev/null 2>&1
  echo "round $r container $(rate "$work/vol/report.json")"
done

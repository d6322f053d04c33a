#!/usr/bin/env bash
# make demo: start the built-in stand-in API on a free loopback port, import
# the sample data into it, and show the report and what the API received.
set -euo pipefail
bin=${1:-bin/insider-import}
work=$(mktemp -d)
trap 'kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

export INSIDER_API_KEY=demo-key-not-secret
"$bin" fake --addr 127.0.0.1:0 --partner acmeshop >"$work/fake.out" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do
  grep -q listening "$work/fake.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's#.*listening on \(http://[^ ]*\).*#\1#p' "$work/fake.out")
[ -n "$url" ] || { echo "the fake API did not start:"; cat "$work/fake.log"; exit 1; }
port=${url##*:}
sed -e "s/PORT/$port/" -e "s#testdata/demo/purchases.csv#$PWD/testdata/demo/purchases.csv#" testdata/demo/import.yaml >"$work/import.yaml"

echo "== stand-in Insider API at $url"
echo "== insider-import init: the mapping it writes from the CSV alone (the demo goes on with testdata/demo/import.yaml)"
"$bin" init --out "$work/init.yaml" testdata/demo/purchases.csv >/dev/null
sed -n '/^mapping:/,$p' "$work/init.yaml"
echo
echo "== insider-import validate (nothing sent; first request body shown)"
"$bin" validate -c "$work/import.yaml" --sample 1 --progress none --log-format text >"$work/validate.out" 2>&1 || true
head -c 1200 "$work/validate.out"; echo " …"; grep -A20 '^insider-import dry run' "$work/validate.out" || true
echo
echo "== insider-import run"
set +e
"$bin" run -c "$work/import.yaml" --report "$work/report.json" --progress none --log-format text
code=$?
set -e
echo "(exit code $code: 3 means finished, with some rows rejected as the sample intends)"
echo
echo "== rejected rows ($work/.insider-import/insider-import-rejects.jsonl), reasons:"
sed -n 's/.*"reason":"\([^"]*\)".*/  \1/p' "$work/.insider-import/insider-import-rejects.jsonl"
echo
echo "== what the stand-in API received"
curl -fsS "$url/stats" 2>/dev/null || "$bin" fake --help >/dev/null 2>&1
echo
echo "== run it again: the checkpoint says the file is done, nothing is re-sent"
"$bin" run -c "$work/import.yaml" --progress none --log-format text | tail -n 2 || true
echo
echo "== insider-import verify: read 5 imported users back from the stand-in's profile API and compare"
"$bin" verify -c "$work/import.yaml" --n 5 --log-format text

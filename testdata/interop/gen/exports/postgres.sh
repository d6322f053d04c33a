#!/usr/bin/env bash
# PostgreSQL 15's COPY exports of the purchase rows (rows.sql): text format
# without and with HEADER, and CSV with HEADER; beside each, NAME.jsonl (NAME with its extension), the
# rows PostgreSQL reads back from that file with COPY FROM in the same
# format (row_to_json). Runs a throwaway server as the postgres user on a
# unix socket in a temporary directory.
#   postgres.sh OUTDIR
set -euo pipefail
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d)
chown postgres "$work"
cleanup() { su postgres -c "$bin/pg_ctl -D $work/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
su postgres -c "$bin/initdb -D $work/data -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
su postgres -c "$bin/pg_ctl -D $work/data -o \"-k $work -c listen_addresses=''\" -w start" >/dev/null
psql() { su postgres -c "psql -h $work -X -q -v ON_ERROR_STOP=1 -d postgres $*"; }
cp "$here/rows.sql" "$work/rows.sql"
psql "-f $work/rows.sql"
declare -A formats=(
  [pg_text]="(FORMAT text)"
  [pg_text_header]="(FORMAT text, HEADER)"
  [pg_csv]="(FORMAT csv, HEADER)"
)
for name in "${!formats[@]}"; do
  f=${formats[$name]}
  psql "-c \"COPY (SELECT * FROM purchases ORDER BY order_id) TO '$work/$name' $f\""
  psql "-c \"CREATE TABLE back (LIKE purchases); COPY back FROM '$work/$name' $f\""
  psql "-A -t -c \"SELECT row_to_json(b) FROM back b ORDER BY order_id\"" >"$work/$name.jsonl"
  psql "-c 'DROP TABLE back'"
  ext=txt; [ "$name" = pg_csv ] && ext=csv
  cp "$work/$name" "$out/$name.$ext"
  cp "$work/$name.jsonl" "$out/$name.$ext.jsonl"
done

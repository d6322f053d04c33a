#!/usr/bin/env bash
# MariaDB's exports of the purchase rows (rows.mariadb.sql): SELECT ... INTO
# OUTFILE in its default form (tab, \N, backslash escapes, no header row)
# and with FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"', each beside
# NAME.jsonl, the rows MariaDB reads back from that file with LOAD DATA in
# the same form; and the mariadb client's --batch output (a header row,
# tabs, escapes, NULL written NULL), beside the table's own rows, as
# --batch has no reader. Runs a throwaway mariadbd in a temporary datadir on
# a unix socket.
#   mariadb.sh OUTDIR
set -euo pipefail
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
mkdir -p "$work/files"
chown -R mysql "$work"
mariadb-install-db --user=mysql --datadir="$work/data" --auth-root-authentication-method=normal >/dev/null 2>&1
mariadbd --user=mysql --datadir="$work/data" --socket="$work/sock" --skip-networking \
  --secure-file-priv="$work/files" --pid-file="$work/pid" --log-error="$work/err.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$work/sock" ] && break; sleep 0.2; done
db() { mariadb --socket="$work/sock" -uroot --default-character-set=utf8mb4 "$@"; }
db -e "CREATE DATABASE x CHARACTER SET utf8mb4"
db x <"$here/rows.mariadb.sql"
cols="order_id, customer_id, email, tier, opted_in, amount, ordered_at, note, country"
json="JSON_OBJECT('order_id', order_id, 'customer_id', customer_id, 'email', email, 'tier', tier, 'opted_in', opted_in, 'amount', amount, 'ordered_at', ordered_at, 'note', note, 'country', country)"
declare -A forms=(
  [mariadb_outfile]=""
  [mariadb_outfile_enclosed]="FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"'"
)
for name in "${!forms[@]}"; do
  f=${forms[$name]}
  db x -e "SELECT $cols FROM purchases ORDER BY order_id INTO OUTFILE '$work/files/$name' $f"
  db x -e "CREATE TABLE back LIKE purchases; LOAD DATA INFILE '$work/files/$name' INTO TABLE back CHARACTER SET utf8mb4 $f"
  ext=txt; [ "$name" = mariadb_outfile_enclosed ] && ext=csv
  db x --batch --raw -N -e "SELECT $json FROM back ORDER BY order_id" >"$out/$name.$ext.jsonl"
  db x -e "DROP TABLE back"
  cp "$work/files/$name" "$out/$name.$ext"
done
# The default form with Windows line ends, the note last and ending in a
# backslash, which MariaDB writes escaped just before each "\r\n": a
# reader that takes that backslash for an escape of the '\r' runs lines
# together or keeps a stray '\r'. The note's line break becomes a space:
# with "\r\n" lines MariaDB writes a '\n' in a value bare, unescaped,
# which the reader takes for a line end (it has no "\r\n only" mode).
crlf="order_id, customer_id, email, tier, opted_in, amount, ordered_at, country, note"
db x -e "SELECT order_id, customer_id, email, tier, opted_in, amount, ordered_at, country, REPLACE(CONCAT(note, '\\\\'), CHAR(10), ' ') FROM purchases ORDER BY order_id INTO OUTFILE '$work/files/crlf' LINES TERMINATED BY '\r\n'"
db x -e "CREATE TABLE back LIKE purchases; LOAD DATA INFILE '$work/files/crlf' INTO TABLE back CHARACTER SET utf8mb4 LINES TERMINATED BY '\r\n' ($crlf)"
db x --batch --raw -N -e "SELECT $json FROM back ORDER BY order_id" >"$out/mariadb_outfile_crlf.txt.jsonl"
db x -e "DROP TABLE back"
cp "$work/files/crlf" "$out/mariadb_outfile_crlf.txt"
db x --batch -e "SELECT $cols FROM purchases ORDER BY order_id" >"$out/mariadb_batch.tsv"
db x --batch --raw -N -e "SELECT $json FROM purchases ORDER BY order_id" >"$out/mariadb_batch.tsv.jsonl"

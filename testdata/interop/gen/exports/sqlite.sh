#!/usr/bin/env bash
# sqlite3's CSV export of the purchase rows (.mode csv, .headers on), beside
# sqlite_csv.csv.jsonl, the rows sqlite3 reads back from it with .import --csv.
#   sqlite.sh OUTDIR
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
sqlite3 "$work/x.db" <<'SQL'
CREATE TABLE purchases AS
WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < 199)
SELECT i AS order_id,
  1000000 + i % 100 AS customer_id,
  'user' || (i % 100) || '@example.com' AS email,
  CASE WHEN i % 7 = 0 THEN NULL WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END AS tier,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS opted_in,
  printf('%.2f', round(i * 1.37 + 0.5, 2)) AS amount,
  strftime('%Y-%m-%d %H:%M:%S', '2025-01-02 03:04:05', '+' || (i * 3667) || ' seconds') AS ordered_at,
  CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'say "hi", ok'
    WHEN 3 THEN 'two' || char(10) || 'lines' WHEN 4 THEN 'tab' || char(9) || 'inside'
    WHEN 5 THEN 'back\slash \N text' WHEN 6 THEN '\N' WHEN 7 THEN 'İstanbul ŞŞ 東京 ✓'
    WHEN 8 THEN 'semi;colon|pipe' ELSE 'plain ' || i END AS note,
  CASE i % 3 WHEN 0 THEN 'TR' WHEN 1 THEN 'US' ELSE 'DE' END AS country
FROM r;
.headers on
.mode csv
.output sqlite_csv.csv
SELECT * FROM purchases ORDER BY order_id;
.output stdout
.import --csv sqlite_csv.csv back
.mode list
.headers off
.output sqlite_csv.csv.jsonl
SELECT json_object('order_id', order_id, 'customer_id', customer_id, 'email', email, 'tier', tier, 'opted_in', opted_in,
  'amount', amount, 'ordered_at', ordered_at, 'note', note, 'country', country) FROM back ORDER BY CAST(order_id AS INTEGER);
SQL
cp sqlite_csv.csv sqlite_csv.csv.jsonl "$out/"

#!/usr/bin/env bash
# Regenerates testdata/init: customer and purchase exports written by other
# tools, for `insider-import init` (cmd/insider-import/init_test.go):
#   postgres_copy.csv   PostgreSQL 15 COPY ... (FORMAT csv, HEADER): t/f,
#                       {a,b} arrays, timestamptz as "2026-06-01 12:00:00+00"
#   postgres_copy.txt   COPY ... (FORMAT text, HEADER): tabs, \N for NULL
#   sqlite3.csv         sqlite3 .mode csv: zone-less timestamps, 0/1 flags
#   python_excel.csv    Python's csv module, excel dialect, ";", decimal
#                       commas and dd.mm.yyyy as a European Excel writes, UTF-8 BOM
# Needs initdb/pg_ctl/psql (run as an unprivileged user when root), sqlite3
# and python3. CI only reads the committed files.
#   scripts/init-corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/testdata/init
work=$(mktemp -d)
chmod 755 "$work"
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u nobody --); chown nobody "$work"; fi
pg_stop() { "${as[@]}" pg_ctl -D "$work/pg" stop -m fast >/dev/null 2>&1 || true; rm -rf "$work"; }
trap pg_stop EXIT
"${as[@]}" initdb -D "$work/pg" -A trust -U postgres >/dev/null
"${as[@]}" pg_ctl -D "$work/pg" -l "$work/pg.log" -o "-p 55439 -k $work -c listen_addresses=''" -w start >/dev/null
q="select 'C' || lpad((i % 150)::text, 5, '0') as customer_id,
  case when i % 25 = 0 then null else 'user' || (i % 150) || '@example.com' end as email,
  case when i % 3 = 0 then '+4477009' || lpad((i % 150)::text, 5, '0') end as phone,
  (array['Ana','Ben','Çağla','Dmitri'])[i % 4 + 1] as first_name,
  'Surname' || (i % 150) as last_name,
  date '1970-01-01' + (i % 150) * 97 as birth_date,
  (array['GB','DE','TR','BR'])[i % 4 + 1] as country,
  i % 2 = 0 as newsletter,
  (array['gold','silver','bronze'])[i % 3 + 1] as loyalty_tier,
  round((i * 13.37)::numeric, 2) as lifetime_value,
  array['tag' || (i % 3), 'x'] as tags,
  'ORD-' || (1000 + i / 2) as order_id,
  'SKU-' || (i % 17) as sku,
  'Product ' || (i % 17) || ', large' as product_name,
  'Shoes>Running' as category,
  (array['GBP','EUR','TRY'])[i / 2 % 3 + 1] as currency,
  round((10 + i % 50)::numeric, 2) as unit_price,
  round((10 + i % 50)::numeric * 0.9, 2) as sale_price,
  1 + i % 3 as quantity,
  timestamptz '2026-06-01 12:00:00+00' + (i / 2 || ' hours')::interval as purchased_at
from generate_series(1, 100) i order by i"
psql -q -h "$work" -p 55439 -U postgres -c "\\copy ($q) to '$out/postgres_copy.csv' with (format csv, header)"
psql -q -h "$work" -p 55439 -U postgres -c "\\copy ($q) to '$out/postgres_copy.txt' with (format text, header)"

sqlite3 "$work/s.db" >/dev/null <<'SQL'
create table t as with recursive s(i) as (select 1 union all select i + 1 from s where i < 100)
select 'U-' || (i % 120) as user_id, 'u' || (i % 120) || '@mail.example' as customer_email,
  'Name' || (i % 120) as name, (i % 2) as sms_optin, case i % 5 when 0 then null else 'DE' end as country,
  'T' || (i / 3) as transaction_id, 'EUR' as currency, printf('%.2f', 5 + (i % 40) * 1.25) as amount,
  1 + i % 4 as qty, 'P' || (i % 9) as product_id,
  strftime('%Y-%m-%d %H:%M:%S', '2026-05-01 08:00:00', '+' || i || ' hours') as order_date
from s;
SQL
sqlite3 -header -csv "$work/s.db" "select * from t" >"$out/sqlite3.csv"

python3 - "$out/python_excel.csv" <<'PY'
import csv, sys, datetime
with open(sys.argv[1], "w", newline="", encoding="utf-8-sig") as f:
    w = csv.writer(f, dialect="excel", delimiter=";")
    w.writerow(["Customer No", "Email Address", "First Name", "City", "Revenue", "Order Number", "Currency", "Price", "Quantity", "Order Date"])
    for i in range(1, 81):
        d = datetime.datetime(2026, 4, 1, 9, 30) + datetime.timedelta(hours=7 * i)
        w.writerow([f"K{i % 90:04d}", f"kunde{i % 90}@beispiel.de", ["Jürgen", "Anna", "Zoë"][i % 3], "München",
                    f"{i * 3.5:.2f}".replace(".", ","), f"B-{i // 2}", "EUR", f"{9.99 + i % 7:.2f}".replace(".", ","),
                    1 + i % 2, d.strftime("%d.%m.%Y %H:%M")])
PY
ls -l "$out"

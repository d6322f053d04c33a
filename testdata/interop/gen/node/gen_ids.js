// Writes id columns as polars and DuckDB write them when the ids are held
// as floats (as they are once a null passed through pandas, or a column
// was read as DOUBLE): CSV cells 1000001.0 and, for large ones, 1e+16; and
// the same ids as integers in Parquet (polars, nullable Int64). Each file
// is beside the rows its writer's own reader reads back (NAME.jsonl or
// NAME.csv.jsonl). Run by scripts/interop.sh:
//
//	node gen_ids.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');

const out = process.argv[2];
if (!out) throw new Error('usage: node gen_ids.js OUTDIR');

function jsonl(file, rows) {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

async function main() {
  const pl = require('nodejs-polars');
  const n = 300;
  const ids = [], bigs = [];
  for (let i = 0; i < n; i++) {
    ids.push(i % 50 === 7 ? null : 1000000 + i);
    bigs.push(i % 60 === 11 ? null : (i + 1) * 1e15);
  }
  const asFloat = pl.DataFrame({ id: pl.Series('id', ids, pl.Float64), big: pl.Series('big', bigs, pl.Float64) });
  const csv = path.join(out, 'polars_float_ids.csv');
  asFloat.writeCSV(csv);
  jsonl(csv + '.jsonl', pl.readCSV(csv).toRecords());

  const asInt = pl.DataFrame({ id: pl.Series('id', ids, pl.Int64), big: pl.Series('big', bigs, pl.Int64) });
  const pq = path.join(out, 'polars_int_ids.parquet');
  asInt.writeParquet(pq);
  jsonl(path.join(out, 'polars_int_ids.jsonl'), pl.readParquet(pq).toRecords().map((r) => ({ id: r.id, big: r.big === null ? null : String(r.big) })));

  const { DuckDBInstance } = require('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const dcsv = path.join(out, 'duckdb_double_ids.csv');
  await con.run(`COPY (SELECT CASE WHEN i % 50 = 7 THEN NULL ELSE (1000000 + i)::DOUBLE END AS id,
      CASE WHEN i % 60 = 11 THEN NULL ELSE ((i + 1) * 1e15)::DOUBLE END AS big FROM range(${n}) t(i)) TO '${dcsv}' (FORMAT csv, HEADER)`);
  const reader = await con.runAndReadAll(`SELECT id::HUGEINT::VARCHAR AS id, big::HUGEINT::VARCHAR AS big FROM read_csv('${dcsv}', header = true, columns = {'id': 'DOUBLE', 'big': 'DOUBLE'})`);
  jsonl(dcsv + '.jsonl', reader.getRowObjectsJson());
}

main().catch((e) => { console.error(e); process.exit(1); });

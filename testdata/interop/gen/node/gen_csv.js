// Writes CSV exports by DuckDB (COPY TO ... FORMAT csv) with awkward text:
// delimiters, quotes, line breaks (\n and \r\n) and leading or trailing
// spaces inside fields, empty strings next to NULLs, non-ASCII text; each
// beside the rows DuckDB's own read_csv reads back (all columns as text),
// as JSON lines (NAME.csv, NAME.csv.jsonl). Run by scripts/interop.sh:
//
//	node gen_csv.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');

const out = process.argv[2];
if (!out) throw new Error('usage: node gen_csv.js OUTDIR');

const rows = `SELECT i AS id,
    CASE i % 9
      WHEN 0 THEN NULL
      WHEN 1 THEN ''
      WHEN 2 THEN 'say "hi", ok'
      WHEN 3 THEN 'two' || chr(10) || 'lines'
      WHEN 4 THEN 'crlf' || chr(13) || chr(10) || 'inside'
      WHEN 5 THEN '  padded  '
      WHEN 6 THEN 'semi;colon' || chr(9) || 'tab'
      WHEN 7 THEN 'İstanbul ŞŞ 東京 ✓'
      ELSE 'plain' || i END AS note,
    'user' || i || '@example.com' AS email,
    (i * 1.25)::DOUBLE AS ltv,
    TIMESTAMPTZ '2025-01-02 03:04:05+00' + i * INTERVAL 61 MINUTE AS at
  FROM range(400) t(i)`;

const files = {
  duckdb_csv_default: ["(FORMAT csv, HEADER)", ','],
  duckdb_csv_semicolon_quoted: ["(FORMAT csv, HEADER, DELIMITER ';', FORCE_QUOTE *)", ';'],
  duckdb_csv_tab: ["(FORMAT csv, HEADER, DELIMITER '\t')", '\t'],
};

async function main() {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run("SET TimeZone='UTC'");
  for (const [name, [opts, delim]] of Object.entries(files)) {
    const file = path.join(out, name + '.csv');
    await con.run(`COPY (${rows}) TO '${file}' ${opts}`);
    const q = `SELECT * FROM read_csv('${file}', header = true, all_varchar = true, delim = '${delim}', quote = '"', escape = '"')`;
    const reader = await con.runAndReadAll(q);
    const lines = reader.getRowObjectsJson().map((r) => JSON.stringify(r));
    fs.writeFileSync(file + '.jsonl', lines.join('\n') + '\n');
  }
}

main().catch((e) => { console.error(e); process.exit(1); });

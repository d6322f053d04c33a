// Writes DuckDB's exports of the purchase rows (the rows of
// ../exports/rows.sql): Hive-partitioned directories of CSV files (COPY ...
// PARTITION_BY (country), and by note, whose values need escaping in a
// path) and of Parquet files (PARTITION_BY (country)), a zstd-compressed CSV
// (COMPRESSION zstd) and a directory laid out as Spark leaves its output:
// part files (written here by DuckDB) beside _SUCCESS, _committed_ and
// _started_ markers and Hadoop .crc checksums. Beside each, NAME.jsonl: the
// rows DuckDB reads back from it (read_csv or read_parquet with
// hive_partitioning, in order_id order, every column as text). Run by
// scripts/interop.sh:
//
//	node gen_exports.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');

const out = process.argv[2];
if (!out) throw new Error('usage: node gen_exports.js OUTDIR');

const rows = `SELECT i AS order_id,
    1000000 + i % 100 AS customer_id,
    'user' || (i % 100) || '@example.com' AS email,
    CASE WHEN i % 7 = 0 THEN NULL WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END AS tier,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS opted_in,
    round(i * 1.37 + 0.5, 2)::DECIMAL(10, 2) AS amount,
    TIMESTAMPTZ '2025-01-02 03:04:05+00' + i * INTERVAL 3667 SECOND AS ordered_at,
    CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'say "hi", ok'
      WHEN 3 THEN 'two' || chr(10) || 'lines' WHEN 4 THEN 'tab' || chr(9) || 'inside'
      WHEN 5 THEN 'back\\slash \\N text' WHEN 6 THEN '\\N' WHEN 7 THEN 'İstanbul ŞŞ 東京 ✓'
      WHEN 8 THEN 'semi;colon|pipe' ELSE 'plain ' || i END AS note,
    ['TR', 'US', 'DE'][i % 3 + 1] AS country
  FROM range(200) t(i)`;

// crc32 is zlib's CRC-32, which Hadoop's .crc files hold per 512 bytes.
const table = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(b) {
  let c = -1;
  for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// hadoopCRC is the .NAME.crc file Hadoop's ChecksumFileSystem writes
// beside NAME: "crc\0", the bytes per checksum, a CRC-32 per chunk.
function hadoopCRC(data) {
  const per = 512;
  const n = Math.ceil(data.length / per);
  const b = Buffer.alloc(8 + 4 * n);
  b.write('crc\0', 0, 'latin1');
  b.writeInt32BE(per, 4);
  for (let i = 0; i < n; i++) b.writeUInt32BE(crc32(data.subarray(i * per, (i + 1) * per)), 8 + 4 * i);
  return b;
}

async function readBack(con, from) {
  const q = `SELECT * EXCLUDE (order_id), order_id FROM ${from} ORDER BY order_id`;
  const reader = await con.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM (${q})`);
  return reader.getRowObjectsJson().map((r) => JSON.stringify(r)).join('\n') + '\n';
}

async function main() {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run("SET TimeZone='UTC'");
  await con.run(`CREATE TABLE purchases AS ${rows}`);

  const csvDir = path.join(out, 'duckdb_partitioned_csv');
  const pqDir = path.join(out, 'duckdb_partitioned_parquet');
  fs.rmSync(csvDir, { recursive: true, force: true });
  fs.rmSync(pqDir, { recursive: true, force: true });
  await con.run(`COPY purchases TO '${csvDir}' (FORMAT csv, HEADER, PARTITION_BY (country))`);
  fs.writeFileSync(csvDir + '.jsonl', await readBack(con,
    `read_csv('${csvDir}/*/*.csv', header = true, all_varchar = true, hive_partitioning = true)`));
  await con.run(`COPY purchases TO '${pqDir}' (FORMAT parquet, PARTITION_BY (country))`);
  fs.writeFileSync(pqDir + '.jsonl', await readBack(con,
    `read_parquet('${pqDir}/*/*.parquet', hive_partitioning = true)`));

  // Partitioned by the column with every awkward text in it: DuckDB
  // percent-encodes the values in the paths, NULL is
  // __HIVE_DEFAULT_PARTITION__ and '' an empty value.
  const noteDir = path.join(out, 'duckdb_partitioned_note');
  fs.rmSync(noteDir, { recursive: true, force: true });
  await con.run(`COPY purchases TO '${noteDir}' (FORMAT csv, HEADER, PARTITION_BY (note))`);
  fs.writeFileSync(noteDir + '.jsonl', await readBack(con,
    `read_csv('${noteDir}/*/*.csv', header = true, all_varchar = true, hive_partitioning = true)`));

  const zst = path.join(out, 'duckdb_zstd.csv.zst');
  await con.run(`COPY purchases TO '${zst}' (FORMAT csv, HEADER, COMPRESSION zstd)`);
  fs.writeFileSync(zst + '.jsonl', await readBack(con,
    `read_csv('${zst}', header = true, all_varchar = true, compression = 'zstd')`));

  // Spark's layout: two part files and the markers beside them.
  const spark = path.join(out, 'spark_layout');
  fs.rmSync(spark, { recursive: true, force: true });
  fs.mkdirSync(spark);
  const job = '5125381337418293453';
  const parts = [];
  for (const [k, where] of [[0, 'order_id < 100'], [1, 'order_id >= 100']]) {
    const name = `part-0000${k}-tid-${job}-6a1c2f7e-0a4b-4c1e-9d0f-3f1e2d5c7b9a-${k}-1-c000.snappy.parquet`;
    await con.run(`COPY (SELECT * FROM purchases WHERE ${where} ORDER BY order_id) TO '${path.join(spark, name)}' (FORMAT parquet, COMPRESSION snappy)`);
    parts.push(name);
    fs.writeFileSync(path.join(spark, '.' + name + '.crc'), hadoopCRC(fs.readFileSync(path.join(spark, name))));
  }
  fs.writeFileSync(path.join(spark, '_SUCCESS'), '');
  fs.writeFileSync(path.join(spark, '._SUCCESS.crc'), hadoopCRC(Buffer.alloc(0)));
  fs.writeFileSync(path.join(spark, `_started_${job}`), '');
  fs.writeFileSync(path.join(spark, `_committed_${job}`), JSON.stringify({ added: parts, removed: [] }));
  fs.mkdirSync(path.join(spark, '_temporary', '0'), { recursive: true });
  fs.writeFileSync(path.join(spark, '_temporary', '0', 'part-00009-stale.csv'), 'not,data\n"bare " quote\n');
  fs.writeFileSync(spark + '.jsonl', await readBack(con, `read_parquet('${spark}/part-*.parquet')`));
}

main().catch((e) => { console.error(e); process.exit(1); });

// Writes the interop corpus files of DuckDB, polars and arrow-rs (through
// parquet-wasm), each with the rows that writer's own reader reads back,
// as JSON lines beside it (NAME.parquet, NAME.jsonl). Run by
// scripts/interop.sh with the npm packages installed outside the repo:
//
//	node gen.js OUTDIR
'use strict';
const fs = require('fs');
const path = require('path');

const out = process.argv[2];
if (!out) throw new Error('usage: node gen.js OUTDIR');
const ROWS = 300;

function writeLines(name, rows) {
  fs.writeFileSync(path.join(out, name + '.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

// --- DuckDB: COPY TO PARQUET, read back with read_parquet into JSON lines ---

async function duckdb() {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run("SET TimeZone='UTC'");
  await con.run("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
  const base = `SELECT i::BIGINT AS id,
      ['gold', 'silver', 'bronze'][i % 3 + 1] AS tier,
      CASE WHEN i % 4 = 0 THEN NULL ELSE 'user' || i || '@example.com' END AS email,
      CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS opt_in,
      (i * 1.25)::DOUBLE AS ltv,
      (i % 100 - 50)::INTEGER AS delta,
      (i * 1000003)::BIGINT * 1000003 AS big,
      DATE '2024-01-01' + i::INTEGER AS day,
      TIMESTAMP '2025-01-02 03:04:05.678' + i * INTERVAL 61 MINUTE AS ts,
      CASE WHEN i % 7 = 0 THEN NULL ELSE ['x', 'y', 'z'][1:i % 4] END AS tags,
      {'city': 'İstanbul-' || (i % 5), 'zip': CASE WHEN i % 2 = 0 THEN NULL ELSE 10000 + i END} AS address,
      (i * 12345 - 99999)::DECIMAL(12, 2) / 100 AS price
    FROM range(${ROWS}) t(i)`;
  const files = {
    duckdb_default: [base, ''],
    duckdb_v2: [base, ', PARQUET_VERSION V2'],
    // DuckDB cuts row groups at multiples of 2048 rows: 3 groups.
    duckdb_zstd: [`SELECT i::BIGINT AS id, ['gold', 'silver', 'bronze'][i % 3 + 1] AS tier,
        CASE WHEN i % 4 = 0 THEN NULL ELSE 'u' || i END AS email
      FROM range(4200) t(i)`, ', COMPRESSION zstd, ROW_GROUP_SIZE 2048'],
    duckdb_timestamptz: [`SELECT i AS id,
        TIMESTAMPTZ '2025-03-30 00:59:59.123456+00' + i * INTERVAL 7 MINUTE AS at,
        CASE WHEN i % 3 = 0 THEN NULL ELSE TIMESTAMPTZ '1969-12-31 23:59:59+00' - i * INTERVAL 1 DAY END AS before_epoch
      FROM range(${ROWS}) t(i)`, ''],
    duckdb_timestamp_ns: [`SELECT i AS id,
        make_timestamp_ns(1735787045123456789 + i * 1000000001) AS ns,
        (TIMESTAMP '2025-01-02 03:04:05.123' + i * INTERVAL 1 MINUTE)::TIMESTAMP_MS AS ms,
        (TIMESTAMP '2025-01-02 03:04:05' + i * INTERVAL 1 HOUR)::TIMESTAMP_S AS s
      FROM range(${ROWS}) t(i)`, ''],
    duckdb_decimal38: [`SELECT i AS id,
        (i * 123456789.0123456789 - 1e9)::DECIMAL(38, 10) AS d38,
        ('-' || repeat('9', 37) || (i % 10))::DECIMAL(38, 0) AS d38_big,
        (i * 1.001 - 7)::DECIMAL(18, 3) AS d18,
        (i * 0.37 - 50)::DECIMAL(9, 2) AS d9,
        CASE WHEN i % 3 = 0 THEN NULL ELSE (i % 100 - 50)::DECIMAL(4, 1) / 10 END AS d4
      FROM range(${ROWS}) t(i)`, ''],
    duckdb_enum: [`SELECT i AS id, (['sad', 'ok', 'happy'][i % 3 + 1])::mood AS m,
        CASE WHEN i % 4 = 0 THEN NULL ELSE (['happy', 'sad', 'ok'][i % 3 + 1])::mood END AS m_opt
      FROM range(${ROWS}) t(i)`, ''],
    duckdb_uuid: [`SELECT i AS id, md5(i::VARCHAR)::UUID AS u,
        CASE WHEN i % 5 = 0 THEN NULL ELSE md5('x' || i)::UUID END AS u_opt
      FROM range(${ROWS}) t(i)`, ''],
    duckdb_nulls: [`SELECT i AS id, NULL::VARCHAR AS never, NULL::BIGINT AS never_int,
        CASE WHEN i = 7 THEN 'only' END AS once, CASE WHEN i % 50 = 0 THEN i END AS rare,
        CASE WHEN i % 2 = 0 THEN NULL ELSE [NULL, 'a', NULL] END AS list_nulls,
        CASE WHEN i % 3 = 0 THEN NULL ELSE {'a': CASE WHEN i % 2 = 0 THEN NULL ELSE i END} END AS struct_opt
      FROM range(${ROWS}) t(i)`, ''],
    duckdb_types: [`SELECT i AS id,
        TIME '12:34:56.789' + i * INTERVAL 1 SECOND AS t,
        ('{"n": ' || i || ', "s": "v' || i || '"}')::JSON AS j,
        MAP {'k' || i: i, 'z': -i} AS mp,
        (i * 4000000)::UBIGINT * 4000000000 AS ub,
        (i % 256)::UTINYINT AS ut,
        (i * 0.5)::FLOAT AS f32,
        [{'a': i, 'b': 'x' || i}, {'a': -i, 'b': NULL}] AS structs,
        [[i, i + 1], [], NULL] AS nested
      FROM range(${ROWS}) t(i)`, ''],
  };
  for (const [name, [query, opts]] of Object.entries(files)) {
    const file = path.join(out, name + '.parquet');
    await con.run(`COPY (${query}) TO '${file}' (FORMAT PARQUET${opts})`);
    await con.run(`COPY (SELECT * FROM read_parquet('${file}')) TO '${path.join(out, name + '.jsonl')}' (FORMAT JSON)`);
  }
}

// --- polars: writeParquet with a codec, read back with readParquet ---

function polars() {
  const pl = require('nodejs-polars');
  const ids = [...Array(ROWS).keys()];
  const df = pl.DataFrame({
    id: pl.Series('id', ids.map((i) => i * 3), pl.Int64),
    name: ids.map((i) => (i % 6 === 0 ? null : `näme-${i % 40}`)),
    tier: ids.map((i) => ['gold', 'silver', 'bronze', null][i % 4]),
    score: ids.map((i) => (i % 9 === 0 ? null : i / 8)),
    active: ids.map((i) => (i % 5 === 0 ? null : i % 3 !== 0)),
    qty: pl.Series('qty', ids.map((i) => i % 17 - 8), pl.Int32),
    at: ids.map((i) => new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678) + i * 3600_000)),
    tags: ids.map((i) => (i % 7 === 0 ? null : ['p', 'q', 'r'].slice(0, i % 4))),
  }).withColumns(
    pl.col('tier').cast(pl.Categorical).alias('tier'),
    pl.col('at').cast(pl.Datetime('us', 'UTC')).alias('at'),
    pl.col('at').cast(pl.Date).alias('day'),
  );
  for (const codec of ['zstd', 'snappy', 'lz4', 'uncompressed']) {
    const name = `polars_${codec}`;
    const file = path.join(out, name + '.parquet');
    df.writeParquet(file, { compression: codec });
    pl.readParquet(file).writeJSON(path.join(out, name + '.jsonl'), { format: 'lines' });
  }
}

// --- arrow-rs (parquet-wasm): apache-arrow tables written with chosen
// writer properties, read back with parquet-wasm's reader ---

function arrowTable(arrow) {
  const ids = [...Array(ROWS).keys()];
  const nullable = (f, t) => new arrow.Field(f, t, true);
  const vec = (vals, type) => arrow.vectorFromArray(vals, type);
  const ts = vec(ids.map((i) => (i % 8 === 0 ? null : 1)), new arrow.TimestampMicrosecond('UTC'));
  const tsLocal = vec(ids.map(() => 1), new arrow.TimestampMillisecond());
  const base = 1735787045678123n; // 2025-01-02T03:04:05.678123Z in microseconds
  ids.forEach((i) => {
    ts.data[0].values[i] = base + BigInt(i) * 3_600_000_001n;
    tsLocal.data[0].values[i] = 1735689540000n + BigInt(i) * 60_000n; // 2024-12-31T23:59:00
  });
  return new arrow.Table({
    id: vec(ids.map((i) => BigInt(i) * 1_000_000_007n), new arrow.Int64()),
    qty: vec(ids.map((i) => (i % 10 === 0 ? null : i % 23 - 11)), new arrow.Int32()),
    flag: vec(ids.map((i) => i % 3 !== 0), new arrow.Bool()),
    opt_flag: vec(ids.map((i) => (i % 5 === 0 ? null : i % 2 === 0)), new arrow.Bool()),
    price: vec(ids.map((i) => i * 0.25 - 10), new arrow.Float64()),
    rate: vec(ids.map((i) => (i % 4 === 0 ? null : i / 16)), new arrow.Float32()),
    name: vec(ids.map((i) => (i % 9 === 0 ? null : `ürün-${i % 30}`)), new arrow.Utf8()),
    sku: vec(ids.map((i) => `SKU-${String(i).padStart(6, '0')}`), new arrow.Utf8()),
    day: vec(ids.map((i) => new Date(Date.UTC(2024, 0, 1) + i * 86400_000)), new arrow.DateDay()),
    at: ts,
    at_local: tsLocal,
    tags: vec(ids.map((i) => (i % 6 === 0 ? null : ['a', 'b', 'c', 'd'].slice(0, i % 4))),
      new arrow.List(nullable('item', new arrow.Utf8()))),
    address: vec(ids.map((i) => ({ city: `city-${i % 7}`, zip: i % 2 ? 10000 + i : null })),
      new arrow.Struct([nullable('city', new arrow.Utf8()), nullable('zip', new arrow.Int32())])),
  });
}

// arrowJSON renders a row of an apache-arrow table as JSON: 64-bit
// integers as decimal strings, timestamps as RFC 3339 with every digit the
// file holds (Z when the type has a time zone), dates as YYYY-MM-DD.
function arrowValue(arrow, type, v) {
  if (v === null || v === undefined) return null;
  switch (type.typeId) {
    case arrow.Type.Int:
      return typeof v === 'bigint' ? v.toString() : v;
    case arrow.Type.Date:
      return new Date(v).toISOString().slice(0, 10);
    case arrow.Type.List:
      return [...v].map((e) => arrowValue(arrow, type.children[0].type, e));
    case arrow.Type.Struct: {
      const o = {};
      for (const f of type.children) o[f.name] = arrowValue(arrow, f.type, v[f.name]);
      return o;
    }
    case arrow.Type.Dictionary:
      return arrowValue(arrow, type.dictionary, v);
  }
  return v;
}

function rawTimestamp(vector, i) {
  for (const d of vector.data) {
    if (i < d.length) return d.values[d.offset + i];
    i -= d.length;
  }
  throw new Error('row out of range');
}

function rfc3339(raw, unit, zone) {
  const per = { [0]: 1n, [1]: 1000n, [2]: 1_000_000n, [3]: 1_000_000_000n }[unit];
  let sec = raw / per;
  let frac = raw % per;
  if (frac < 0n) { frac += per; sec -= 1n; }
  const digits = per === 1n ? '' : '.' + frac.toString().padStart(per.toString().length - 1, '0');
  return new Date(Number(sec) * 1000).toISOString().slice(0, 19) + digits + (zone ? 'Z' : '');
}

function arrowRows(arrow, table) {
  const rows = [];
  for (let i = 0; i < table.numRows; i++) {
    const o = {};
    for (const f of table.schema.fields) {
      const col = table.getChild(f.name);
      if (!col.isValid(i)) { o[f.name] = null; continue; }
      if (f.type.typeId === arrow.Type.Timestamp) {
        o[f.name] = rfc3339(rawTimestamp(col, i), f.type.unit, f.type.timezone);
      } else {
        o[f.name] = arrowValue(arrow, f.type, col.get(i));
      }
    }
    rows.push(o);
  }
  return rows;
}

function arrowrs() {
  const arrow = require('apache-arrow');
  const pw = require('parquet-wasm/node');
  const ipc = arrow.tableToIPC(arrowTable(arrow), 'stream');
  const P = () => new pw.WriterPropertiesBuilder().setMaxRowGroupSize(120).setDataPageSizeLimit(1024);
  const noDict = (b) => b.setDictionaryEnabled(false);
  const files = {
    arrowrs_v1_snappy: P().setWriterVersion(pw.WriterVersion.V1).setCompression(pw.Compression.SNAPPY),
    arrowrs_v2: P().setWriterVersion(pw.WriterVersion.V2).setCompression(pw.Compression.UNCOMPRESSED),
    arrowrs_v2_nodict: noDict(P().setWriterVersion(pw.WriterVersion.V2).setCompression(pw.Compression.ZSTD)),
    arrowrs_delta: noDict(P().setWriterVersion(pw.WriterVersion.V2))
      .setColumnEncoding('id', pw.Encoding.DELTA_BINARY_PACKED)
      .setColumnEncoding('qty', pw.Encoding.DELTA_BINARY_PACKED)
      .setColumnEncoding('day', pw.Encoding.DELTA_BINARY_PACKED)
      .setColumnEncoding('at', pw.Encoding.DELTA_BINARY_PACKED)
      .setColumnEncoding('name', pw.Encoding.DELTA_LENGTH_BYTE_ARRAY)
      .setColumnEncoding('sku', pw.Encoding.DELTA_BYTE_ARRAY)
      .setColumnEncoding('tags.list.item', pw.Encoding.DELTA_BYTE_ARRAY),
    arrowrs_byte_stream_split: noDict(P().setWriterVersion(pw.WriterVersion.V1))
      .setColumnEncoding('price', pw.Encoding.BYTE_STREAM_SPLIT)
      .setColumnEncoding('rate', pw.Encoding.BYTE_STREAM_SPLIT),
    arrowrs_lz4_raw: P().setCompression(pw.Compression.LZ4_RAW),
    arrowrs_brotli: P().setCompression(pw.Compression.BROTLI),
    arrowrs_lz4_hadoop: P().setCompression(pw.Compression.LZ4),
  };
  for (const [name, props] of Object.entries(files)) {
    const bytes = pw.writeParquet(pw.Table.fromIPCStream(ipc), props.build());
    fs.writeFileSync(path.join(out, name + '.parquet'), bytes);
    const back = arrow.tableFromIPC(pw.readParquet(bytes).intoIPCStream());
    writeLines(name, arrowRows(arrow, back));
  }
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  await duckdb();
  polars();
  arrowrs();
})().catch((e) => { console.error(e); process.exit(1); });

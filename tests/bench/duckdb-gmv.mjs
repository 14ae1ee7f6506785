// duckdb-gmv.mjs: the benchmark query (GMV by category per minute) in DuckDB, one thread.
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
const t0 = process.hrtime.bigint();
const reader = await conn.runAndReadAll(`
  SELECT date_trunc('minute', event_time::TIMESTAMP) AS minute, category,
         sum(amount::DECIMAL(18,2)) AS gmv
  FROM read_ndjson('${file.replace(/'/g, "''")}',
       columns = {event_time: 'VARCHAR', category: 'VARCHAR', amount: 'VARCHAR'})
  GROUP BY ALL`);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
// Rows, then the query's own time: the anchor leaves out node's and DuckDB's start-up.
console.log(reader.getRowObjects().length, seconds);

import pg from 'pg';
import './instrumentation.ts';

/** A connection pool on `url` (the checks hand you one whose connections use a schema of their own). */
export function createPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection the server closes emits 'error' on the pool; unheard, it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

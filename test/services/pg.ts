import pg from 'pg';

/** Runs one query through an ordinary `pg` client, the way an exercise would. */
export async function queryOnce<Row extends Record<string, unknown>>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<Row>(sql);
    return result.rows;
  } finally {
    await client.end();
  }
}

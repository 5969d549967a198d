import type { Pool } from 'pg';

/**
 * Creates the tables if they are not there yet: every instance runs it when it starts, so it must
 * be safe to run again.
 */
export async function migrate(pool: Pool): Promise<void> {
  // TODO (the tables): the database, not the code, must refuse a second event with a version the
  //       stream already has. And the snapshots need a table of their own (stream_id, version, state).
  await pool.query(`
    CREATE TABLE IF NOT EXISTS events (
      stream_id   text        NOT NULL,
      version     integer     NOT NULL,
      type        text        NOT NULL,
      data        jsonb       NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

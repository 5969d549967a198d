import type { Pool } from 'pg';

/**
 * Creates the tables if they are not there yet: every instance runs it when it starts, so it must
 * be safe to run again. The events table is append-only.
 */
export async function migrate(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS events (
      stream_id   text        NOT NULL,
      version     integer     NOT NULL,
      type        text        NOT NULL,
      data        jsonb       NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS snapshots (
      stream_id text    NOT NULL,
      version   integer NOT NULL,
      state     jsonb   NOT NULL,
      PRIMARY KEY (stream_id, version)
    );
  `);
}

import { trace } from '@opentelemetry/api';
import type { Pool } from 'pg';

const ATTR_STREAM_ID = 'app.event_store.stream_id';
const ATTR_SNAPSHOT_VERSION = 'app.event_store.snapshot_version';

const tracer = trace.getTracer('tracecraft.event-store');

/** The state of a stream as of `version`: replaying its first `version` events gives `state`. */
export interface Snapshot<S> {
  streamId: string;
  version: number;
  state: S;
}

/** Snapshots in their own table. A snapshot is a cache of a replay: the events stay the truth. */
export class PostgresSnapshotStore<S> {
  constructor(private readonly pool: Pool) {}

  /** Saves a snapshot, as a span `save snapshot`. */
  save(snapshot: Snapshot<S>): Promise<void> {
    const attributes = { [ATTR_STREAM_ID]: snapshot.streamId, [ATTR_SNAPSHOT_VERSION]: snapshot.version };
    return tracer.startActiveSpan('save snapshot', { attributes }, async (span) => {
      try {
        // The state as of a version never changes, so a second save of the same version changes nothing.
        await this.pool.query(
          'INSERT INTO snapshots (stream_id, version, state) VALUES ($1, $2, $3) ON CONFLICT (stream_id, version) DO NOTHING',
          [snapshot.streamId, snapshot.version, snapshot.state],
        );
      } finally {
        span.end();
      }
    });
  }

  /** The snapshot of the stream with the highest version ≤ atOrBefore (default: the latest), or undefined. */
  async latest(streamId: string, atOrBefore = Number.POSITIVE_INFINITY): Promise<Snapshot<S> | undefined> {
    const { rows } = await this.pool.query<{ version: number; state: S }>(
      'SELECT version, state FROM snapshots WHERE stream_id = $1 AND ($2::integer IS NULL OR version <= $2) ORDER BY version DESC LIMIT 1',
      [streamId, Number.isFinite(atOrBefore) ? atOrBefore : null],
    );
    const row = rows[0];
    return row && { streamId, version: row.version, state: row.state };
  }
}

import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Pool } from 'pg';

const ATTR_STREAM_ID = 'app.event_store.stream_id';
const ATTR_VERSION = 'app.event_store.version';
const ATTR_EXPECTED_VERSION = 'app.event_store.expected_version';
const ATTR_EVENT_COUNT = 'app.event_store.event_count';

/** PostgreSQL's SQLSTATE for a duplicate key: here, a version the stream already has. */
const UNIQUE_VIOLATION = '23505';

const tracer = trace.getTracer('tracecraft.event-store');

/** An event as the store keeps it: the n-th event of a stream has version n (the first is 1). */
export interface RecordedEvent<E> {
  streamId: string;
  version: number;
  event: E;
}

/** An append whose expected version is not the stream's version: somebody else appended first. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId} is at version ${actualVersion}, not ${expectedVersion}: it changed since it was read`);
  }
}

/** An append-only event store on PostgreSQL: one row per event in `events`, never updated, never deleted. */
export class PostgresEventStore<E extends { type: string }> {
  constructor(private readonly pool: Pool) {}

  /**
   * Appends `events` to the stream, provided it is still at `expectedVersion` (0 for a new stream);
   * resolves its new version. Otherwise rejects with a ConcurrencyError and writes nothing.
   */
  async append(streamId: string, expectedVersion: number, events: readonly E[]): Promise<number> {
    // TODO (one transaction per append): take one client from the pool, BEGIN, and COMMIT at the end;
    //       on any failure ROLLBACK (nothing of the append is written), and release the client.
    // TODO (optimistic concurrency): in the transaction, refuse with a ConcurrencyError when the
    //       stream is not at expectedVersion. And when an INSERT fails with UNIQUE_VIOLATION (another
    //       append committed that version meanwhile), reject with a ConcurrencyError too.
    // TODO (the span): an "append events" span with the attributes of the README, parent of the
    //       queries' CLIENT spans; ERROR with ATTR_ERROR_TYPE on a failure.
    void [SpanStatusCode, ATTR_ERROR_TYPE, ATTR_STREAM_ID, ATTR_VERSION, ATTR_EXPECTED_VERSION, ATTR_EVENT_COUNT, UNIQUE_VIOLATION, tracer];
    let version = expectedVersion;
    for (const event of events) {
      version += 1;
      await this.pool.query('INSERT INTO events (stream_id, version, type, data) VALUES ($1, $2, $3, $4)', [streamId, version, event.type, event]);
    }
    return version;
  }

  /** The events of the stream with afterVersion < version ≤ toVersion, oldest first. */
  async read(streamId: string, afterVersion = 0, toVersion = Number.POSITIVE_INFINITY): Promise<RecordedEvent<E>[]> {
    // $1, $2, $3 are placeholders: pg sends the values apart from the statement, so they are never
    // part of its text. No upper bound is a NULL ("Infinity" is not an integer PostgreSQL knows).
    const { rows } = await this.pool.query<{ version: number; data: E }>(
      'SELECT version, data FROM events WHERE stream_id = $1 AND version > $2 AND ($3::integer IS NULL OR version <= $3) ORDER BY version',
      [streamId, afterVersion, Number.isFinite(toVersion) ? toVersion : null],
    );
    return rows.map((row) => ({ streamId, version: row.version, event: row.data }));
  }
}

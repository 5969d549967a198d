import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Pool, PoolClient } from 'pg';

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

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;
}

async function currentVersion(client: PoolClient, streamId: string): Promise<number> {
  const { rows } = await client.query<{ version: number }>(
    'SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = $1',
    [streamId],
  );
  return rows[0]?.version ?? 0;
}

/** An append-only event store on PostgreSQL: one row per event in `events`, never updated, never deleted. */
export class PostgresEventStore<E extends { type: string }> {
  constructor(private readonly pool: Pool) {}

  /**
   * Appends `events` to the stream, provided it is still at `expectedVersion` (0 for a new stream);
   * resolves its new version. Otherwise rejects with a ConcurrencyError and writes nothing.
   */
  append(streamId: string, expectedVersion: number, events: readonly E[]): Promise<number> {
    const attributes = { [ATTR_STREAM_ID]: streamId, [ATTR_EXPECTED_VERSION]: expectedVersion, [ATTR_EVENT_COUNT]: events.length };
    return tracer.startActiveSpan('append events', { attributes }, async (span) => {
      // One client for the whole transaction: BEGIN on one connection and INSERT on another are two transactions.
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const actual = await currentVersion(client, streamId);
        span.setAttribute(ATTR_VERSION, actual);
        if (actual !== expectedVersion) throw new ConcurrencyError(streamId, expectedVersion, actual);
        for (const [i, event] of events.entries()) {
          // Placeholders, never the values in the text: the text stays one low-cardinality statement
          // (and it is what instrumentation-pg records as db.query.text).
          await client.query('INSERT INTO events (stream_id, version, type, data) VALUES ($1, $2, $3, $4)', [
            streamId,
            expectedVersion + i + 1,
            event.type,
            event,
          ]);
        }
        await client.query('COMMIT');
        span.setAttribute(ATTR_VERSION, expectedVersion + events.length);
        return expectedVersion + events.length;
      } catch (error) {
        await client.query('ROLLBACK');
        // Another append committed this version after we read the stream: the constraint caught the race.
        const refused = isUniqueViolation(error) ? new ConcurrencyError(streamId, expectedVersion, await currentVersion(client, streamId)) : error;
        if (refused instanceof ConcurrencyError) span.setAttribute(ATTR_VERSION, refused.actualVersion);
        const err = refused instanceof Error ? refused : new Error(String(refused));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.setAttribute(ATTR_ERROR_TYPE, err.name);
        throw refused;
      } finally {
        client.release();
        span.end();
      }
    });
  }

  /** The events of the stream with afterVersion < version ≤ toVersion, oldest first. */
  async read(streamId: string, afterVersion = 0, toVersion = Number.POSITIVE_INFINITY): Promise<RecordedEvent<E>[]> {
    const { rows } = await this.pool.query<{ version: number; data: E }>(
      'SELECT version, data FROM events WHERE stream_id = $1 AND version > $2 AND ($3::integer IS NULL OR version <= $3) ORDER BY version',
      [streamId, afterVersion, Number.isFinite(toVersion) ? toVersion : null],
    );
    return rows.map((row) => ({ streamId, version: row.version, event: row.data }));
  }
}

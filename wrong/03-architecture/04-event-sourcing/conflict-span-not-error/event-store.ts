import { trace } from '@opentelemetry/api';

const ATTR_STREAM_ID = 'app.event_store.stream_id';
const ATTR_VERSION = 'app.event_store.version';
const ATTR_EXPECTED_VERSION = 'app.event_store.expected_version';
const ATTR_EVENT_COUNT = 'app.event_store.event_count';

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

/** An append-only, in-memory event store: streams of events that are only ever added to, never changed. */
export class EventStore<E> {
  private readonly streams = new Map<string, RecordedEvent<E>[]>();

  /**
   * Appends `events` to the stream, provided it is still at `expectedVersion` (0 for a new stream);
   * resolves its new version. Otherwise rejects with a ConcurrencyError and writes nothing.
   */
  append(streamId: string, expectedVersion: number, events: readonly E[]): Promise<number> {
    const attributes = { [ATTR_STREAM_ID]: streamId, [ATTR_EXPECTED_VERSION]: expectedVersion, [ATTR_EVENT_COUNT]: events.length };
    return tracer.startActiveSpan('append events', { attributes }, async (span) => {
      try {
        // Compare and write with no await in between: no other append can run in the middle.
        const stream = this.streams.get(streamId) ?? [];
        span.setAttribute(ATTR_VERSION, stream.length);
        if (stream.length !== expectedVersion) throw new ConcurrencyError(streamId, expectedVersion, stream.length);
        for (const event of events) stream.push({ streamId, version: stream.length + 1, event: structuredClone(event) });
        this.streams.set(streamId, stream);
        span.setAttribute(ATTR_VERSION, stream.length);
        return stream.length;
      } finally {
        span.end();
      }
    });
  }

  /** The events of the stream with afterVersion < version ≤ toVersion, oldest first (copies). */
  async read(streamId: string, afterVersion = 0, toVersion = Number.POSITIVE_INFINITY): Promise<RecordedEvent<E>[]> {
    const stream = this.streams.get(streamId) ?? [];
    return structuredClone(stream.filter((r) => r.version > afterVersion && r.version <= toVersion));
  }
}

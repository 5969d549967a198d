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
        // TODO (snapshots): insert the snapshot into the snapshots table. A second save of the same
        //       version must not fail: the state as of a version never changes.
        void this.pool;
      } finally {
        span.end();
      }
    });
  }

  /** The snapshot of the stream with the highest version ≤ atOrBefore (default: the latest), or undefined. */
  async latest(streamId: string, atOrBefore = Number.POSITIVE_INFINITY): Promise<Snapshot<S> | undefined> {
    // TODO (snapshots): read it from the snapshots table (undefined when there is none).
    void [streamId, atOrBefore];
    return undefined;
  }
}

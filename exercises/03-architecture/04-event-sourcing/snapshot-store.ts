import { trace } from '@opentelemetry/api';

const ATTR_STREAM_ID = 'app.event_store.stream_id';
const ATTR_SNAPSHOT_VERSION = 'app.event_store.snapshot_version';

const tracer = trace.getTracer('tracecraft.event-store');

/** The state of a stream as of `version`: replaying its first `version` events gives `state`. */
export interface Snapshot<S> {
  streamId: string;
  version: number;
  state: S;
}

/** Keeps every snapshot saved, per stream. A snapshot is a cache of a replay: the events stay the truth. */
export class SnapshotStore<S> {
  private readonly streams = new Map<string, Snapshot<S>[]>();

  /** Saves a snapshot (a copy), as a span `save snapshot`. */
  save(snapshot: Snapshot<S>): Promise<void> {
    const attributes = { [ATTR_STREAM_ID]: snapshot.streamId, [ATTR_SNAPSHOT_VERSION]: snapshot.version };
    return tracer.startActiveSpan('save snapshot', { attributes }, async (span) => {
      try {
        const saved = this.streams.get(snapshot.streamId) ?? [];
        saved.push(structuredClone(snapshot));
        saved.sort((a, b) => a.version - b.version);
        this.streams.set(snapshot.streamId, saved);
      } finally {
        span.end();
      }
    });
  }

  /** The snapshot of the stream with the highest version ≤ atOrBefore (default: the latest), or undefined. */
  async latest(streamId: string, atOrBefore = Number.POSITIVE_INFINITY): Promise<Snapshot<S> | undefined> {
    const found = (this.streams.get(streamId) ?? []).filter((s) => s.version <= atOrBefore).at(-1);
    return found && structuredClone(found);
  }
}

import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { decide, evolve, initialState, type StockCommand, type StockEvent, type StockState } from './domain/stock-item.ts';
import type { PostgresEventStore } from './event-store.ts';
import type { PostgresSnapshotStore } from './snapshot-store.ts';

const ATTR_SKU = 'app.stock.sku';
const ATTR_STREAM_ID = 'app.event_store.stream_id';
const ATTR_VERSION = 'app.event_store.version';
const ATTR_SNAPSHOT_VERSION = 'app.event_store.snapshot_version';
const ATTR_EVENTS_REPLAYED = 'app.event_store.events_replayed';

const tracer = trace.getTracer('tracecraft.stock');

export interface StockItemsOptions {
  events: PostgresEventStore<StockEvent>;
  snapshots: PostgresSnapshotStore<StockState>;
  /** A snapshot is saved whenever an append brings a stream's version to a multiple of this. */
  snapshotEvery: number;
}

/** A stock item's state, and the version of its stream that state is as of. */
export interface LoadedItem {
  state: StockState;
  version: number;
}

function fail(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  span.setAttribute(ATTR_ERROR_TYPE, err.name);
}

/** Stock items, event sourced: one stream per SKU, whose stream id is the SKU. */
export class StockItems {
  constructor(private readonly options: StockItemsOptions) {}

  /** Runs `command` on the item: load, decide, append with the version loaded. Resolves the new version. */
  handle(sku: string, command: StockCommand): Promise<number> {
    return tracer.startActiveSpan(`handle ${command.type}`, { attributes: { [ATTR_SKU]: sku } }, async (span) => {
      try {
        const { state, version } = await this.load(sku);
        const event = decide(state, command);
        // The version we decided on is the one we expect: if another command appended meanwhile,
        // the store refuses, and this decision (made on an old state) is not written.
        const appended = await this.options.events.append(sku, version, [event]);
        if (appended % this.options.snapshotEvery === 0) {
          await this.options.snapshots.save({ streamId: sku, version: appended, state: evolve(state, event) });
        }
        return appended;
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** The item as of the latest event. */
  load(sku: string): Promise<LoadedItem> {
    return this.replay(sku, Number.POSITIVE_INFINITY);
  }

  /** The item as it was right after its `version`-th event (0: before the first). */
  async loadAt(sku: string, version: number): Promise<StockState> {
    if (!Number.isInteger(version) || version < 0) throw new RangeError(`no version ${version}: versions are whole numbers from 0`);
    return (await this.replay(sku, version)).state;
  }

  private replay(sku: string, upTo: number): Promise<LoadedItem> {
    return tracer.startActiveSpan('load stock-item', { attributes: { [ATTR_STREAM_ID]: sku } }, async (span) => {
      try {
        // Start from the latest snapshot at or before the wanted version, and replay only what follows it.
        const snapshot = await this.options.snapshots.latest(sku, upTo);
        const from = snapshot?.version ?? 0;
        const events = await this.options.events.read(sku, from, upTo);
        const state = events.reduce((s, r) => evolve(s, r.event), snapshot?.state ?? { ...initialState });
        const version = events.at(-1)?.version ?? from;
        if (Number.isFinite(upTo) && version !== upTo) throw new RangeError(`stream ${sku} has ${version} events, so no version ${upTo}`);
        span.setAttributes({ [ATTR_VERSION]: version, [ATTR_SNAPSHOT_VERSION]: from, [ATTR_EVENTS_REPLAYED]: events.length });
        return { state, version };
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

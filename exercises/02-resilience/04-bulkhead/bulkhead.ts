import { trace } from '@opentelemetry/api';
import { systemClock, type Clock } from '#kit';

const tracer = trace.getTracer('tracecraft.bulkhead');

/** How long a queued call waited for its slot, in milliseconds on the bulkhead's clock. */
export const ATTR_BULKHEAD_QUEUE_WAIT_MS = 'app.bulkhead.queue_wait_ms';

/** What a caller gets when every slot is busy and the queue is full: the work was never started. */
export class BulkheadFullError extends Error {
  override readonly name = 'BulkheadFullError';

  constructor(readonly bulkhead: string) {
    super(`bulkhead ${bulkhead} is full: every slot is busy and the queue is full`);
  }
}

export interface BulkheadOptions {
  /** What the bulkhead protects, e.g. "payments": its spans are named `bulkhead <name>`. */
  name: string;
  /** At most this many calls run at once. */
  maxConcurrent: number;
  /** At most this many calls wait for a slot; a call beyond that is rejected at once. */
  maxQueue: number;
  /** Measures the queue wait. Default: the real clock. */
  clock?: Clock;
}

/**
 * Runs at most `maxConcurrent` calls at once. A call that finds every slot busy waits in a
 * first-in, first-out queue of at most `maxQueue` calls; a call that finds the queue full too is
 * rejected with a BulkheadFullError without running.
 */
export class Bulkhead {
  readonly name: string;
  private readonly maxConcurrent: number;
  private readonly maxQueue: number;
  private readonly clock: Clock;

  constructor(options: BulkheadOptions) {
    this.name = options.name;
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueue = options.maxQueue;
    this.clock = options.clock ?? systemClock;
  }

  /** Runs `work` when a slot is free, and answers what it answers. */
  execute<T>(work: () => Promise<T>): Promise<T> {
    return tracer.startActiveSpan(`bulkhead ${this.name}`, async (span) => {
      // TODO: take a slot if one is free. Otherwise wait in the queue if it has room, and set
      //       app.bulkhead.queue_wait_ms once the slot is yours; otherwise reject with a
      //       BulkheadFullError (ERROR status, error.type "bulkhead_full") without running `work`.
      // TODO: give the slot back when `work` settles, even when it rejects, and let the oldest
      //       queued call have it.
      // TODO: when `work` rejects: record the exception, ERROR status, error.type = the error's name.
      void this.maxConcurrent;
      void this.maxQueue;
      void this.clock;
      const result = await work();
      span.end();
      return result;
    });
  }
}

import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
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

function fail(span: Span, errorType: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
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
  private running = 0;
  /** The queued calls, oldest first: each waits for its resolve to be called with a slot. */
  private readonly waiting: Array<() => void> = [];

  constructor(options: BulkheadOptions) {
    this.name = options.name;
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueue = options.maxQueue;
    this.clock = options.clock ?? systemClock;
  }

  /** Runs `work` when a slot is free, and answers what it answers. */
  execute<T>(work: () => Promise<T>): Promise<T> {
    return tracer.startActiveSpan(`bulkhead ${this.name}`, async (span) => {
      try {
        if (!this.tryAcquire()) {
          if (this.waiting.length >= this.maxQueue) {
            fail(span, 'bulkhead_full');
            throw new BulkheadFullError(this.name);
          }
          const arrived = this.clock.now();
          // Wait until a slot is free, then take it.
          while (!this.tryAcquire()) await new Promise<void>((resolve) => this.waiting.push(resolve));
          span.setAttribute(ATTR_BULKHEAD_QUEUE_WAIT_MS, this.clock.now() - arrived);
        }
        try {
          return await work();
        } catch (error) {
          const err = error instanceof Error ? error : new Error(String(error));
          span.recordException(err);
          fail(span, err.name);
          throw error;
        } finally {
          this.release();
        }
      } finally {
        span.end();
      }
    });
  }

  private tryAcquire(): boolean {
    if (this.running >= this.maxConcurrent) return false;
    this.running++;
    return true;
  }

  private release(): void {
    // Free the slot, and wake the oldest waiter so it can take it.
    this.running--;
    this.waiting.shift()?.();
  }
}

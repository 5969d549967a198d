/**
 * A fake downstream service for resilience checks: every call makes a CLIENT span (a child of
 * whatever span is active), is recorded, and answers what the check scripted for it: a value,
 * an error, or nothing yet (a held call the check settles later, to keep it in flight). A failed
 * call's span is ERROR with `error.type` (the error's name), without an exception event, so trees
 * drawn for a learner stay short.
 * Checks read `calls` to see whether a pattern let a call through, and `inFlight` /
 * `maxInFlight` to see how many ran at once.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { deferred, type Deferred } from './control.ts';

/** What one call answers: resolve with a value, reject with an error, or wait for the check. */
export type DownstreamReply<T> = { value: T } | { error: unknown } | 'hold';

export type DownstreamOutcome = 'pending' | 'succeeded' | 'failed' | 'aborted';

export interface DownstreamCall<T> {
  /** 0 for the first call, in call order. */
  readonly index: number;
  /** What the caller passed, if anything. */
  readonly request: unknown;
  /** How the call ended, or `pending` while it is in flight. */
  readonly outcome: DownstreamOutcome;
  /** For a held call: settle it to end the call. Undefined for a call answered at once. */
  readonly gate: Deferred<T> | undefined;
}

export interface FakeDownstreamOptions<T> {
  /** The name of the CLIENT span each call makes, e.g. `GET /stock/:sku`. */
  spanName: string;
  /** The instrumentation scope of those spans. Default `tracecraft.downstream`. */
  tracerName?: string;
  /** Attributes put on every CLIENT span. */
  attributes?: Attributes;
  /** The reply of a call nothing was scripted for. Without it, such a call fails loudly (a bug in the check). */
  otherwise?: (call: DownstreamCall<T>) => DownstreamReply<T>;
}

export const DOWNSTREAM_MESSAGES = {
  unscripted: (name: string, index: number) =>
    `FakeDownstream "${name}": call #${index} has no scripted reply and no "otherwise" (a bug in the check)`,
} as const;

interface MutableCall<T> {
  index: number;
  request: unknown;
  outcome: DownstreamOutcome;
  gate: Deferred<T> | undefined;
}

function errorName(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) return error.name;
  return typeof error;
}

export class FakeDownstream<T = unknown> {
  private readonly script: DownstreamReply<T>[] = [];
  /** The gates of the scripted holds, in the same order as their 'hold' entries in the script. */
  private readonly gates: Deferred<T>[] = [];
  private readonly records: MutableCall<T>[] = [];
  private running = 0;
  private most = 0;

  constructor(private readonly options: FakeDownstreamOptions<T>) {}

  /** Every call so far, in call order. */
  get calls(): readonly DownstreamCall<T>[] {
    return this.records;
  }

  get inFlight(): number {
    return this.running;
  }

  get maxInFlight(): number {
    return this.most;
  }

  /** The next unscripted call resolves with `value`. Replies queue up in order. */
  succeedNext(value: T): this {
    this.script.push({ value });
    return this;
  }

  /** The next unscripted call rejects with `error`. */
  failNext(error: unknown): this {
    this.script.push({ error });
    return this;
  }

  /** The next unscripted call stays in flight until the check settles the returned deferred. */
  holdNext(): Deferred<T> {
    const gate = deferred<T>();
    this.script.push('hold');
    this.gates.push(gate);
    return gate;
  }

  /**
   * One call to the downstream, as a CLIENT span. A held call rejects with the signal's reason
   * if the signal aborts first; a signal already aborted rejects at once, without a reply used.
   */
  readonly call = (request?: unknown, signal?: AbortSignal): Promise<T> => {
    const record: MutableCall<T> = { index: this.records.length, request, outcome: 'pending', gate: undefined };
    this.records.push(record);
    const tracer = trace.getTracer(this.options.tracerName ?? 'tracecraft.downstream');
    return tracer.startActiveSpan(
      this.options.spanName,
      { kind: SpanKind.CLIENT, attributes: this.options.attributes ?? {} },
      async (span) => {
        this.running++;
        this.most = Math.max(this.most, this.running);
        try {
          const value = await this.answer(record, signal);
          record.outcome = 'succeeded';
          return value;
        } catch (error) {
          record.outcome = signal?.aborted && error === signal.reason ? 'aborted' : 'failed';
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, errorName(error));
          throw error;
        } finally {
          this.running--;
          span.end();
        }
      },
    );
  };

  private async answer(record: MutableCall<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    const reply = this.nextReply(record);
    // A tick of latency, so a caller never gets its answer synchronously.
    await Promise.resolve();
    if (reply === 'hold') {
      const gate = record.gate as Deferred<T>;
      if (!signal) return gate.promise;
      return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        gate.promise.then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
    }
    if ('error' in reply) throw reply.error;
    return reply.value;
  }

  private nextReply(record: MutableCall<T>): DownstreamReply<T> {
    const scripted = this.script.shift();
    if (scripted === 'hold') {
      record.gate = this.gates.shift();
      return 'hold';
    }
    if (scripted) return scripted;
    const fallback = this.options.otherwise?.(record);
    if (fallback === undefined) throw new Error(DOWNSTREAM_MESSAGES.unscripted(this.options.spanName, record.index));
    if (fallback === 'hold') {
      record.gate = deferred<T>();
      return 'hold';
    }
    return fallback;
  }
}

/**
 * A traced in-memory key-value store that behaves like a remote one: values are copied in and out,
 * every operation is a CLIENT span (database conventions), and every operation is counted,
 * so a check can say "the store was read exactly once" and find the span that proves it.
 * For cache exercises: the store is the slow, authoritative source behind the cache.
 */
import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
} from '@opentelemetry/semantic-conventions';

export type StoreOperation = 'get' | 'set' | 'delete';

export interface StoreCall {
  operation: StoreOperation;
  key: string;
}

export interface TracedStoreOptions<V> {
  /** Initial contents (copied; no span, not counted). */
  seed?: Iterable<readonly [string, V]>;
  /**
   * Awaited inside every operation's span, after the operation took effect and before it answers:
   * `() => clock.sleep(20)` for latency on a fake clock, `() => gate.promise` to hold answers until
   * the check releases them. Default: answer on the next microtask.
   */
  latency?: (call: StoreCall) => Promise<void>;
  /** An error to fail the operation with (before it takes effect), or undefined to let it through. */
  fault?: (call: StoreCall) => Error | undefined;
  /** The tracer (instrumentation scope) of the store's spans. Default `tracecraft.store`. */
  tracerName?: string;
}

/** The value of `db.system.name` on the store's spans. */
export const STORE_SYSTEM_NAME = 'memory';
/** The key an operation was about, on the store's spans. */
export const ATTR_STORE_KEY = 'app.store.key';

/**
 * A store named like a collection (`products`). Its spans are CLIENT spans named
 * `<operation> <collection>` (`get products`, `set products`, `delete products`), children of
 * the span active when the operation is called, with `db.system.name`, `db.operation.name`,
 * `db.collection.name` and `app.store.key`; a faulted operation's span is ERROR with `error.type`.
 * Each operation takes effect when it is called (a get reads its value then, a set writes it
 * then) and answers after `latency`: the answer of a slow get can be older than the store.
 */
export class TracedStore<V> {
  private readonly data = new Map<string, V>();
  private readonly log: StoreCall[] = [];
  private readonly tracer: Tracer;

  constructor(
    readonly collection: string,
    private readonly options: TracedStoreOptions<V> = {},
  ) {
    this.tracer = trace.getTracer(options.tracerName ?? 'tracecraft.store');
    for (const [key, value] of options.seed ?? []) this.data.set(key, structuredClone(value));
  }

  /** Every operation called so far, in call order. */
  get calls(): readonly StoreCall[] {
    return this.log;
  }

  /** How many times `operation` was called, for `key` or for any key. */
  count(operation: StoreOperation, key?: string): number {
    return this.log.filter((c) => c.operation === operation && (key === undefined || c.key === key)).length;
  }

  /** The current value, without a span and without counting: what the check compares against. */
  peek(key: string): V | undefined {
    const value = this.data.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  /** Writes without a span and without counting: data that was there before the check started. */
  seed(key: string, value: V): void {
    this.data.set(key, structuredClone(value));
  }

  get(key: string): Promise<V | undefined> {
    return this.run({ operation: 'get', key }, () => this.peek(key));
  }

  set(key: string, value: V): Promise<void> {
    return this.run({ operation: 'set', key }, () => void this.data.set(key, structuredClone(value)));
  }

  delete(key: string): Promise<boolean> {
    return this.run({ operation: 'delete', key }, () => this.data.delete(key));
  }

  private run<T>(call: StoreCall, effect: () => T): Promise<T> {
    this.log.push(call);
    const attributes = {
      [ATTR_DB_SYSTEM_NAME]: STORE_SYSTEM_NAME,
      [ATTR_DB_OPERATION_NAME]: call.operation,
      [ATTR_DB_COLLECTION_NAME]: this.collection,
      [ATTR_STORE_KEY]: call.key,
    };
    const name = `${call.operation} ${this.collection}`;
    return this.tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        const error = this.options.fault?.(call);
        if (error) throw error;
        const result = effect();
        await (this.options.latency?.(call) ?? Promise.resolve());
        return result;
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        span.recordException(err);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.setAttribute(ATTR_ERROR_TYPE, err.name);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

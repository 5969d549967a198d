/**
 * A slow key-value store for cache checks. It answers from its own data (`undefined` for a key it
 * does not hold: "not found"), counts every load, and can hold loads open until the check releases
 * or fails them. While a load is held, a check can send more callers at the cache and see whether
 * they pile up behind the one load or each reach the store.
 */
import { deferred, flushMicrotasks, type Deferred } from './control.ts';

interface HeldLoad<V> {
  key: string;
  answer: Deferred<V | undefined>;
}

export class SlowStore<V> {
  private readonly data: Map<string, V>;
  private heldLoads: HeldLoad<V>[] = [];
  private holding = false;
  private running = 0;
  private most = 0;
  /** Every key asked for, in call order (held or not). */
  readonly loads: string[] = [];

  constructor(entries: Iterable<readonly [string, V]> = []) {
    this.data = new Map(entries);
  }

  set(key: string, value: V): this {
    this.data.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    return this.data.delete(key);
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  /** How many times `key` was loaded. */
  loadsOf(key: string): number {
    return this.loads.filter((k) => k === key).length;
  }

  /** Loads started and not yet answered. */
  get inFlight(): number {
    return this.running;
  }

  /** The most loads that were ever in flight at once. */
  get maxInFlight(): number {
    return this.most;
  }

  /** From now on every load waits until `release()` or `fail()` answers it. */
  hold(): void {
    this.holding = true;
  }

  /** Stops holding: loads started from now on answer by themselves. Loads already held stay held. */
  resume(): void {
    this.holding = false;
  }

  /** How many loads (of `key`, or of any key) are held, waiting for an answer. */
  held(key?: string): number {
    return this.heldLoads.filter((h) => key === undefined || h.key === key).length;
  }

  /**
   * Answers the held loads of `key` (of every key when omitted) from the data as it is now, then lets
   * the code awaiting them move on. Resolves to how many loads it answered.
   */
  async release(key?: string): Promise<number> {
    const answered = this.take(key);
    for (const { key: k, answer } of answered) answer.resolve(this.data.get(k));
    await flushMicrotasks();
    return answered.length;
  }

  /** Rejects the held loads of `key` (of every key when omitted) with `error`. Resolves to how many it rejected. */
  async fail(error: unknown, key?: string): Promise<number> {
    const rejected = this.take(key);
    for (const { answer } of rejected) answer.reject(error);
    await flushMicrotasks();
    return rejected.length;
  }

  /** The store's one operation: the value of `key`, or undefined when the store does not have it. */
  async load(key: string): Promise<V | undefined> {
    this.loads.push(key);
    this.running++;
    this.most = Math.max(this.most, this.running);
    try {
      if (this.holding) {
        const answer = deferred<V | undefined>();
        this.heldLoads.push({ key, answer });
        return await answer.promise;
      }
      // A store answers asynchronously, never in the caller's own turn.
      await Promise.resolve();
      return this.data.get(key);
    } finally {
      this.running--;
    }
  }

  private take(key: string | undefined): HeldLoad<V>[] {
    const taken = this.heldLoads.filter((h) => key === undefined || h.key === key);
    this.heldLoads = this.heldLoads.filter((h) => !taken.includes(h));
    return taken;
  }
}

/**
 * Control over asynchronous work, for checks that must decide when things finish
 * (a bulkhead's queue, a single-flight loader) and measure what ran at the same time.
 */

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
  readonly settled: boolean;
}

/** A promise with its resolve and reject at hand. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    promise,
    resolve: (value) => {
      settled = true;
      resolve(value);
    },
    reject: (reason) => {
      settled = true;
      reject(reason);
    },
    get settled() {
      return settled;
    },
  };
}

/** Counts work in flight: how many run now, the most that ever ran at once, and in what order they started. */
export class ConcurrencyProbe {
  private running = 0;
  private most = 0;
  readonly started: string[] = [];

  get inFlight(): number {
    return this.running;
  }

  get maxInFlight(): number {
    return this.most;
  }

  /** Runs `work` counted as one unit in flight, labelled for the start order. */
  async track<T>(label: string, work: () => Promise<T>): Promise<T> {
    this.running++;
    this.most = Math.max(this.most, this.running);
    this.started.push(label);
    try {
      return await work();
    } finally {
      this.running--;
    }
  }
}

/** Lets pending promise callbacks run: after this, code waiting on settled promises has moved on. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

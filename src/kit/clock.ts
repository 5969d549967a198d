/**
 * Time, injected. Patterns that depend on time (timeouts, backoff, cool-downs, TTLs, token
 * refill) take a Clock instead of calling Date.now and setTimeout, so the checks can drive a
 * FakeClock and run in milliseconds without ever sleeping for real.
 */

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since an arbitrary origin (a fake clock starts at 0). */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

const realTimers = new Map<number, NodeJS.Timeout>();
let realIds = 0;

/** The real clock, for running exercise code outside the checks. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = globalThis.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        globalThis.clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  setTimeout: (callback, ms) => {
    const id = ++realIds;
    const timer = globalThis.setTimeout(() => {
      realTimers.delete(id);
      callback();
    }, ms);
    realTimers.set(id, timer);
    return { id };
  },
  clearTimeout: (handle) => {
    globalThis.clearTimeout(realTimers.get(handle.id));
    realTimers.delete(handle.id);
  },
};

interface Scheduled {
  id: number;
  at: number;
  /** Scheduling order breaks ties between timers due at the same time. */
  seq: number;
  callback: () => void;
}

/** Lets every pending promise callback run, so code awaiting a fired timer reaches its next await. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told to. `advance(ms)` fires every timer that falls due, in
 * order, letting the code that was waiting on each run before the next one fires.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private timers: Scheduled[] = [];
  /** Every duration passed to sleep(), in call order: what a check reads to verify backoff delays. */
  readonly sleeps: number[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, at: this.current + Math.max(0, ms), seq: this.seq++, callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const handle = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        this.clearTimeout(handle);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers (and sleeps) waiting to fire. */
  pending(): number {
    return this.timers.length;
  }

  /** The time the next timer falls due, if any. */
  nextDue(): number | undefined {
    return this.timers.length === 0 ? undefined : Math.min(...this.timers.map((t) => t.at));
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  async advanceTo(target: number): Promise<void> {
    await settle();
    for (;;) {
      const due = this.timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.callback();
      await settle();
    }
    this.current = Math.max(this.current, target);
    await settle();
  }

  /** Fires timers until none are left (or `limit` have fired, against code that re-arms forever). */
  async runAll(limit = 10_000): Promise<void> {
    for (let fired = 0; fired < limit; fired++) {
      // Code that has yet to reach its first timer gets to run before the clock looks for one.
      await settle();
      const due = this.nextDue();
      if (due === undefined) return;
      await this.advanceTo(due);
    }
    throw new Error(`FakeClock.runAll: still ${this.timers.length} timer(s) after ${limit} fired; is something re-arming a timer forever?`);
  }
}

/**
 * A scripted dependency for resilience checks: the n-th call settles with the n-th outcome of a
 * script, so a check decides exactly which calls fail and how, and reads back how many calls came
 * and when (on an injected clock), e.g. to measure the backoff between retries.
 */
import type { Clock } from './clock.ts';

/** What one call settles with: a value it resolves with, or an error it rejects with. */
export type FlakyOutcome<T> = { readonly value: T } | { readonly error: unknown };

export interface FlakyCall<A extends readonly unknown[]> {
  readonly args: A;
  /** `clock.now()` when the call came in; undefined when the flaky has no clock. */
  readonly at: number | undefined;
}

export interface FlakyOptions<T> {
  /** Stamps each call with `clock.now()`, for `gaps()`. */
  clock?: Clock;
  /** What every call beyond the script settles with. Default: a rejection with a FlakyExhaustedError. */
  afterScript?: FlakyOutcome<T>;
}

export interface Flaky<T, A extends readonly unknown[]> {
  (...args: A): Promise<T>;
  /** Every call so far, in order. */
  readonly calls: readonly FlakyCall<A>[];
  /** The time between each call and the next (needs a clock): n calls give n - 1 gaps. */
  gaps(): number[];
}

/** A call came after the script ran out, and no `afterScript` outcome was given. */
export class FlakyExhaustedError extends Error {
  override readonly name = 'FlakyExhaustedError';
}

export const FLAKY_MESSAGES = {
  exhausted: (call: number, scripted: number) =>
    `call #${call} came after the script of ${scripted} outcome${scripted === 1 ? '' : 's'} ran out`,
  noClock: 'gaps() needs a clock: create the flaky with { clock }',
} as const;

/**
 * A function whose n-th call settles with `script[n]`, always asynchronously (never before the
 * caller's next await), and remembers its arguments and the time of each call.
 */
export function flaky<T, A extends readonly unknown[] = []>(
  script: readonly FlakyOutcome<T>[],
  options: FlakyOptions<T> = {},
): Flaky<T, A> {
  const calls: FlakyCall<A>[] = [];
  const call = async (...args: A): Promise<T> => {
    calls.push({ args, at: options.clock?.now() });
    const outcome = script[calls.length - 1] ?? options.afterScript;
    await Promise.resolve();
    if (outcome === undefined) throw new FlakyExhaustedError(FLAKY_MESSAGES.exhausted(calls.length, script.length));
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
  const gaps = (): number[] =>
    calls.slice(1).map((c, i) => {
      const previous = calls[i]?.at;
      if (c.at === undefined || previous === undefined) throw new Error(FLAKY_MESSAGES.noClock);
      return c.at - previous;
    });
  return Object.assign(call, { calls, gaps });
}

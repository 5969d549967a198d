import type { Clock } from '#kit';

export interface TokenBucketOptions {
  /** The most tokens a bucket holds: the largest burst a client can send at once (a whole number, 1 or more). */
  capacity: number;
  /** Tokens added to each bucket per second, continuously (a whole number, 1 or more). */
  refillPerSecond: number;
  clock: Clock;
}

export type RateLimitDecision =
  /** A token was taken. `remaining`: whole tokens left in the bucket. */
  | { allowed: true; remaining: number }
  /** No whole token: nothing was taken. `retryAfterMs`: how long until one is there, in whole ms, rounded up. */
  | { allowed: false; remaining: number; retryAfterMs: number };

/** One token bucket per key (per client), refilled on the injected clock. */
export class TokenBucketLimiter {
  // TODO: one bucket per key: how many tokens it holds, and when that was last brought up to date.

  constructor(private readonly options: TokenBucketOptions) {}

  /** Takes one token from `key`'s bucket if it holds a whole one. */
  take(key: string): RateLimitDecision {
    // TODO: a new key starts with a full bucket. Refill for the time elapsed since the bucket was last
    // brought up to date (options.clock.now()), never above capacity, keeping fractions exactly.
    // Then take one whole token, or say how long until there is one.
    void key;
    return { allowed: true, remaining: this.options.capacity - 1 };
  }
}

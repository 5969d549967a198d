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

/** Thousandths of a token: with whole milliseconds and whole rates, refill is exact integer arithmetic. */
const MILLI = 1000;

interface Bucket {
  milliTokens: number;
  updatedAt: number;
}

/** One token bucket per key (per client), refilled on the injected clock. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: TokenBucketOptions) {}

  /** Takes one token from `key`'s bucket if it holds a whole one. */
  take(key: string): RateLimitDecision {
    const { capacity, refillPerSecond, clock } = this.options;
    const now = clock.now();
    const bucket = this.buckets.get(key) ?? { milliTokens: capacity * MILLI, updatedAt: now };
    this.buckets.set(key, bucket);
    // t ms at r tokens/s earn t × r / 1000 tokens, i.e. t × r milli-tokens: a whole number, nothing rounded away.
    bucket.milliTokens = Math.min(capacity * MILLI, bucket.milliTokens + (now - bucket.updatedAt) * refillPerSecond);
    bucket.updatedAt = now;
    // Every request spends a token; a client that keeps knocking while empty goes into debt.
    bucket.milliTokens -= MILLI;
    if (bucket.milliTokens >= 0) return { allowed: true, remaining: Math.floor(bucket.milliTokens / MILLI) };
    const retryAfterMs = Math.ceil((MILLI - bucket.milliTokens) / refillPerSecond);
    return { allowed: false, remaining: 0, retryAfterMs };
  }
}

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

interface Bucket {
  tokens: number;
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
    const bucket = this.buckets.get(key) ?? { tokens: capacity, updatedAt: now };
    this.buckets.set(key, bucket);
    // t ms at r tokens/s earn t × r / 1000 tokens.
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) * refillPerSecond) / 1000);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) * 1000) / refillPerSecond);
    return { allowed: false, remaining: 0, retryAfterMs };
  }
}

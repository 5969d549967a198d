/*
 * Given: the token bucket of rate-limiter, in a compact form. Nothing to do here; the gateway
 * decides which key to take a token for.
 */
import type { Clock } from '#kit';

export interface TokenBucketOptions {
  /** The most tokens a bucket holds: the largest burst a client can send at once. */
  capacity: number;
  /** One token comes back every `refillEveryMs`, continuously (half a token after half the time). */
  refillEveryMs: number;
  clock: Clock;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Bucket {
  /** The fill level, counted in ms of refill: one token is `refillEveryMs`. Whole numbers, so nothing is rounded away. */
  level: number;
  updatedAt: number;
}

/** One token bucket per key, full at first, refilled on the injected clock. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: TokenBucketOptions) {}

  /** Takes one token from `key`'s bucket, or says how long until one is there (in ms). */
  take(key: string): TakeResult {
    const { capacity, refillEveryMs, clock } = this.options;
    const now = clock.now();
    const bucket = this.buckets.get(key) ?? { level: capacity * refillEveryMs, updatedAt: now };
    this.buckets.set(key, bucket);
    bucket.level = Math.min(capacity * refillEveryMs, bucket.level + (now - bucket.updatedAt));
    bucket.updatedAt = now;
    if (bucket.level >= refillEveryMs) {
      bucket.level -= refillEveryMs;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: refillEveryMs - bucket.level };
  }
}

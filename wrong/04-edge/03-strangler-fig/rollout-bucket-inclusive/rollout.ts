import { createHash } from 'node:crypto';

/**
 * True when `key` (a user id) is among the `percent` % of keys that go to the modern side.
 * The key's place comes from a hash, never from a random draw: the same user lands on the same side
 * on every request and in every instance of the facade, and raising the percentage only moves more
 * users to modern, never one back.
 */
export function inRollout(key: string, percent: number): boolean {
  const bucket = createHash('sha256').update(key).digest().readUInt32BE(0) % 100; // 0 to 99
  return bucket <= percent;
}

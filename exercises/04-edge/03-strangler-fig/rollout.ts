/**
 * True when `key` (a user id) is among the `percent` % of keys that go to the modern side.
 * The same key must always give the same answer, and raising the percentage must only move more
 * keys to modern, never one back.
 */
export function inRollout(key: string, percent: number): boolean {
  // TODO: give the key a stable place in [0, 1) from a hash of it (node:crypto's createHash is one
  //       way), and compare that place with percent / 100.
  return false;
}

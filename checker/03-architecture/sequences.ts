/**
 * Sequences compared for the architecture checks, worded with both sequences whole and where they
 * first differ: ["reserve", "charge failed", "release"].
 *
 * (Beside `verify(…).equals`, which, for a sequence of up to eight items, prints the two sequences
 * cut at 120 characters each: two long lists then read the same. When that is fixed, this goes.)
 */
import { isDeepStrictEqual } from 'node:util';
import { fail } from '#checks';

function item(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A sequence as a learner reads it, whole. */
export function showSequence(list: readonly unknown[]): string {
  return `[${list.map(item).join(', ')}]`;
}

/** Fails unless `actual` is `expected`, item for item, with both sequences in full and their first difference. */
export function verifySequence(actual: readonly unknown[], expected: readonly unknown[], what: string): void {
  const length = Math.max(actual.length, expected.length);
  let first = -1;
  for (let i = 0; i < length && first < 0; i++) {
    if (i >= actual.length || i >= expected.length || !isDeepStrictEqual(actual[i], expected[i])) first = i;
  }
  if (first < 0) return;
  const position = `#${first + 1}`;
  const at =
    first >= actual.length
      ? `${position} is missing: expected ${item(expected[first])}`
      : first >= expected.length
        ? `${position} is extra: ${item(actual[first])}`
        : `${position} is ${item(actual[first])}, expected ${item(expected[first])}`;
  fail(`${what}: got ${showSequence(actual)}, expected ${showSequence(expected)} (first difference: ${at})`);
}

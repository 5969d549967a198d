import type { AttributeValue } from '@opentelemetry/api';
import { formatValue } from './model.ts';

/** A named test for one attribute value, so a failure can say what was expected in words. */
export interface ValueMatcher {
  readonly describe: string;
  test(value: AttributeValue | undefined): boolean;
}

/** What a shape may say about an attribute: a literal, a pattern, or a matcher. */
export type ExpectedValue = AttributeValue | RegExp | ValueMatcher;

export function isValueMatcher(value: unknown): value is ValueMatcher {
  return typeof value === 'object' && value !== null && 'describe' in value && 'test' in value && !(value instanceof RegExp);
}

export const absent = (): ValueMatcher => ({ describe: 'absent', test: (v) => v === undefined });
export const present = (): ValueMatcher => ({ describe: 'any value', test: (v) => v !== undefined });
export const anyNumber = (): ValueMatcher => ({ describe: 'a number', test: (v) => typeof v === 'number' });
export const anyString = (): ValueMatcher => ({ describe: 'a string', test: (v) => typeof v === 'string' });
export const oneOf = (...values: AttributeValue[]): ValueMatcher => ({
  describe: `one of ${values.map((v) => formatValue(v)).join(', ')}`,
  test: (v) => values.some((candidate) => sameValue(candidate, v)),
});
export const where = (describe: string, test: (v: AttributeValue | undefined) => boolean): ValueMatcher => ({
  describe,
  test,
});
export const between = (min: number, max: number): ValueMatcher => ({
  describe: `a number in [${min}, ${max}]`,
  test: (v) => typeof v === 'number' && v >= min && v <= max,
});

export function sameValue(expected: AttributeValue, actual: AttributeValue | undefined): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, i) => item === actual[i])
    );
  }
  return expected === actual;
}

export function valueMatches(expected: ExpectedValue, actual: AttributeValue | undefined): boolean {
  // `search` ignores the pattern's g/y flags and lastIndex: a shape is matched against many spans.
  if (expected instanceof RegExp) return typeof actual === 'string' && actual.search(expected) >= 0;
  if (isValueMatcher(expected)) return expected.test(actual);
  return sameValue(expected, actual);
}

export function describeExpected(expected: ExpectedValue): string {
  if (expected instanceof RegExp) return `matching ${String(expected)}`;
  if (isValueMatcher(expected)) return expected.describe;
  return formatValue(expected);
}

/**
 * Expectations that fail in words. Every failure names what was looked at (a noun the learner
 * knows: "attempts", "the word count of "a b""), what was expected and what happened; two
 * sequences are shown in full when short and from their first difference when long. A failure
 * is a CheckFailure, which the runner counts as a failed check, never as a crash.
 *
 *   verify(countWords(text), `the word count of ${JSON.stringify(text)}`).is(3)
 *     → the word count of "a  b" is 2, expected 3
 *   verify(calls, 'the calls, in order').equals(['reserve', 'charge', 'ship'])
 *     → the calls, in order: got ["reserve", "charge", "refund"], expected ["reserve", "charge", "ship"]
 *       (first difference: #3 is "refund", expected "ship")
 *   verify(spansNamed(otel, 'attempt'), 'one call').hasCount(3, '"attempt" span')
 *     → one call: expected 3 "attempt" spans, found 2
 *   expectThat(settled, 'an open breaker answers at once', 'the call was still waiting')
 *     → an open breaker answers at once, but the call was still waiting
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import { CheckFailure } from './contract.ts';

/** Fails the check with a sentence. */
export function fail(message: string): never {
  throw new CheckFailure(message);
}

/**
 * Fails unless `condition` holds. `expectation` is the rule in words; `observed`, when given,
 * says what happened instead (the message reads "<expectation>, but <observed>").
 */
export function expectThat(condition: boolean, expectation: string, observed?: string): asserts condition {
  if (!condition) fail(observed === undefined ? `expected: ${expectation}` : `${expectation}, but ${observed}`);
}

/** Long enough to read a whole value in one line; longer values are cut with an ellipsis. */
const VALUE_WIDTH = 120;
/** Sequences up to this many items are shown whole. */
const SHORT_SEQUENCE = 8;

/** A value as a learner reads it: strings quoted, arrays and objects on one line, long ones cut with an ellipsis. */
export function show(value: unknown): string {
  const text = shown(value, 0);
  return text.length > VALUE_WIDTH ? `${text.slice(0, VALUE_WIDTH - 1)}…` : text;
}

function shown(value: unknown, depth: number): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (depth > 3) return Array.isArray(value) ? '[…]' : '{…}';
  if (Array.isArray(value)) return `[${value.map((item) => shown(item, depth + 1)).join(', ')}]`;
  if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, v]) => `${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${shown(v, depth + 1)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return inspect(value, { depth: 2, breakLength: Infinity, compact: true });
}

/** `noun` in the plural for `count` ("1 attempt", "2 attempts"); `child|children` gives both forms. */
export function counted(count: number, noun: string): string {
  const [one, many] = noun.includes('|') ? (noun.split('|') as [string, string]) : [noun, plural(noun)];
  return `${count} ${count === 1 ? one : many}`;
}

function plural(noun: string): string {
  // The counted word is the last one, or the one before a quoted name ("span "x"" → "spans "x"").
  const match = /^(.*?)([A-Za-z]+)([^A-Za-z]*)$/.exec(noun);
  if (!match) return noun;
  const [, head = '', word = '', tail = ''] = match;
  const many = /(s|x|z|ch|sh)$/.test(word) ? `${word}es` : /[^aeiou]y$/.test(word) ? `${word.slice(0, -1)}ies` : `${word}s`;
  return `${head}${many}${tail}`;
}

/** Where two sequences first differ, and the two sequences worded for a learner. */
export function sequenceDifference(actual: readonly unknown[], expected: readonly unknown[]): string | undefined {
  const length = Math.max(actual.length, expected.length);
  let first = -1;
  for (let i = 0; i < length; i++) {
    if (i >= actual.length || i >= expected.length || !isDeepStrictEqual(actual[i], expected[i])) {
      first = i;
      break;
    }
  }
  if (first < 0) return undefined;
  // Measured whole: a list that only fits once cut is not short.
  const short = (list: readonly unknown[]): boolean => list.length <= SHORT_SEQUENCE && shown(list, 0).length <= VALUE_WIDTH;
  const position = `#${first + 1}`;
  const at =
    first >= actual.length
      ? `${position} is missing: expected ${show(expected[first])}`
      : first >= expected.length
        ? `${position} is extra: ${show(actual[first])}`
        : `${position} is ${show(actual[first])}, expected ${show(expected[first])}`;
  if (short(actual) && short(expected)) return `got ${show(actual)}, expected ${show(expected)} (first difference: ${at})`;
  const window = (list: readonly unknown[]): string => {
    const from = Math.max(0, first - 2);
    const items = list.slice(from, first + 3).map(show);
    return `${from > 0 ? '…, ' : ''}${items.join(', ')}${first + 3 < list.length ? ', …' : ''}`;
  };
  return (
    `got ${counted(actual.length, 'item')}, expected ${expected.length}; the first difference: ${at}` +
    ` (around it, expected [${window(expected)}], got [${window(actual)}])`
  );
}

/** The first key path where two records differ, worded. */
function recordDifference(actual: unknown, expected: unknown, where = ''): string | undefined {
  if (isDeepStrictEqual(actual, expected)) return undefined;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    const difference = sequenceDifference(actual, expected);
    return difference && `${where ? `${where}: ` : ''}${difference}`;
  }
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isRecord(actual) && isRecord(expected)) {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const path = where ? `${where}.${key}` : key;
      if (!(key in actual)) return `${path} is missing, expected ${show(expected[key])}`;
      if (!(key in expected)) return `${path} should not be there (it is ${show(actual[key])})`;
      const inner = recordDifference(actual[key], expected[key], path);
      if (inner) return inner;
    }
  }
  return `${where ? `${where} is ` : ''}${show(actual)}, expected ${show(expected)}`;
}

export interface Verified<T> {
  /** Strictly equal (`Object.is`). */
  is(expected: T): void;
  /** Deeply equal: sequences say where they first differ, records which field. */
  equals(expected: T): void;
  isOneOf(expected: readonly T[]): void;
  isNot(unexpected: T): void;
  isDefined(): void;
  isAtLeast(min: number): void;
  isAtMost(max: number): void;
  isAbove(min: number): void;
  isBelow(max: number): void;
  isBetween(min: number, max: number): void;
  /** Within `tolerance` of `expected`, both ways. */
  isCloseTo(expected: number, tolerance: number): void;
  /** A list (or a number) of exactly `count` things: "expected 3 attempts, found 2". */
  hasCount(count: number, noun: string): void;
  includes(item: unknown): void;
  excludes(item: unknown): void;
  matches(pattern: RegExp): void;
  /** An instance of `type` (an error class, usually). */
  isInstanceOf(type: abstract new (...args: never[]) => unknown, typeName?: string): void;
}

/**
 * Starts an expectation about `actual`, described by `what`: a noun phrase that names what was
 * looked at ("the attempts", "the status of the answer to GET /orders/7").
 */
export function verify<T>(actual: T, what: string): Verified<T> {
  const value = actual as unknown;
  const numeric = (): number => {
    if (typeof value !== 'number' || Number.isNaN(value)) fail(`${what} should be a number, but it is ${show(value)}`);
    return value;
  };
  return {
    is(expected) {
      if (Object.is(value, expected)) return;
      if (Array.isArray(value) && Array.isArray(expected)) return this.equals(expected);
      fail(`${what} is ${show(value)}, expected ${show(expected)}`);
    },
    equals(expected) {
      const difference = recordDifference(value, expected);
      if (difference === undefined) return;
      fail(`${what}: ${difference}`);
    },
    isOneOf(expected) {
      if (expected.some((e) => isDeepStrictEqual(value, e))) return;
      fail(`${what} is ${show(value)}, expected one of ${expected.map(show).join(', ')}`);
    },
    isNot(unexpected) {
      if (isDeepStrictEqual(value, unexpected)) fail(`${what} should not be ${show(unexpected)}`);
    },
    isDefined() {
      if (value === undefined || value === null) fail(`${what} is ${show(value)}, expected a value`);
    },
    isAtLeast(min) {
      if (numeric() < min) fail(`${what} is ${show(value)}, expected at least ${min}`);
    },
    isAtMost(max) {
      if (numeric() > max) fail(`${what} is ${show(value)}, expected at most ${max}`);
    },
    isAbove(min) {
      if (numeric() <= min) fail(`${what} is ${show(value)}, expected more than ${min}`);
    },
    isBelow(max) {
      if (numeric() >= max) fail(`${what} is ${show(value)}, expected less than ${max}`);
    },
    isBetween(min, max) {
      const n = numeric();
      if (n < min || n > max) fail(`${what} is ${show(value)}, expected between ${min} and ${max}`);
    },
    isCloseTo(expected, tolerance) {
      if (Math.abs(numeric() - expected) > tolerance) fail(`${what} is ${show(value)}, expected ${expected} (± ${tolerance})`);
    },
    hasCount(count, noun) {
      const found = typeof value === 'number' ? value : Array.isArray(value) ? value.length : undefined;
      if (found === undefined) fail(`${what} should be a list of ${noun}s, but it is ${show(value)}`);
      if (found !== count) fail(`${what}: expected ${counted(count, noun)}, found ${found}`);
    },
    includes(item) {
      const list = Array.isArray(value) ? value : typeof value === 'string' ? undefined : [];
      const found = list ? list.some((v) => isDeepStrictEqual(v, item)) : typeof item === 'string' && (value as string).includes(item);
      if (!found) fail(`${what} ${Array.isArray(value) ? `(${show(value)}) ` : ''}should include ${show(item)}${Array.isArray(value) ? '' : `, but it is ${show(value)}`}`);
    },
    excludes(item) {
      const found = Array.isArray(value) ? value.some((v) => isDeepStrictEqual(v, item)) : typeof value === 'string' && typeof item === 'string' && value.includes(item);
      if (found) fail(`${what} should not include ${show(item)}${typeof value === 'string' ? `, but it is ${show(value)}` : ''}`);
    },
    matches(pattern) {
      if (typeof value !== 'string' || value.search(pattern) < 0) fail(`${what} is ${show(value)}, expected text matching ${String(pattern)}`);
    },
    isInstanceOf(type, typeName = type.name) {
      if (!(value instanceof type)) fail(`${what} is ${show(value)}, expected ${/^[aeiou]/i.test(typeName) ? 'an' : 'a'} ${typeName}`);
    },
  };
}

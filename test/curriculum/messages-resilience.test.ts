import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Exercise } from '../../src/catalog/index.ts';
import { loadWrongSolutions } from '../../src/catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import type { TestResult } from '../../src/runner/results.ts';
import type { SpanNode, TraceTree } from '../../src/trace/model.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner reads when the Resilience track's checks catch a known mistake: the failing
// check says in words what was expected and what happened, and a trace failure draws the
// learner's trace of the same role beside the expected one, or none when none comes close.

interface Case {
  exercise: string;
  wrong: string;
  /** The check that must fail (a part of its name). */
  check: string;
  /** What its message must say, each in words. */
  says: RegExp[];
  /** For a trace failure: the trace drawn beside the shape must have this role; `none` when nothing is drawn. */
  actual?: 'none' | ((trace: TraceTree) => boolean);
}

const breakerSpan = (trace: TraceTree): SpanNode | undefined => trace.spans.find((s) => s.name.startsWith('circuit_breaker '));
const transitionsFrom = (span: SpanNode | undefined, from: string): boolean =>
  span?.events.some((e) => e.name === 'circuit_breaker.transition' && e.attributes.from === from) ?? false;

const CASES: Case[] = [
  {
    exercise: 'timeout',
    wrong: 'waits-for-the-operation',
    check: 'answers at the deadline even when the operation ignores its signal',
    says: [/withTimeout rejects, whatever the operation does/, /but it was still waiting for an operation that never settles/],
  },
  {
    exercise: 'timeout',
    wrong: 'error-type-is-the-class-name',
    check: 'a profile service too slow for the deadline',
    says: [/error\.type "timeout"/, /attribute error\.type is "TimeoutError", expected "timeout"/],
    // The timed-out lookup itself: its get-profile root, with the aborted CLIENT call under it.
    actual: (trace) => trace.roots.some((r) => r.name === 'get-profile' && r.children.some((c) => c.name === 'GET /profiles/:id')),
  },
  {
    exercise: 'timeout',
    wrong: 'never-clears-the-timer',
    check: 'withTimeout answers with the operation\'s value when it finishes in time',
    says: [/a fast answer clears the deadline's timer/, /expected 0 timers, found 1/],
  },
  {
    exercise: 'retry-with-backoff',
    wrong: 'one-attempt-too-many',
    check: 'gives up after maxAttempts attempts',
    says: [/maxAttempts \d/, /the attempts, the first one included: expected \d+ attempts?, found \d+/],
  },
  {
    // A trial that never happened is said in words, not explained with some other call's span.
    exercise: 'circuit-breaker',
    wrong: 'cool-down-boundary-exclusive',
    check: 'records half_open → open on a failed trial',
    says: [/the next call is the half-open trial and reaches the downstream/, /it was rejected with a CircuitOpenError, and the downstream was not called: the trial never happened/],
    actual: 'none',
  },
  {
    exercise: 'circuit-breaker',
    wrong: 'skips-half-open',
    check: 'records open → half_open and then half_open → closed on the span of a successful trial',
    says: [/the trial/, /attribute app\.circuit_breaker\.state is "closed", expected "half_open"/],
    // Drawn beside the shape: the call after the cool-down (the one that left "open"), never an unrelated closed-state call.
    actual: (trace) => transitionsFrom(breakerSpan(trace), 'open'),
  },
  {
    exercise: 'cache-stampede',
    wrong: 'ttl-from-the-request',
    check: 'freshness: an entry lives from when the store answered',
    says: [/answered by the store at t\+\d+ ms, with a TTL of \d+ ms/, /1 ms before written \+ T \(still fresh\): expected 1 load, found 2/],
  },
  {
    exercise: 'cache-stampede',
    wrong: 'waiter-links-to-the-store-span',
    check: 'every waiter links to the loader\'s span and says it coalesced',
    says: [/a waiter: app\.cache\.coalesced=true and one link to the loader's "get product" span/, /link #1 to span [0-9a-f]{16} of trace [0-9a-f]{32} is missing/],
    // The waiter's own request, never the loader's.
    actual: (trace) =>
      trace.roots.some((r) => r.name === 'GET /products/:id') && trace.spans.some((s) => s.name === 'get product' && s.attributes['app.cache.coalesced'] === true),
  },
  {
    exercise: 'cache-stampede',
    wrong: 'one-flight-for-every-id',
    check: 'misses on different products load independently',
    says: [/single-flight is per id/, /got \[ ?1, 0 ?\], expected \[ ?1, 1 ?\] \(first difference: #2 is 0, expected 1\)/],
  },
];

const catalog = await loadCatalog(REPO_ROOT, { lenient: true });

function exercise(id: string): Exercise {
  const found = catalog.byId(id);
  if (!found) throw new Error(`no exercise "${id}" in the catalog (${catalog.problems.join('; ')})`);
  return found;
}

describe('the Resilience track says what went wrong, in words', () => {
  let verdicts: Map<string, WrongVerdict>;
  beforeAll(async () => {
    const wanted = await Promise.all(
      CASES.map(async (c) => {
        const wrong = (await loadWrongSolutions(REPO_ROOT, exercise(c.exercise))).find((w) => w.name === c.wrong);
        if (!wrong) throw new Error(`${c.exercise} has no wrong solution "${c.wrong}"`);
        return { exercise: exercise(c.exercise), wrong };
      }),
    );
    const graded = await gradeWrongSolutions(wanted, { root: REPO_ROOT });
    verdicts = new Map(graded.map((v) => [`${v.wrong.exerciseId}/${v.wrong.name}`, v]));
  }, 300_000);

  it.each(CASES.map((c) => [`${c.exercise}: ${c.wrong}`, c] as const))('%s', (_label, c) => {
    const verdict = verdicts.get(`${c.exercise}/${c.wrong}`);
    const tests = verdict?.result.tests ?? [];
    const test: TestResult | undefined = tests.find((t) => t.name.includes(c.check));
    const listing = tests.map((t) => `[${t.status}] ${t.name}: ${t.message ?? ''}`).join('\n');
    expect(test, `no check named like "${c.check}":\n${listing}`).toBeDefined();
    expect(test?.status, `the check "${test?.name}" must fail by assertion:\n${listing}`).toBe('fail');
    const message = test?.message ?? '';
    for (const words of c.says) expect(message, 'the failure says what was expected and what happened').toMatch(words);
    expect(message).not.toMatch(/Object\.is equality|expected .* to (be|deeply equal|have length)|AssertionError/);
    if (c.actual === 'none') expect(test?.failure?.actual, 'no trace is drawn when none has the role').toBeUndefined();
    else if (c.actual) {
      const actual = test?.failure?.actual;
      expect(test?.failure?.kind, 'a trace failure carries its picture').toBe('trace');
      if (actual !== undefined) expect(c.actual(actual), 'the trace drawn beside the shape has the same role').toBe(true);
    }
  });
});

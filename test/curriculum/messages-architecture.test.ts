import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Exercise } from '../../src/catalog/index.ts';
import { loadWrongSolutions } from '../../src/catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import type { TestResult } from '../../src/runner/results.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner reads when they make one of the Architecture track's named mistakes: the failing
// check says, in words, what was expected and what happened, with the noun that is counted and,
// for sequences, both of them whole and where they first differ. All the cases are graded at once
// (one wrong solution per exercise makes one grading round).
const CASES = {
  hexagonal: 'free-shipping-only-above-threshold',
  onion: 'handler-failure-fails-the-transfer',
  cqrs: 'projection-without-link',
  'event-sourcing': 'snapshot-before-append',
  'saga-orchestration': 'compensates-in-forward-order',
  'saga-choreography': 'consumer-span-ends-before-the-handler',
} as const;

let verdicts: Map<string, WrongVerdict>;

beforeAll(async () => {
  const catalog = await loadCatalog(REPO_ROOT);
  const cases: { exercise: Exercise; wrong: Awaited<ReturnType<typeof loadWrongSolutions>>[number] }[] = [];
  for (const [id, name] of Object.entries(CASES)) {
    const exercise = catalog.byId(id);
    if (!exercise) throw new Error(`no exercise "${id}" in the catalog`);
    const wrong = (await loadWrongSolutions(REPO_ROOT, exercise)).find((w) => w.name === name);
    if (!wrong) throw new Error(`no wrong solution "${name}" for ${id}`);
    cases.push({ exercise, wrong });
  }
  const graded = await gradeWrongSolutions(cases, { root: REPO_ROOT });
  verdicts = new Map(graded.map((v) => [v.wrong.exerciseId, v]));
}, 120_000);

/** The failed check of `id`'s wrong solution whose name starts with `check`. */
function failed(id: keyof typeof CASES, check: string): TestResult {
  const verdict = verdicts.get(id);
  const test = verdict?.result.tests.find((t) => t.name.startsWith(check));
  expect(test, `${id}/${CASES[id]}: no check named "${check}…" (checks: ${verdict?.result.tests.map((t) => t.name).join(' | ')})`).toBeDefined();
  expect(test?.status, `${id}/${CASES[id]}: "${check}…" ${test?.message ?? ''}`).toBe('fail');
  return test as TestResult;
}

/** What a message must never hold: the framework's words instead of the check's. */
function expectNoResidue(message: string): void {
  expect(message).not.toMatch(/Object\.is equality|expected .* to (be|equal|deeply equal)|AssertionError|- Expected|\+ Received/);
  expect(message, 'no sequence cut short').not.toContain('…');
}

describe('the Architecture track fails in words', () => {
  it('hexagonal: a total off at the free-shipping threshold names the cart, the rule and both totals', () => {
    const { message = '' } = failed('hexagonal', 'places an order');
    expect(message).toMatch(/^the "totalCents" in the answer for cart .* = 5000 \(shipping 499 below a subtotal of 5000, free from 5000 on\) is 5499, expected 5000$/);
    expectNoResidue(message);
  });

  it('onion: a handler failure that fails a committed transfer says which handler threw, and both statuses', () => {
    const { message = '' } = failed('onion', 'a handler that throws after the commit');
    expect(message).toMatch(/^the status of the answer when Notify(Payer|Payee) threw after the commit \(the transfer is committed\) is 500, expected 200$/);
    expectNoResidue(message);
  });

  it('cqrs: a projection span without its link is compared with the span that applied that event, and drawn beside it', () => {
    const { message = '', failure } = failed('cqrs', 'trace: the projection runs in a trace of its own');
    expect(message).toContain('the projection\'s span that applied it is a root CONSUMER span with one link');
    expect(message).toContain('has 0 link(s), expected 1');
    expect(message, 'no counting of look-alike spans: the one that applied the event is known').not.toContain('none of the');
    expect(failure?.kind).toBe('trace');
    expect(failure?.actual?.roots.map((root) => root.name)).toEqual(['process account-events']);
    expect(failure?.actual?.roots[0]?.links).toEqual([]);
  });

  it('event-sourcing: a snapshot saved before its append names the race, the version, and the state it should hold', () => {
    const { message = '', failure } = failed('event-sourcing', 'a snapshot is saved only after its append succeeded');
    expect(message).toMatch(
      /^the state in the snapshot saved at version (\d+) after (receive \d+ and count \d+|count \d+ and receive \d+), handled together on a stream at version \d+ \(snapshotEvery = \d\) \(the state the stream holds as of it, not the one whose append was refused\): onHand is \d+, expected \d+$/,
    );
    expect(failure, 'a behaviour failure has no trace to draw').toBeUndefined();
    expectNoResidue(message);
  });

  it('saga-orchestration: compensations in the wrong order show both sequences whole, and the first difference', () => {
    const { message = '' } = failed('saga-orchestration', 'when a step fails, compensates the completed steps in reverse order');
    expect(message).toBe(
      'the shop\'s calls, in order, when ship-order fails (the steps after it never run; the completed ones are undone last first): ' +
        'got ["reserve", "charge", "ship failed", "release", "refund"], expected ["reserve", "charge", "ship failed", "refund", "release"] ' +
        '(first difference: #4 is "release", expected "refund")',
    );
    expectNoResidue(message);
  });

  it('saga-orchestration: with steps of the checker\'s own, the run log is shown whole however long its names are', () => {
    const { message = '' } = failed('saga-orchestration', 'runSaga works for any steps');
    expect(message).toMatch(/^what ran, in order, with the steps .*: got \["run [^\]]*"\], expected \["run [^\]]*"\] \(first difference: #\d+ is "compensate [^"]+", expected "compensate [^"]+"\)$/);
    expectNoResidue(message);
  });

  it('saga-choreography: a CONSUMER span that ends before its handler names the span, the service and the child that outlived it', () => {
    const { message = '' } = failed('saga-choreography', 'each CONSUMER span is active while its handler runs');
    expect(message).toMatch(
      /^"process \w+" \((inventory|payment|shipping|order)\) ends after the work its handler did: await the handler inside the span, but its child "[^"]+" ended \d+\.\d\d ms after it$/,
    );
    expectNoResidue(message);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Exercise } from '../../src/catalog/index.ts';
import { loadWrongSolutions, type WrongSolution } from '../../src/catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import type { TestResult } from '../../src/runner/results.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner reads when the Foundations checkers catch a real mistake: what was expected and
// what happened, in words, with the trace of the same role drawn beside a trace failure. Every
// case is a named wrong solution of wrong/01-foundations/, graded once for the whole file.

interface Case {
  exercise: string;
  wrong: string;
  /** The check that must catch it. */
  check: string;
}

const CASES = {
  firstSpanBlank: { exercise: 'first-span', wrong: 'blank-text-counts-one', check: 'counts the words of a text, whatever the whitespace between them' },
  nestedEndsEarly: {
    exercise: 'nested-spans',
    wrong: 'ends-reserve-stock-before-await',
    check: 'ends each parent after its children: "reserve-stock" after the inventory calls, "checkout" after its steps',
  },
  nestedPerLine: { exercise: 'nested-spans', wrong: 'reserve-stock-per-line', check: 'keeps "reserve-stock" active across await, so every inventory call nests under it' },
  semconvString: { exercise: 'attributes-and-semconv', wrong: 'status-code-as-string', check: 'records the request and the response with the semantic-convention attributes' },
  errorsClient: { exercise: 'errors-and-status', wrong: 'client-error-only-on-5xx', check: 'marks a 404 from pricing as an error of the CLIENT span, not of the SERVER span' },
  eventsRows: {
    exercise: 'span-events',
    wrong: 'transformed-counts-the-valid-records',
    check: 'then marks the end of validation and of transformation with events that carry their counts',
  },
  propagationNoExtract: { exercise: 'context-propagation', wrong: 'extracted-context-not-used', check: 'one trace crosses the hop: the SERVER span is a child of the CLIENT span' },
  propagationNoExtractUpstream: { exercise: 'context-propagation', wrong: 'extracted-context-not-used', check: 'the server continues the trace named by an incoming traceparent' },
  propagationRejects: {
    exercise: 'context-propagation',
    wrong: 'rejects-a-malformed-traceparent',
    check: 'a missing or malformed traceparent starts a new trace instead of failing the request',
  },
  linksLate: { exercise: 'span-links', wrong: 'links-added-after-start', check: 'gives the links when the batch span starts, not afterwards' },
  asyncTimer: {
    exercise: 'async-context-pitfalls',
    wrong: 'binds-the-shared-timer',
    check: 'a reminder on the shared timer runs in its own order\'s context, even when orders overlap (setTimeout)',
  },
} satisfies Record<string, Case>;

/** What vitest's expect used to print: none of it may reach a learner. */
const RESIDUE = [/expected .* to (be|equal|deeply equal|have length)/i, /Object\.is equality/, /^[-+] Expected/m, /AssertionError/];

let verdicts: Map<string, WrongVerdict>;

beforeAll(async () => {
  const catalog = await loadCatalog(REPO_ROOT, { lenient: true });
  const wanted = new Set(Object.values(CASES).map((c) => `${c.exercise}/${c.wrong}`));
  const items: { exercise: Exercise; wrong: WrongSolution }[] = [];
  for (const exercise of catalog.inTrack('foundations')) {
    for (const wrong of await loadWrongSolutions(REPO_ROOT, exercise)) {
      if (wanted.has(`${exercise.id}/${wrong.name}`)) items.push({ exercise, wrong });
    }
  }
  const graded = await gradeWrongSolutions(items, { root: REPO_ROOT });
  verdicts = new Map(graded.map((v) => [`${v.wrong.exerciseId}/${v.wrong.name}`, v]));
}, 300_000);

/** The failed check of a case, with its message. */
function failed(which: Case): TestResult & { message: string } {
  const verdict = verdicts.get(`${which.exercise}/${which.wrong}`);
  expect(verdict, `${which.exercise}/${which.wrong} was graded`).toBeDefined();
  const test = verdict?.result.tests.find((t) => t.name === which.check);
  const seen = verdict?.result.tests.map((t) => `[${t.status}] ${t.name}`).join('\n');
  expect(test?.status, `"${which.check}" must fail for ${which.wrong}; the checks:\n${seen}\n${verdict?.result.message ?? ''}`).toBe('fail');
  const message = test?.message ?? '';
  for (const residue of RESIDUE) expect(message, 'a failure worded for a learner, with no framework residue').not.toMatch(residue);
  return { ...(test as TestResult), message };
}

describe('Foundations failures say what was expected and what happened', () => {
  it('first-span: a blank text that counts one word names the text and both counts', () => {
    const { message } = failed(CASES.firstSpanBlank);
    expect(message).toMatch(/^a counterexample: the text ""/);
    expect(message).toContain('the word count of "" is 1, expected 0');
  });

  it('nested-spans: a step that ends before its child says which span ended before which', () => {
    const { message } = failed(CASES.nestedEndsEarly);
    expect(message).toMatch(/^a parent covers the time of its children: "reserve-stock" ends after its child "inventory reserve"/);
    expect(message).toContain('but "reserve-stock" ended before "inventory reserve" did');
  });

  it('nested-spans: a span per line counts the spans it found, with the noun', () => {
    const { message, failure } = failed(CASES.nestedPerLine);
    expect(message).toMatch(/^the active span survives await: calls made inside it join the trace: expected \d+ child spans "inventory reserve" under "reserve-stock", found 1$/m);
    expect(failure?.actual?.roots.map((r) => r.name), 'the trace drawn is a checkout of the same role').toEqual(['checkout']);
  });

  it('attributes-and-semconv: a status code stored as text shows both values', () => {
    const { message, failure } = failed(CASES.semconvString);
    expect(message).toContain('attribute http.response.status_code is "200", expected 200');
    expect(failure?.actual?.roots[0]?.name).toBe('GET /orders/:id');
  });

  it('errors-and-status: a 404 not marked on the CLIENT span names the span and both statuses', () => {
    const { message, failure } = failed(CASES.errorsClient);
    expect(message).toContain('status is UNSET, expected ERROR');
    expect(failure?.path).toEqual(['GET /quotes/:sku', 'GET /prices/:sku']);
    expect(failure?.actual?.roots.map((r) => `${r.name} ${r.kind}`), 'the trace drawn is the request of the same role').toEqual(['GET /quotes/:sku server']);
  });

  it('span-events: a row count taken from the valid records names the event, the attribute and both numbers', () => {
    const { message, failure } = failed(CASES.eventsRows);
    expect(message).toMatch(/event "transformed": attribute app\.rows\.count is \d+, expected \d+/);
    expect(failure?.actual?.roots[0]?.name).toBe('import-batch');
  });

  it('context-propagation: a SERVER span that became a root without extract gets the inject/extract hint, not the startActiveSpan one', () => {
    const { message, failure } = failed(CASES.propagationNoExtract);
    expect(message).toContain('child span "GET /greet" is missing under "GET /greet"');
    expect(failure?.actual?.roots.map((r) => `${r.name} ${r.kind}`), 'the trace drawn is the CLIENT call of the same role').toEqual(['GET /greet client']);
    const hints = failure?.findings.join('\n') ?? '';
    expect(hints).toContain('propagation.extract');
    expect(hints).toContain('(SERVER) is the root of a trace of its own');
    expect(hints).not.toContain('startActiveSpan, or context.with');
  });

  it('context-propagation: the same mistake under a caller\'s traceparent draws the caller\'s trace and the same hint', () => {
    const { failure } = failed(CASES.propagationNoExtractUpstream);
    expect(failure?.actual?.roots.map((r) => r.name)).toEqual(['upstream caller']);
    expect(failure?.findings.join('\n')).toContain('propagation.extract');
    expect(failure?.findings.join('\n')).not.toContain('startActiveSpan, or context.with');
  });

  it('context-propagation: refusing a malformed traceparent names the header and both statuses', () => {
    const { message } = failed(CASES.propagationRejects);
    expect(message).toMatch(/^the status of a request with .+ \(traceparent: ".*"\) is 400, expected 200$/);
  });

  it('span-links: links added after the start say how many the span started with', () => {
    const { message } = failed(CASES.linksLate);
    expect(message).toMatch(/, but it started with 0 and got \d+ more later \(span\.addLink after the start\)$/);
  });

  it('async-context-pitfalls: a shared timer bound once names the steps of other orders', () => {
    const { message } = failed(CASES.asyncTimer);
    expect(message).toMatch(/^the "place-order" span of ord-[a-z0-9]+ holds only its own order's steps, but it holds \d+ steps? of other orders \("send-reminder" of ord-/);
  });
});

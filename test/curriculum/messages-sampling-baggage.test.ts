import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Exercise } from '../../src/catalog/index.ts';
import { loadWrongSolutions } from '../../src/catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import type { TestResult } from '../../src/runner/results.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner reads when they make one of the named mistakes of the pipeline track's sampling
// and baggage exercises: the failing check says, in words, what was expected and what happened,
// and for a broken trace, what is wrong with it and the rule that fixes it. Graded at once.
const CASES = [
  ['sampling', 'no-parent-based'],
  ['sampling', 'critical-overrides-parent'],
  ['sampling', 'inject-only-when-recording'],
  ['sampling', 'route-set-after-start'],
  ['baggage', 'reads-active-context'],
  ['baggage', 'strips-only-the-tenant'],
  ['baggage', 'empty-string-when-missing'],
] as const;

type Case = (typeof CASES)[number];
let verdicts: Map<string, WrongVerdict>;

beforeAll(async () => {
  const catalog = await loadCatalog(REPO_ROOT);
  const cases: { exercise: Exercise; wrong: Awaited<ReturnType<typeof loadWrongSolutions>>[number] }[] = [];
  for (const [id, name] of CASES) {
    const exercise = catalog.byId(id);
    if (!exercise) throw new Error(`no exercise "${id}" in the catalog`);
    const wrong = (await loadWrongSolutions(REPO_ROOT, exercise)).find((w) => w.name === name);
    if (!wrong) throw new Error(`no wrong solution "${name}" for ${id}`);
    cases.push({ exercise, wrong });
  }
  const graded = await gradeWrongSolutions(cases, { root: REPO_ROOT });
  verdicts = new Map(graded.map((v) => [`${v.wrong.exerciseId}/${v.wrong.name}`, v]));
}, 120_000);

/** The failed check of a wrong solution whose name starts with `check`. */
function failed([id, name]: Case, check: string): TestResult {
  const verdict = verdicts.get(`${id}/${name}`);
  const test = verdict?.result.tests.find((t) => t.name.startsWith(check));
  expect(test, `${id}/${name}: no check named "${check}…" (checks: ${verdict?.result.tests.map((t) => t.name).join(' | ')})`).toBeDefined();
  expect(test?.status, `${id}/${name}: "${check}…" ${test?.message ?? ''}`).toBe('fail');
  return test as TestResult;
}

/** What a message must never hold: the framework's words instead of the check's. */
function expectNoResidue(message: string): void {
  expect(message).not.toMatch(/Object\.is equality|expected .* to (be|equal|deeply equal)|AssertionError|- Expected|\+ Received/);
  expect(message, 'no sequence cut short').not.toContain('…');
}

describe('the sampling and baggage exercises fail in words', () => {
  it('sampling: a sampler without ParentBased breaks kept checkouts, and the message says which span went missing and the rule', () => {
    const { message = '' } = failed(CASES[0], 'the critical route is always kept');
    expect(message).toMatch(
      /^a trace is kept or dropped whole, in both services: (\d+) of the \1 traces kept at ratio 0 \(\d+ checkouts, \d+ product pages\) are not whole:\n {2}- \1 × the shop kept its POST \/checkout SERVER span and dropped the CLIENT span under it\. A span with a local parent must follow it too \(ParentBased decides for every span, not only the first\)\. \(For example trace [0-9a-f]{32}: POST \/checkout SERVER\.\)$/,
    );
    expectNoResidue(message);
  });

  it('sampling: a checkout kept against its caller\'s decision names the traceparent and the spans that were kept', () => {
    const { message = '' } = failed(CASES[1], "a caller's traceparent decides");
    expect(message).toMatch(
      /^POST \/checkout arrived with traceparent 00-[0-9a-f]{32}-[0-9a-f]{16}-00: the caller dropped the trace, so no span of it is kept, even at ratio 1 and on the critical route \(ParentBased: a span with a parent does what its parent did, and only a span that starts a trace asks the ratio\), but 3 were kept: /,
    );
    expectNoResidue(message);
  });

  it('sampling: calls to stock without a traceparent are counted, with the rule', () => {
    const { message = '' } = failed(CASES[2], 'a trace is kept or dropped whole');
    expect(message).toMatch(
      /^the calls from the shop to stock without a traceparent header, of \d+ \(inject it into every call, for dropped traces too: its flags, 01 or 00, are the decision\): expected 0 calls, found \d+$/,
    );
    expectNoResidue(message);
  });

  it('sampling: checkouts dropped at ratio 0 are counted, with what the sampler must see and answer', () => {
    const { message = '' } = failed(CASES[3], 'the critical route is always kept');
    expect(message).toMatch(
      /^the traces kept of (\d+) checkouts at ratio 0 \(the critical route is kept at any ratio: the sampler must find http\.route="\/checkout" among the attributes given when the span starts, and answer RECORD_AND_SAMPLED\) is 0, expected \1$/,
    );
  });

  it('baggage: a processor reading the active context names the spans left without the tenant', () => {
    const { message = '' } = failed(CASES[4], 'every span of both services');
    expect(message).toMatch(
      /^every span of both services carries app\.tenant\.id, which the processor copies from the baggage of the context each span starts in, as it starts: the baggage must be in that context before the span starts, but these do not: POST \/checkout SERVER \[gateway-[a-z]{4}\], POST \/orders SERVER \[orders-[a-z]{4}\]$/,
    );
    expectNoResidue(message);
  });

  it('baggage: the user id left in the baggage sent to the third party is shown', () => {
    const { message = '' } = failed(CASES[5], 'the payment provider, a third party');
    expect(message).toMatch(
      /^the entries of the baggage header the payment provider received \(the baggage stays inside the trust boundary: remove it from the context the call is injected from\): got \["app\.user\.id=user-[a-z0-9]+"\], expected \[\]/,
    );
    expectNoResidue(message);
  });

  it('baggage: an empty attribute for a missing entry is a counterexample with no baggage at all', () => {
    const { message = '' } = failed(CASES[6], 'BaggageSpanProcessor copies exactly');
    expect(message).toBe(
      'a counterexample: new BaggageSpanProcessor(["app.tenant.id"]); a span started in a context whose baggage is none (no baggage), ' +
        "while the active context's baggage is none (no baggage)\nthe attributes of the span the moment it started: app.tenant.id should not be there (it is \"\")",
    );
  });
});

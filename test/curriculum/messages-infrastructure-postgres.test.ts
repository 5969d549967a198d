import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Exercise } from '../../src/catalog/index.ts';
import { loadWrongSolutions } from '../../src/catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import type { TestResult } from '../../src/runner/results.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// What a learner reads when they make one of the named mistakes of the infrastructure track's
// PostgreSQL exercises (graded on the local servers: PostgreSQL, RabbitMQ). Two rounds: one wrong
// solution per exercise makes one grading round.
const ROUNDS = [
  { 'event-store-postgres': 'registers-after-importing-pg', 'transactional-outbox': 'relay-starts-a-new-trace' },
  { 'event-store-postgres': 'values-in-the-query-text', 'transactional-outbox': 'mark-before-publish' },
] as const;

const verdicts = new Map<string, WrongVerdict>();

beforeAll(async () => {
  const catalog = await loadCatalog(REPO_ROOT);
  const cases: { exercise: Exercise; wrong: Awaited<ReturnType<typeof loadWrongSolutions>>[number] }[] = [];
  for (const round of ROUNDS) {
    for (const [id, name] of Object.entries(round)) {
      const exercise = catalog.byId(id);
      if (!exercise) throw new Error(`no exercise "${id}" in the catalog`);
      const wrong = (await loadWrongSolutions(REPO_ROOT, exercise)).find((w) => w.name === name);
      if (!wrong) throw new Error(`no wrong solution "${name}" for ${id}`);
      cases.push({ exercise, wrong });
    }
  }
  for (const verdict of await gradeWrongSolutions(cases, { root: REPO_ROOT })) verdicts.set(`${verdict.wrong.exerciseId}/${verdict.wrong.name}`, verdict);
}, 180_000);

/** The failed check of a wrong solution whose name starts with `check`. */
function failed(key: string, check: string): TestResult {
  const verdict = verdicts.get(key);
  const test = verdict?.result.tests.find((t) => t.name.startsWith(check));
  expect(test, `${key}: no check named "${check}…" (checks: ${verdict?.result.tests.map((t) => t.name).join(' | ')})`).toBeDefined();
  expect(test?.status, `${key}: "${check}…" ${test?.message ?? ''}`).toBe('fail');
  return test as TestResult;
}

function expectNoResidue(message: string): void {
  expect(message).not.toMatch(/Object\.is equality|expected .* to (be|equal|deeply equal)|AssertionError|- Expected|\+ Received/);
}

describe('the PostgreSQL exercises of the infrastructure track fail in words', () => {
  it('event-store-postgres: pg imported before the instrumentation names the import, the order the modules run in, and the rule', () => {
    const { message = '' } = failed('event-store-postgres/registers-after-importing-pg', 'trace: pg loads after the instrumentation is enabled');
    expect(message).toContain('db.ts:1 imports pg, and that import runs before instrumentation.ts creates the PgInstrumentation');
    expect(message).toContain('the modules run as pg → instrumentation.ts → db.ts →');
    expect(message).toContain("Make `import './instrumentation.ts'` the first import of db.ts");
    expectNoResidue(message);
  });

  it('event-store-postgres: a value written into the SQL shows the statement whole', () => {
    const { message = '' } = failed('event-store-postgres/values-in-the-query-text', 'trace: query spans carry');
    expect(message).toMatch(/^an INSERT passes its values as parameters: its db\.query\.text has placeholders like \$1 and \$2, but one was "INSERT INTO events \(stream_id, version, type, data\) VALUES \('sku\w+', 1, 'StockReceived', '\{.*\}'\)"$/);
    expectNoResidue(message);
  });

  it('transactional-outbox: a relay that ignores the stored context is shown the PRODUCER span missing under place order, with the trace', () => {
    const { message = '', traces } = failed('transactional-outbox/relay-starts-a-new-trace', "trace: the relay's PRODUCER span");
    expect(message).toMatch(/the PRODUCER span is a child of "place order" and the consumer's span a child of it: child span "publish orders\.tracecraft-\w+" is missing under "place order"/);
    expect(traces?.flatMap((t) => t.spans).some((s) => s.name === 'relay poll'), 'the trace of the relay is drawn').toBe(true);
    expectNoResidue(message);
  });

  it('transactional-outbox: a row marked before its publish is named, with the rule', () => {
    const { message = '' } = failed('transactional-outbox/mark-before-publish', 'a relay killed between the commit and the publish');
    expect(message).toMatch(
      /^the outbox rows marked sent by a relayOnce whose publish the broker refused \(a row is marked only after the broker confirmed it\): got \["[0-9a-f-]{36}"/,
    );
    expectNoResidue(message);
  });
});

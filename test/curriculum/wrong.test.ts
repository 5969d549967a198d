import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.ts';
import { loadWrongSolutions, type WrongSolution } from '../../src/catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../../src/runner/wrong.ts';
import { resolveFor } from '../../src/cli/servers.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// Every exercise ships named wrong solutions (real learner mistakes, each breaking a rule its README
// states), and every one of them fails at least one check by assertion, on every run.
const catalog = await loadCatalog(REPO_ROOT);
const all = await Promise.all(catalog.exercises.map(async (exercise) => ({ exercise, wrongs: await loadWrongSolutions(REPO_ROOT, exercise) })));
const cases = all.flatMap(({ exercise, wrongs }) => wrongs.map((wrong) => ({ exercise, wrong })));

function describeVerdict(verdict: WrongVerdict | undefined): string {
  if (!verdict) return 'no verdict';
  const { result } = verdict;
  const lines = [`${result.id}: ${result.status}${result.message ? ` — ${result.message}` : ''}`];
  for (const test of result.tests) lines.push(`  [${test.status}] ${test.name}${test.message ? `\n${test.message}` : ''}`);
  return lines.join('\n');
}

describe('the named wrong solutions', () => {
  it.each(all.map(({ exercise, wrongs }) => [exercise.id, wrongs] as const))(
    '%s has at least five, covering behaviour and trace',
    (_id, wrongs: readonly WrongSolution[]) => {
      expect(wrongs.length, 'named wrong solutions').toBeGreaterThanOrEqual(5);
      expect(wrongs.some((w) => w.kind === 'behaviour'), 'at least one gets the behaviour wrong').toBe(true);
      expect(wrongs.some((w) => w.kind === 'trace'), 'at least one gets the trace wrong').toBe(true);
    },
  );

  let verdicts: Map<string, WrongVerdict>;
  beforeAll(async () => {
    const servers = await resolveFor(catalog.exercises);
    try {
      const graded = await gradeWrongSolutions(cases, { root: REPO_ROOT, env: servers.env, skipped: servers.skipped, unavailable: servers.required, typecheck: true });
      verdicts = new Map(graded.map((v) => [`${v.wrong.exerciseId}/${v.wrong.name}`, v]));
    } finally {
      await servers.stop();
    }
  }, 600_000);

  it.each(cases.map(({ wrong }) => [`${wrong.exerciseId}: ${wrong.name}`, wrong] as const))('%s fails a check by assertion', (_label, wrong) => {
    const verdict = verdicts.get(`${wrong.exerciseId}/${wrong.name}`);
    expect(verdict?.caught, `${wrong.mistake}\n${describeVerdict(verdict)}`).toBe(true);
    // A wrong solution is code a learner could write: it type-checks where it is graded, laid over its solution.
    expect(verdict?.typeErrors, 'the wrong solution type-checks').toBeUndefined();
  });
});

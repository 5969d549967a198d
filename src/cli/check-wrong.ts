import type { Exercise } from '../catalog/index.ts';
import { loadWrongSolutions } from '../catalog/wrong.ts';
import { gradeWrongSolutions, type WrongVerdict } from '../runner/wrong.ts';
import { plain, type Paint } from '../trace/paint.ts';
import { resolveFor } from './servers.ts';

export const WRONG_TEXT = {
  none: (id: string) => `${id}: no named wrong solutions (wrong/<track>/<exercise>/wrong.json)`,
  heading: (id: string, caught: number, total: number) => `${id}: ${caught} of ${total} wrong solutions caught`,
  caught: (checks: readonly string[]) => `caught by: ${checks.map((c) => `"${c}"`).join(', ')}`,
  passed: 'PASSED every check: the checker misses this mistake',
  errored: (message: string) => `not caught by an assertion, the run ended in "${message}"`,
  skipped: (message: string) => `skipped: ${message.split('\n')[0] ?? ''}`,
  total: (caught: number, total: number) => `Total: ${caught} of ${total} wrong solutions caught`,
  typeErrors: 'and it does not type-check laid over the solution (a wrong solution must be code a learner could write):',
} as const;

function describeVerdict(verdict: WrongVerdict): string {
  const { result } = verdict;
  if (verdict.caught) return WRONG_TEXT.caught(verdict.caughtBy);
  if (result.status === 'pass') return WRONG_TEXT.passed;
  if (result.status === 'skipped') return WRONG_TEXT.skipped(result.message ?? '');
  const message = result.message ?? result.tests.find((t) => t.status !== 'pass')?.message ?? result.status;
  return WRONG_TEXT.errored(message.split('\n')[0] ?? message);
}

/** The author's report: for each exercise, each wrong solution and the checks that caught it. */
export function formatWrongReport(exercises: readonly Exercise[], verdicts: readonly WrongVerdict[], p: Paint = plain): string {
  const lines: string[] = [];
  for (const exercise of exercises) {
    const mine = verdicts.filter((v) => v.wrong.exerciseId === exercise.id);
    if (mine.length === 0) {
      lines.push(p.yellow(WRONG_TEXT.none(exercise.id)), '');
      continue;
    }
    const caught = mine.filter((v) => v.caught).length;
    lines.push(p.bold(WRONG_TEXT.heading(exercise.id, caught, mine.length)));
    for (const verdict of mine) {
      const mark = verdict.caught ? p.green('✓') : p.red('✗');
      lines.push(`  ${mark} ${verdict.wrong.name} ${p.dim(`(${verdict.wrong.kind}: ${verdict.wrong.mistake})`)}`);
      lines.push(`      ${verdict.caught ? p.dim(describeVerdict(verdict)) : p.red(describeVerdict(verdict))}`);
      if (verdict.typeErrors) lines.push(`      ${p.red(WRONG_TEXT.typeErrors)}`, ...verdict.typeErrors.split('\n').map((l) => `        ${l}`));
    }
    lines.push('');
  }
  const caught = verdicts.filter((v) => v.caught).length;
  lines.push(p.bold(WRONG_TEXT.total(caught, verdicts.length)));
  return lines.join('\n');
}

/** `npm run check -- --wrong`: grades the named wrong solutions of the selected exercises; exit 0 when every one is caught. */
export async function checkWrong(root: string, exercises: readonly Exercise[], paint: Paint, json: boolean): Promise<number> {
  const wrongs = (await Promise.all(exercises.map(async (exercise) => (await loadWrongSolutions(root, exercise)).map((wrong) => ({ exercise, wrong }))))).flat();
  const servers = await resolveFor(exercises);
  try {
    const verdicts = await gradeWrongSolutions(wrongs, { root, env: servers.env, skipped: servers.skipped, unavailable: servers.required, typecheck: true });
    if (json) {
      const rows = verdicts.map((v) => ({ exercise: v.wrong.exerciseId, name: v.wrong.name, kind: v.wrong.kind, caught: v.caught, caughtBy: v.caughtBy, status: v.result.status, ...(v.typeErrors ? { typeErrors: v.typeErrors } : {}) }));
      process.stdout.write(`${JSON.stringify({ version: 1, wrong: rows }, null, 2)}\n`);
    } else {
      console.log(formatWrongReport(exercises, verdicts, paint));
    }
    return verdicts.every((v) => (v.caught && v.typeErrors === undefined) || v.result.status === 'skipped') ? 0 : 1;
  } finally {
    await servers.stop();
  }
}

// For authors: proves that no verdict depends on the random draw. Grades the reference solution and
// every named wrong solution of the selected exercises, again and again, and counts the verdicts:
// the solution must pass every run, each wrong solution must be caught every run.
// usage: node --import tsx scripts/prove-checkers.ts [<id>...] [--track <track>] [--repeat <n>]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCatalog } from '../src/catalog/index.ts';
import { loadWrongSolutions } from '../src/catalog/wrong.ts';
import { selectExercises } from '../src/cli/select.ts';
import { resolveFor } from '../src/cli/servers.ts';
import { gradeOnce } from '../src/runner/grade.ts';
import { gradeWrongSolutions } from '../src/runner/wrong.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  options: { track: { type: 'string', multiple: true }, repeat: { type: 'string', default: '20' } },
  allowPositionals: true,
});
const repeat = Number(values.repeat);
const catalog = await loadCatalog(root, { lenient: true });
if (catalog.problems.length > 0) console.error(`left out:\n${catalog.problems.join('\n')}`);
const exercises = selectExercises(catalog, positionals, values.track ?? []);
const wrongs = (await Promise.all(exercises.map(async (exercise) => (await loadWrongSolutions(root, exercise)).map((wrong) => ({ exercise, wrong }))))).flat();

const solutionPasses = new Map<string, number>(exercises.map((e) => [e.id, 0]));
const wrongCaught = new Map<string, number>(wrongs.map(({ wrong }) => [`${wrong.exerciseId}/${wrong.name}`, 0]));
const escapes: string[] = [];
const servers = await resolveFor(exercises);
const started = performance.now();
try {
  for (let run = 1; run <= repeat; run++) {
    const solutions = await gradeOnce(exercises, { root, target: 'solutions', isolate: false, env: servers.env, skipped: servers.skipped, unavailable: servers.required });
    for (const result of solutions) {
      if (result.status === 'pass') solutionPasses.set(result.id, (solutionPasses.get(result.id) ?? 0) + 1);
      else escapes.push(`run ${run}: the solution of ${result.id} did not pass: ${result.tests.find((t) => t.status !== 'pass')?.message ?? result.message ?? result.status}`);
    }
    for (const verdict of await gradeWrongSolutions(wrongs, { root, env: servers.env, skipped: servers.skipped, unavailable: servers.required })) {
      const key = `${verdict.wrong.exerciseId}/${verdict.wrong.name}`;
      if (verdict.caught) wrongCaught.set(key, (wrongCaught.get(key) ?? 0) + 1);
      else escapes.push(`run ${run}: ${key} was not caught (${verdict.result.status})`);
    }
    process.stderr.write(`run ${run}/${repeat} done\n`);
  }
} finally {
  await servers.stop();
}

console.log(`\n${exercises.length} exercises, ${wrongs.length} wrong solutions, ${repeat} runs, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
for (const exercise of exercises) {
  console.log(`${exercise.id}: solution passed ${solutionPasses.get(exercise.id) ?? 0}/${repeat}`);
  for (const { wrong } of wrongs.filter((w) => w.exercise.id === exercise.id)) {
    console.log(`  ${wrong.name}: caught ${wrongCaught.get(`${wrong.exerciseId}/${wrong.name}`) ?? 0}/${repeat}`);
  }
}
if (escapes.length > 0) console.log(`\n${escapes.join('\n')}`);
const ok = escapes.length === 0;
console.log(ok ? '\nOK: every run passed every solution and caught every wrong solution.' : '\nNOT OK: see above.');
process.exitCode = ok ? 0 : 1;

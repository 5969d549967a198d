// `npm run bench`: how long a learner waits for feedback, measured the way they wait for it.
//   cold:     `npm run check -- <id>` from a fresh process, as typed in a terminal (and through plain node)
//   re-check: a save in watch mode until the verdict is in (file watcher + warm grader + type check, as learn does)
//   floor:    the same exercise imported with tsx and asserted without any test framework
//   --all:    every exercise (cold through node, and re-check), the worst of each, and the whole
//             curriculum (every solution and every starter) as `npm run check` grades it
// usage: npm run bench [-- --exercise <id>] [--runs <n>] [--all]
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCatalog, type Exercise } from '../src/catalog/index.ts';
import { resolveFor } from '../src/cli/servers.ts';
import { gradeWith } from '../src/runner/grade.ts';
import { Grader } from '../src/runner/grader.ts';
import { watchFiles } from '../src/runner/watch.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { exercise: { type: 'string', default: 'first-span' }, runs: { type: 'string' }, all: { type: 'boolean', default: false } },
});
const all = values.all ?? false;
const runs = Number(values.runs ?? (all ? '3' : '7'));
/** The engine issue's targets, in milliseconds. */
const TARGETS = { coldNpm: 700, recheckFirstSpan: 150, recheckSlowest: 250, curriculum: 15_000 };

const median = (list: number[]): number => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const time = (fn: () => void): number => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const cli = path.join(root, 'bin', 'tracecraft.mjs');
const verdict = (ms: number, target: number): string => (ms <= target ? `✓ ≤ ${target} ms` : `✗ > ${target} ms`);

const catalog = await loadCatalog(root, { lenient: true });
if (catalog.problems.length > 0) console.error(`left out:\n${catalog.problems.join('\n')}`);

// Build once first, so the cold runs measure checking, not the one-time build after an edit of src/.
execFileSync(process.execPath, [cli, 'check', '--help'], { cwd: root });

function coldNode(id: string): number {
  return median(Array.from({ length: runs }, () => time(() => spawnSync(process.execPath, [cli, 'check', id], { cwd: root, stdio: 'ignore' }))));
}

/** Watch mode: a warm grader and a real file watcher; the clock runs from the save to the verdict with its type check. */
async function recheck(exercise: Exercise): Promise<number> {
  const file = exercise.files[0];
  if (!file) throw new Error(`${exercise.id} lists no files`);
  const servers = await resolveFor([exercise]);
  const grader = new Grader({ root, target: 'exercises', testTimeoutMs: 3000, isolate: true });
  const learnerFile = path.join(exercise.dir, file);
  const original = await readFile(learnerFile, 'utf8');
  const times: number[] = [];
  const grade = (): Promise<unknown> => gradeWith(grader, [exercise], { root, env: servers.env, skipped: servers.skipped, typecheck: true });
  try {
    await grader.start();
    await grade();
    for (let i = 0; i < runs; i++) {
      // A learner saves seconds apart: the spare thread has warmed up by then.
      await new Promise((resolve) => setTimeout(resolve, 600));
      times.push(
        await new Promise<number>((resolve) => {
          let savedAt = 0;
          const watcher = watchFiles(exercise.dir, exercise.files, (changed) => {
            grader.invalidate(changed);
            void grade().then(() => {
              watcher.close();
              resolve(performance.now() - savedAt);
            });
          });
          setTimeout(() => {
            savedAt = performance.now();
            void writeFile(learnerFile, `${original}\n// bench ${i}\n`);
          }, 50);
        }),
      );
    }
  } finally {
    await writeFile(learnerFile, original);
    await grader.close();
    await servers.stop();
  }
  return median(times);
}

if (!all) {
  const exercise = catalog.byId(values.exercise ?? 'first-span');
  if (!exercise) throw new Error(`unknown exercise ${values.exercise}`);
  const id = exercise.id;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const coldNpm = median(Array.from({ length: runs }, () => time(() => spawnSync(npm, ['run', '--silent', 'check', '--', id], { cwd: root, stdio: 'ignore' }))));
  const node = coldNode(id);
  const warm = await recheck(exercise);
  const solution = path.join(exercise.solutionDir, exercise.files[0] ?? '');
  const floor = median(
    Array.from({ length: runs }, () =>
      time(() => spawnSync(process.execPath, ['--import', 'tsx', '-e', `await import(${JSON.stringify(solution)});`], { cwd: root, stdio: 'ignore' })),
    ),
  );
  console.log(`tracecraft bench: ${id}, median of ${runs} runs each, ${process.platform} node ${process.version}\n`);
  const rows: [string, number, string][] = [
    [`npm run check -- ${id} (cold)`, coldNpm, id === 'first-span' ? verdict(coldNpm, TARGETS.coldNpm) : ''],
    [`node bin/tracecraft.mjs check ${id} (cold)`, node, ''],
    ['re-check after a save (watch, with type check)', warm, verdict(warm, id === 'first-span' ? TARGETS.recheckFirstSpan : TARGETS.recheckSlowest)],
    ['floor: tsx import, no framework', floor, ''],
  ];
  for (const [name, ms, note] of rows) console.log(`${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / floor).toFixed(2).padStart(5)}× floor  ${note}`);
} else {
  console.log(`tracecraft bench --all: ${catalog.exercises.length} exercises, median of ${runs} runs each, ${process.platform} node ${process.version}\n`);
  const rows: { id: string; cold: number; warm: number }[] = [];
  for (const exercise of catalog.exercises) {
    const row = { id: exercise.id, cold: coldNode(exercise.id), warm: await recheck(exercise) };
    rows.push(row);
    console.log(`${row.id.padEnd(28)} cold ${row.cold.toFixed(0).padStart(6)} ms   re-check ${row.warm.toFixed(0).padStart(5)} ms`);
  }
  const solutions = time(() => spawnSync(process.execPath, [cli, 'check', '--solutions'], { cwd: root, stdio: 'ignore' }));
  const starters = time(() => spawnSync(process.execPath, [cli, 'check'], { cwd: root, stdio: 'ignore' }));
  const worstCold = rows.reduce((a, b) => (b.cold > a.cold ? b : a));
  const worstWarm = rows.reduce((a, b) => (b.warm > a.warm ? b : a));
  const first = rows.find((r) => r.id === 'first-span');
  console.log('');
  if (first) console.log(`first-span re-check                 ${first.warm.toFixed(0).padStart(6)} ms  ${verdict(first.warm, TARGETS.recheckFirstSpan)}`);
  console.log(`slowest re-check (${worstWarm.id})`.padEnd(36) + `${worstWarm.warm.toFixed(0).padStart(6)} ms  ${verdict(worstWarm.warm, TARGETS.recheckSlowest)}`);
  console.log(`slowest cold check (${worstCold.id})`.padEnd(36) + `${worstCold.cold.toFixed(0).padStart(6)} ms`);
  console.log(`every solution (check --solutions)  ${solutions.toFixed(0).padStart(6)} ms`);
  console.log(`every starter (check)               ${starters.toFixed(0).padStart(6)} ms`);
  console.log(`whole curriculum                    ${(solutions + starters).toFixed(0).padStart(6)} ms  ${verdict(solutions + starters, TARGETS.curriculum)}`);
}

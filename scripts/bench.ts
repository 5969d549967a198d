// `npm run bench`: how long a learner waits for feedback, measured the way they wait for it.
//   cold:     `npm run check -- <id>` from a fresh process, as typed in a terminal
//   re-check: a save in watch mode until the verdict is in (file watcher + warm grader)
//   floor:    the same exercise imported with tsx and asserted without any test framework
// usage: npm run bench [-- --exercise <id>] [--runs <n>]
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../src/catalog/index.ts';
import { Grader } from '../src/runner/grader.ts';
import { watchFiles } from '../src/runner/watch.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const id = option('exercise', 'first-span');
const runs = Number(option('runs', '7'));
const TARGETS = { cold: 1000, recheck: 300 };

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const time = (fn: () => void): number => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};

const catalog = await loadCatalog(root, { lenient: true });
if (catalog.problems.length > 0) console.error(`left out:\n${catalog.problems.join('\n')}`);
const exercise = catalog.byId(id);
if (!exercise) throw new Error(`unknown exercise ${id}`);
const file = exercise.files[0];
if (!file) throw new Error(`${id} lists no files`);

// Build once first, so the cold runs measure checking, not the one-time build after an edit of src/.
execFileSync(process.execPath, [path.join(root, 'bin', 'tracecraft.mjs'), 'check', '--help'], { cwd: root });

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const cold = Array.from({ length: runs }, () =>
  time(() => spawnSync(npm, ['run', '--silent', 'check', '--', id], { cwd: root, stdio: 'ignore' })),
);
const coldNode = Array.from({ length: runs }, () =>
  time(() => spawnSync(process.execPath, [path.join(root, 'bin', 'tracecraft.mjs'), 'check', id], { cwd: root, stdio: 'ignore' })),
);

// Watch mode: a warm grader and a real file watcher; the clock runs from the save to the verdict.
const grader = new Grader({ root, target: 'exercises', testTimeoutMs: 3000, isolate: true });
await grader.start();
await grader.run([exercise.checkerFile]);
const learnerFile = path.join(exercise.dir, file);
const original = await readFile(learnerFile, 'utf8');
const recheck: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const elapsed = await new Promise<number>((resolve) => {
      let savedAt = 0;
      const watcher = watchFiles(exercise.dir, exercise.files, (changed) => {
        grader.invalidate(changed);
        void grader.run([exercise.checkerFile]).then(() => {
          watcher.close();
          resolve(performance.now() - savedAt);
        });
      });
      setTimeout(() => {
        savedAt = performance.now();
        void writeFile(learnerFile, `${original}\n// bench ${i}\n`);
      }, 50);
    });
    recheck.push(elapsed);
  }
} finally {
  await writeFile(learnerFile, original);
  await grader.close();
}

const solution = path.join(exercise.solutionDir, file);
const floor = Array.from({ length: runs }, () =>
  time(() =>
    spawnSync(process.execPath, ['--import', 'tsx', '-e', `await import(${JSON.stringify(solution)});`], { cwd: root, stdio: 'ignore' }),
  ),
);

const rows = [
  ['npm run check -- ' + id + ' (cold)', median(cold), TARGETS.cold],
  ['node bin/tracecraft.mjs check ' + id + ' (cold)', median(coldNode), TARGETS.cold],
  ['re-check after a save (watch)', median(recheck), TARGETS.recheck],
  ['floor: tsx import, no framework', median(floor), undefined],
] as const;
const floorMs = median(floor);
console.log(`tracecraft bench: ${id}, median of ${runs} runs each, ${process.platform} node ${process.version}\n`);
for (const [name, ms, target] of rows) {
  const verdict = target === undefined ? '' : ms <= target ? `  ✓ target ≤ ${target} ms` : `  ✗ target ≤ ${target} ms`;
  console.log(`${name.padEnd(48)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / floorMs).toFixed(2).padStart(5)}× floor${verdict}`);
}

// For exercise authors: grades checker files against solutions/ and exercises/ without the catalog,
// so an exercise can be checked while its folder is still incomplete (no README or exercise.json yet).
// A complete exercise must pass every check on solutions/ and fail at least one by assertion on exercises/.
// usage: node --import tsx scripts/author-check.ts checker/02-resilience/01-timeout.test.ts [...] [--traces]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Grader } from '../src/runner/grader.ts';
import { renderTraces } from '../src/trace/render.ts';
import type { ModuleResult } from '../src/runner/results.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const showTraces = args.includes('--traces');
const files = args.filter((a) => !a.startsWith('--')).map((f) => path.resolve(f));
if (files.length === 0) {
  console.error('usage: node --import tsx scripts/author-check.ts <checker file>... [--traces]');
  process.exit(2);
}

function print(target: string, result: ModuleResult | undefined): void {
  console.log(`\n===== ${target}: ${result?.status ?? 'no result'}${result?.message ? `\n${result.message}` : ''}`);
  for (const test of result?.tests ?? []) {
    console.log(`--- [${test.status}] ${test.name}${test.message ? `\n${test.message}` : ''}`);
    if (showTraces && test.traces) console.log(renderTraces(test.traces).join('\n'));
  }
}

let ok = true;
for (const target of ['solutions', 'exercises'] as const) {
  const grader = new Grader({ root, target, testTimeoutMs: 3000, isolate: true });
  try {
    const { results, unhandled } = await grader.run(files);
    for (const file of files) {
      const result = results.get(file);
      console.log(`\n##### ${path.relative(root, file)}`);
      print(target, result);
      if (target === 'solutions' && result?.status !== 'pass') ok = false;
      if (target === 'exercises' && !(result?.status === 'fail' && result.tests.some((t) => t.status === 'fail'))) ok = false;
    }
    for (const u of unhandled) console.log(`UNHANDLED ${u.file ?? ''}: ${u.message}`);
  } finally {
    await grader.close();
  }
}
console.log(ok ? '\nOK: the solution passes and the starter fails by assertion.' : '\nNOT OK: see above.');
process.exitCode = ok ? 0 : 1;

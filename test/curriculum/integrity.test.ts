import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.ts';
import { gradeOnce } from '../../src/runner/grade.ts';
import type { ExerciseResult } from '../../src/runner/results.ts';
import { REPO_ROOT } from '../support/workbook.ts';
import { resolveFor, type ServerSetup } from '../../src/cli/servers.ts';

// The author's check, for every exercise of the workbook: the reference solution passes every
// check, and the untouched starter fails at least one check with an assertion (not a crash).
const catalog = await loadCatalog(REPO_ROOT);

function describeResult(result: ExerciseResult | undefined): string {
  if (!result) return 'no result';
  const lines = [`${result.id}: ${result.status}${result.message ? ` — ${result.message}` : ''}`];
  for (const test of result.tests) lines.push(`  [${test.status}] ${test.name}${test.message ? `\n${test.message}` : ''}`);
  return lines.join('\n');
}

/** The servers the exercises need, found as the CLI finds them (PGlite for PostgreSQL by default); a skip fails the test below. */
async function withServers<T>(exercises: typeof catalog.exercises, run: (servers: ServerSetup) => Promise<T>, env?: NodeJS.ProcessEnv): Promise<T> {
  const servers = await resolveFor(exercises, env ? { probes: { env } } : {});
  try {
    return await run(servers);
  } finally {
    await servers.stop();
  }
}

describe('the reference solutions', () => {
  let results: Map<string, ExerciseResult>;
  beforeAll(async () => {
    const graded = await withServers(catalog.exercises, (servers) =>
      gradeOnce(catalog.exercises, { root: REPO_ROOT, target: 'solutions', isolate: false, env: servers.env, skipped: servers.skipped, unavailable: servers.required }),
    );
    results = new Map(graded.map((r) => [r.id, r]));
  }, 240_000);

  it.each(catalog.exercises.map((e) => [e.id]))('%s passes every check', (id) => {
    const result = results.get(id);
    expect(result?.status, describeResult(result)).toBe('pass');
    expect(result?.tests.length, 'an exercise needs checks').toBeGreaterThan(0);
  });
});

// The exercises that need PostgreSQL pass on the embedded PGlite (above) and on a real server.
const onPostgres = catalog.exercises.filter((e) => e.servers.includes('postgres'));
const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';
describe.runIf(onPostgres.length > 0)('the reference solutions on a real PostgreSQL', () => {
  let results: Map<string, ExerciseResult>;
  beforeAll(async () => {
    const graded = await withServers(
      onPostgres,
      (servers) => gradeOnce(onPostgres, { root: REPO_ROOT, target: 'solutions', isolate: false, env: servers.env, skipped: servers.skipped, unavailable: servers.required }),
      { ...process.env, WORKBOOK_POSTGRES_URL: process.env['WORKBOOK_POSTGRES_URL'] ?? LOCAL_POSTGRES },
    );
    results = new Map(graded.map((r) => [r.id, r]));
  }, 240_000);

  it.each(onPostgres.map((e) => [e.id]))('%s passes every check', (id) => {
    const result = results.get(id);
    expect(result?.status, describeResult(result)).toBe('pass');
  });
});

describe('the untouched starters', () => {
  let results: Map<string, ExerciseResult>;
  beforeAll(async () => {
    const graded = await withServers(catalog.exercises, (servers) =>
      gradeOnce(catalog.exercises, { root: REPO_ROOT, target: 'exercises', isolate: true, env: servers.env, skipped: servers.skipped, unavailable: servers.required }),
    );
    results = new Map(graded.map((r) => [r.id, r]));
  }, 240_000);

  it.each(catalog.exercises.map((e) => [e.id]))('%s fails at least one check with an assertion', (id) => {
    const result = results.get(id);
    expect(result?.status, `the starter must load and run its checks: ${describeResult(result)}`).toBe('fail');
    expect(
      result?.tests.some((t) => t.status === 'fail'),
      `at least one check must fail by assertion, not only by a crash: ${describeResult(result)}`,
    ).toBe(true);
  });
});

describe('the exercise folders', () => {
  it.each(catalog.exercises.map((e) => [e.id, e]))('%s has a README with its trace contract, a drawn tree and three hint levels', async (_id, exercise) => {
    const readme = await readFile(exercise.readmeFile, 'utf8');
    expect(readme, 'the README starts with a title').toMatch(/^# \S/);
    expect(readme, 'the README states the trace contract').toMatch(/^##.*trace contract/im);
    expect(readme, 'the README draws the expected tree in a code block').toMatch(/```[\s\S]*?(├─|└─|SERVER|INTERNAL|CLIENT|PRODUCER|CONSUMER)[\s\S]*?```/);
    expect(readme, 'the README says how to run the exercise').toContain(`npm run learn -- ${exercise.id}`);
    expect(exercise.hints.length, 'hints come in three levels').toBe(3);
  });

  it.each(catalog.exercises.map((e) => [e.id, e]))('%s: the checker reaches the code only through #target', async (_id, exercise) => {
    const checker = await readFile(exercise.checkerFile, 'utf8');
    expect(checker).toMatch(new RegExp(`from ['"]#target/${exercise.relDir}/`));
    expect(checker, 'a checker must not import exercises/ or solutions/ directly').not.toMatch(/from ['"][./]*\/?(exercises|solutions)\//);
  });
});

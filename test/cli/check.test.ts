import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkbook, runCli, type CliRun } from '../support/workbook.ts';

interface JsonReport {
  version: number;
  status: string;
  exercises: { id: string; track: string; status: string; message?: string; tests: { name: string; status: string; message?: string }[] }[];
  summary: Record<string, number>;
}

// One graded run of the whole fixture workbook (every kind of broken learner code), shared by the assertions below.
describe('npm run check on a workbook of broken exercises', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let run: CliRun;
  let report: JsonReport;
  const exercise = (id: string): JsonReport['exercises'][number] => {
    const found = report.exercises.find((e) => e.id === id);
    if (!found) throw new Error(`no result for ${id}`);
    return found;
  };

  beforeAll(async () => {
    workbook = await copyWorkbook();
    run = await runCli(['check', '--root', workbook.root, '--json']);
    report = JSON.parse(run.stdout) as JsonReport;
  });
  afterAll(() => workbook.remove());

  it('prints one JSON object and nothing else on stdout, and exits 1', () => {
    expect(run.code).toBe(1);
    expect(report.version).toBe(1);
    expect(report.status).toBe('error');
    expect(report.summary).toEqual({ pass: 2, fail: 7, error: 4, skipped: 0 });
    expect(report.exercises.map((e) => e.id)).toEqual([
      'passes', 'fails', 'syntax-error', 'hangs', 'exits', 'type-error', 'needs-redis',
      'throws-at-import', 'missing-export', 'unhandled-rejection', 'never-settles', 'replaces-provider', 'property',
    ]);
  });

  it('passes the exercise whose checks pass', () => {
    expect(exercise('passes')).toMatchObject({
      status: 'pass',
      track: 'basics',
      tests: [{ status: 'pass' }, { status: 'pass' }, { name: 'type checks cleanly (tsc, strict)', status: 'pass' }],
    });
  });

  it('fails code that runs but does not type-check, with file, line and a code frame', () => {
    const typed = exercise('type-error');
    expect(typed.status).toBe('fail');
    expect(typed.tests.slice(0, 2).map((t) => t.status)).toEqual(['pass', 'pass']);
    const check = typed.tests[2];
    expect(check).toMatchObject({ name: 'type checks cleanly (tsc, strict)', status: 'fail' });
    expect(check?.message).toContain("exercises/01-basics/06-type-error/code.ts:2:9 - error TS2322: Type 'string' is not assignable to type 'number'.");
    expect(check?.message).toContain('const label: number = "sum";');
  });

  it('fails an exercise with an assertion, with expected and actual in the message', () => {
    const fails = exercise('fails');
    expect(fails.status).toBe('fail');
    expect(fails.tests[0]).toMatchObject({ name: 'adds two numbers', status: 'fail' });
    expect(fails.tests[0]?.message).toContain('2 + 3: expected -1 to be 5');
  });

  it('reports a syntax error with file, line, column and a code frame', () => {
    const broken = exercise('syntax-error');
    expect(broken.status).toBe('error');
    expect(broken.message).toContain('your code does not compile');
    expect(broken.message).toContain('exercises/01-basics/03-syntax-error/code.ts:2:14');
    expect(broken.message).toContain('return a + ;');
  });

  it('stops an infinite loop and says so', () => {
    const hangs = exercise('hangs');
    expect(hangs.status).toBe('error');
    expect(hangs.message).toMatch(/stopped responding|still running/);
    expect(hangs.message).toContain('infinite loop');
  });

  it('turns process.exit into a verdict instead of ending the run', () => {
    const exits = exercise('exits');
    expect(exits.status).toBe('fail');
    expect(exits.tests[0]?.status).toBe('error');
    expect(exits.tests[0]?.message).toContain('your code called process.exit(0)');
  });

  it('reports a throw at import time with where it happened', () => {
    const throws = exercise('throws-at-import');
    expect(throws.status).toBe('error');
    expect(throws.message).toContain('your code threw while it was being loaded: Error: the configuration is missing');
    expect(throws.message).toContain('exercises/02-faults/01-throws-at-import/code.ts:1');
  });

  it('names a missing export and what the module exports instead', () => {
    const missing = exercise('missing-export');
    expect(missing.status).toBe('error');
    expect(missing.message).toContain('exercises/02-faults/02-missing-export/code.ts does not export "add"');
    expect(missing.message).toContain('it exports: plus');
  });

  it('blames an unhandled rejection on the check that caused it', () => {
    const lost = exercise('unhandled-rejection');
    expect(lost.status).toBe('fail');
    expect(lost.tests[0]?.status).toBe('error');
    expect(lost.tests[0]?.message).toContain('rejected promise that nobody awaited or caught (Error: nobody awaited this)');
  });

  it('times out a promise that never settles', () => {
    const never = exercise('never-settles');
    expect(never.tests[0]?.status).toBe('error');
    expect(never.tests[0]?.message).toContain('a promise in your code never settled');
  });

  it('notices code that replaces the global tracer provider', () => {
    const replaced = exercise('replaces-provider');
    expect(replaced.status).toBe('fail');
    expect(replaced.tests[0]?.message).toContain('your code replaced the global tracer provider');
  });

  it('counts a failed fast-check property as a failed check, with the counterexample and the assertion', () => {
    const property = exercise('property');
    expect(property.status).toBe('fail');
    expect(property.tests[0]?.status).toBe('fail');
    expect(property.tests[0]?.message).toContain('Counterexample: [');
    expect(property.tests[0]?.message).toMatch(/-?\d+ \+ -?\d+: expected/);
  });

  it('finds the server an exercise needs and hands its URL to the checks', () => {
    expect(exercise('needs-redis')).toMatchObject({ status: 'pass', tests: [{ status: 'pass' }, { status: 'pass' }] });
  });

  it('remembers each verdict in .workbook/progress.json', async () => {
    const progress = JSON.parse(await readFile(path.join(workbook.root, '.workbook', 'progress.json'), 'utf8')) as {
      version: number;
      exercises: Record<string, { status: string }>;
    };
    expect(progress.version).toBe(1);
    expect(progress.exercises['passes']?.status).toBe('pass');
    expect(progress.exercises['hangs']?.status).toBe('error');
  });
});

describe('npm run check, other ways in', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  beforeAll(async () => {
    workbook = await copyWorkbook();
  });
  afterAll(() => workbook.remove());

  it('grades the reference solutions with --solutions and exits 0', async () => {
    const run = await runCli(['check', '--root', workbook.root, '--solutions', '--json']);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.status).toBe('pass');
    expect(report.summary).toEqual({ pass: 13, fail: 0, error: 0, skipped: 0 });
    expect(run.code).toBe(0);
  });

  it('prints a table by track with passed/total checks and a total', async () => {
    const run = await runCli(['check', '--root', workbook.root, '--track', 'basics']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^Basics$/m);
    expect(run.stdout).toMatch(/✓ passes\s+★\s+3\/3/);
    expect(run.stdout).toMatch(/✗ fails\s+★\s+1\/3/);
    expect(run.stdout).toMatch(/! syntax-error\s+★\s+error/);
    expect(run.stdout).not.toMatch(/^Faults$/m);
    expect(run.stdout).toContain('Total: 2 passed, 3 failed, 2 errored, 0 skipped (7 exercises)');
  });

  it('shows each failing check of a named exercise with its message', async () => {
    const run = await runCli(['check', '--root', workbook.root, 'fails', 'passes']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ fails');
    expect(run.stdout).toContain('✗ adds two numbers');
    expect(run.stdout).toContain('2 + 3: expected -1 to be 5');
    expect(run.stdout).toContain('Total: 1 passed, 1 failed, 0 errored, 0 skipped (2 exercises)');
  });

  it('exits 0 when every named exercise passes', async () => {
    const run = await runCli(['check', '--root', workbook.root, 'passes']);
    expect(run.stdout).toContain('✓ adds two numbers');
    expect(run.code).toBe(0);
  });

  it('exits 2 on an unknown id and lists the close matches', async () => {
    const run = await runCli(['check', '--root', workbook.root, 'pases']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown exercise "pases"');
    expect(run.stderr).toContain('passes');
    expect(run.stdout).toBe('');
  });

  it('exits 2 on an unknown option, with the usage', async () => {
    const run = await runCli(['check', '--root', workbook.root, '--colour']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown option --colour');
    expect(run.stderr).toContain('usage: npm run check');
  });
});

import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkbook, runCli, type CliRun } from '../support/workbook.ts';

interface JsonReport {
  version: number;
  status: string;
  exercises: { id: string; track: string; status: string; message?: string; output?: string; tests: { name: string; status: string; message?: string; output?: string }[] }[];
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
    run = await runCli(['check', '--root', workbook.root, '--track', 'basics', '--track', 'faults', '--json']);
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

/** Grader processes still alive for a workbook: none may outlive the CLI. */
function gradersOf(root: string): string[] {
  const listed = spawnSync('pgrep', ['-af', 'grader-main'], { encoding: 'utf8' }).stdout;
  return listed.split('\n').filter((line) => line.includes(root));
}

// Code that keeps a process from answering, or ends it: each is a verdict within its limit, and the CLI exits by itself.
describe('npm run check on code that hangs, floods or ends the process', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let run: CliRun;
  let report: JsonReport;
  let elapsedMs = 0;
  const exercise = (id: string): JsonReport['exercises'][number] => {
    const found = report.exercises.find((e) => e.id === id);
    if (!found) throw new Error(`no result for ${id}`);
    return found;
  };

  beforeAll(async () => {
    workbook = await copyWorkbook();
    const started = performance.now();
    run = await runCli(['check', '--root', workbook.root, '--track', 'stuck', '--json']);
    elapsedMs = performance.now() - started;
    report = JSON.parse(run.stdout) as JsonReport;
  }, 120_000);
  afterAll(() => workbook.remove());

  it('gives every exercise a verdict, exits by itself, and leaves no grader process behind', () => {
    expect(run.code).toBe(1);
    expect(report.exercises).toHaveLength(10);
    expect(gradersOf(workbook.root)).toEqual([]);
    // Each stuck file costs at most its own limit (6 s to load, 4.5 s per check) and a restart.
    expect(elapsedMs).toBeLessThan(90_000);
  });

  it('stops an infinite loop at the top of a module and names the file', () => {
    const stuck = exercise('loops-at-load');
    expect(stuck.status).toBe('error');
    expect(stuck.message).toContain(
      'your code never finished loading: an infinite loop or an await that never settles at the top of exercises/03-stuck/01-loops-at-load/code.ts?',
    );
  });

  it('stops a top-level await that never settles', () => {
    expect(exercise('awaits-at-load').message).toContain('at the top of exercises/03-stuck/02-awaits-at-load/code.ts?');
  });

  it('shows what the code printed under each failing check, and what it printed while loading', () => {
    const prints = exercise('prints');
    expect(prints.status).toBe('fail');
    expect(prints.output).toBe('loading code.ts\n');
    expect(prints.tests[0]).toMatchObject({ status: 'fail', message: '2 + 3 is -1, expected 5', output: 'add(2, 3) was called\n' });
    expect(prints.tests[1]?.output).toBe('add(-2, -3) was called\n');
  });

  it('keeps a few kilobytes of a flood of output and says how much was cut', () => {
    const output = exercise('floods').tests[0]?.output ?? '';
    expect(output.startsWith('line 0 of a flood of output\nline 1 of a flood of output\n')).toBe(true);
    expect(output.length).toBeLessThan(9_000);
    expect(output).toMatch(/\(… \d{5} more lines cut\)$/);
  });

  it('turns a throw in a timer after the last check into a verdict, with where it was thrown', () => {
    const late = exercise('late-throw');
    expect(late.status).toBe('error');
    expect(late.message).toContain('your code threw "Error: a timer went off after the checks" at exercises/03-stuck/04-late-throw/code.ts:3');
    expect(late.message).toContain('in a timer or a callback that no check was waiting for');
  });

  it('turns process.exit in a timer after the last check into a verdict', () => {
    expect(exercise('late-exit')).toMatchObject({ status: 'error', message: expect.stringContaining('your code called process.exit(3) in a timer or a callback') });
  });

  it('says when the code ended its own process, in a check or at load time', () => {
    expect(exercise('kills-itself').message).toContain('the process running your code was ended by the signal SIGKILL');
    expect(exercise('kills-at-load').message).toContain('the process running your code was ended by the signal SIGTERM');
  });

  it('passes code that leaves an interval running, and still exits', () => {
    expect(exercise('leaves-interval').status).toBe('pass');
  });

  it('stops code that fills the memory and says so', () => {
    const hoard = exercise('fills-memory');
    expect(hoard.status).toBe('error');
    expect(hoard.message).toMatch(/your code (kept running and took [\d.]+ GB of memory|used up the memory)/);
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
    expect(report.summary).toEqual({ pass: 24, fail: 0, error: 0, skipped: 0 });
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

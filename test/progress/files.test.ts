import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.ts';
import {
  BACKUPS_DIR,
  ProgressError,
  backupExercise,
  resetExercise,
  solutionDiff,
  solutionFileDiffs,
  type ExerciseSolution,
} from '../../src/progress/index.ts';
import { exerciseFiles, exerciseJson, trackJson, writeTree } from '../catalog/fixture.ts';

const run = promisify(execFile);

let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tracecraft-files-'));
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const AT = { now: () => new Date('2025-11-23T14:51:00.123Z') };
const STAMP = '2025-11-23T14-51-00.123Z';

/** A workbook with one exercise of two files, one in a sub-folder. */
async function writeWorkbook(): Promise<void> {
  await writeTree(root, {
    'exercises/01-basics/track.json': trackJson('basics'),
    ...exerciseFiles('01-basics', '01-retry', exerciseJson('retry', 'basics', { files: ['retry.ts', 'lib/delay.ts'] }), [
      'retry.ts',
      'lib/delay.ts',
    ]),
  });
}

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: root });
  return stdout;
}

async function commitAll(): Promise<void> {
  await git('init', '--quiet');
  await git('add', '.');
  await git('commit', '--quiet', '-m', 'workbook');
}

const starter = (file: string): string => path.join(root, 'exercises/01-basics/01-retry', file);

describe('backupExercise', () => {
  it('copies the learner’s files, sub-folders included, to .workbook/backups/<id>/<timestamp>/', async () => {
    await writeWorkbook();
    await fs.writeFile(starter('retry.ts'), 'my attempt\n');
    const exercise = (await loadCatalog(root)).byId('retry');
    if (!exercise) throw new Error('fixture exercise not loaded');

    const dir = await backupExercise(root, exercise, AT);
    expect(dir).toBe(path.join(root, BACKUPS_DIR, 'retry', STAMP));
    expect(await fs.readFile(path.join(dir, 'retry.ts'), 'utf8')).toBe('my attempt\n');
    expect(await fs.readFile(path.join(dir, 'lib/delay.ts'), 'utf8')).toBe('// starter lib/delay.ts\n');
  });

  it('never reuses a folder, and skips a file the learner deleted', async () => {
    await writeWorkbook();
    const exercise = { id: 'retry', files: ['retry.ts', 'lib/delay.ts'], dir: path.dirname(starter('retry.ts')) };
    const first = await backupExercise(root, exercise, AT);
    await fs.rm(starter('lib/delay.ts'));
    const second = await backupExercise(root, exercise, AT);
    expect(second).toBe(`${first}-1`);
    expect(await fs.readdir(second)).toEqual(['retry.ts']);
    expect((await fs.readdir(first)).sort()).toEqual(['lib', 'retry.ts']);
  });
});

describe('resetExercise', () => {
  it('backs up the learner’s files, then restores the versions committed in HEAD', async () => {
    await writeWorkbook();
    await commitAll();
    const exercise = (await loadCatalog(root)).byId('retry');
    if (!exercise) throw new Error('fixture exercise not loaded');
    await fs.writeFile(starter('retry.ts'), 'my attempt\n');
    await fs.rm(starter('lib/delay.ts'));

    const backupDir = await resetExercise(root, exercise, AT);
    expect(backupDir).toBe(path.join(root, BACKUPS_DIR, 'retry', STAMP));
    expect(await fs.readFile(starter('retry.ts'), 'utf8')).toBe('// starter retry.ts\n');
    expect(await fs.readFile(starter('lib/delay.ts'), 'utf8')).toBe('// starter lib/delay.ts\n');
    expect(await fs.readFile(path.join(backupDir, 'retry.ts'), 'utf8')).toBe('my attempt\n');
    expect(await git('status', '--porcelain', '--', 'exercises')).toBe('');
  });

  it('changes nothing when a file is not in HEAD, and says which file', async () => {
    await writeWorkbook();
    await commitAll();
    await fs.writeFile(starter('retry.ts'), 'my attempt\n');
    const exercise = { id: 'retry', files: ['retry.ts', 'extra.ts'], dir: path.dirname(starter('retry.ts')) };

    const error = await resetExercise(root, exercise, AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgressError);
    expect((error as Error).message).toMatch(
      /^cannot reset: failed to read exercises\/01-basics\/01-retry\/extra\.ts from git HEAD: fatal: .*extra\.ts/,
    );
    expect(await fs.readFile(starter('retry.ts'), 'utf8')).toBe('my attempt\n');
    await expect(fs.access(path.join(root, BACKUPS_DIR))).rejects.toThrow();
  });

  it('explains that the workbook must be a git repository', async () => {
    await writeWorkbook();
    const exercise = { id: 'retry', files: ['retry.ts'], dir: path.dirname(starter('retry.ts')) };
    const error = await resetExercise(root, exercise, AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgressError);
    expect((error as Error).message).toMatch(
      /^cannot reset: failed to read exercises\/01-basics\/01-retry\/retry\.ts from git HEAD: fatal: not a git repository/,
    );
  });

  it('explains when git itself cannot be found', async () => {
    await writeWorkbook();
    const exercise = { id: 'retry', files: ['retry.ts'], dir: path.dirname(starter('retry.ts')) };
    const savedPath = process.env.PATH;
    process.env.PATH = path.join(root, 'no-bin-here');
    try {
      const error = await resetExercise(root, exercise, AT).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProgressError);
      expect((error as Error).message).toMatch(/^cannot reset: git is not available \(.*ENOENT.*\)/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('solutionDiff', () => {
  function exerciseIn(files: string[]): ExerciseSolution {
    return {
      files,
      relDir: '01-basics/01-retry',
      dir: path.join(root, 'exercises/01-basics/01-retry'),
      solutionDir: path.join(root, 'solutions/01-basics/01-retry'),
    };
  }

  it('is a unified diff from the learner’s file to the solution, for each file that differs', async () => {
    await writeTree(root, {
      'exercises/01-basics/01-retry/retry.ts': 'one\ntwo\nthree\n',
      'solutions/01-basics/01-retry/retry.ts': 'one\n2\nthree\n',
      'exercises/01-basics/01-retry/same.ts': 'same\n',
      'solutions/01-basics/01-retry/same.ts': 'same\n',
      'solutions/01-basics/01-retry/deleted.ts': 'all of it\n',
    });
    const exercise = exerciseIn(['retry.ts', 'same.ts', 'deleted.ts']);
    expect(await solutionDiff(exercise)).toBe(
      [
        '===================================================================',
        '--- exercises/01-basics/01-retry/retry.ts\tyour version',
        '+++ solutions/01-basics/01-retry/retry.ts\tsolution',
        '@@ -1,3 +1,3 @@',
        ' one',
        '-two',
        '+2',
        ' three',
        '===================================================================',
        '--- exercises/01-basics/01-retry/deleted.ts\tyour version',
        '+++ solutions/01-basics/01-retry/deleted.ts\tsolution',
        '@@ -0,0 +1,1 @@',
        '+all of it',
        '',
      ].join('\n'),
    );
    const perFile = await solutionFileDiffs(exercise);
    expect(perFile.map((d) => [d.file, d.changed])).toEqual([
      ['retry.ts', true],
      ['same.ts', false],
      ['deleted.ts', true],
    ]);
  });

  it('is empty when the learner’s files equal the solution', async () => {
    await writeTree(root, {
      'exercises/01-basics/01-retry/retry.ts': 'done\n',
      'solutions/01-basics/01-retry/retry.ts': 'done\n',
    });
    expect(await solutionDiff(exerciseIn(['retry.ts']))).toBe('');
  });

  it('names the solution file it could not read', async () => {
    await writeTree(root, { 'exercises/01-basics/01-retry/retry.ts': 'x\n' });
    const error = await solutionDiff(exerciseIn(['retry.ts'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgressError);
    expect((error as Error).message).toMatch(
      /^failed to read solutions\/01-basics\/01-retry\/retry\.ts to compare it with the solution: ENOENT/,
    );
  });
});

import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.ts';
import { Grader } from '../../src/runner/grader.ts';
import { REPO_ROOT } from '../support/workbook.ts';
import { resolveFor, type ServerSetup } from '../../src/cli/servers.ts';

// What a learner does in watch mode, for every exercise: the starter fails, they save the right
// code, and the same warm grader now passes it. This catches anything a re-check would read stale.
const catalog = await loadCatalog(REPO_ROOT);

describe('watch mode, exercise by exercise', () => {
  let root: string;
  let grader: Grader;
  let servers: ServerSetup;
  beforeAll(async () => {
    servers = await resolveFor(catalog.exercises);
    root = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-watch-'));
    for (const entry of ['exercises', 'solutions', 'checker', 'package.json', 'tsconfig.json']) {
      await cp(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
    }
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    grader = new Grader({ root, target: 'exercises', testTimeoutMs: 3000, isolate: true });
    await grader.start();
  }, 60_000);
  afterAll(async () => {
    await grader.close();
    await servers.stop();
    await rm(root, { recursive: true, force: true });
  });

  it.each(catalog.exercises.map((e) => [e.id, e]))('%s: a save of the solution turns the verdict to pass', async (_id, exercise) => {
    const checker = path.join(root, 'checker', path.relative(path.join(REPO_ROOT, 'checker'), exercise.checkerFile));
    const before = await grader.run([checker], servers.env);
    expect(before.results.get(checker)?.status, 'the starter fails').toBe('fail');
    const saved = exercise.files.map((file) => path.join(root, 'exercises', exercise.relDir, file));
    for (const file of exercise.files) {
      await cp(path.join(root, 'solutions', exercise.relDir, file), path.join(root, 'exercises', exercise.relDir, file));
    }
    grader.invalidate(saved);
    const after = await grader.run([checker], servers.env);
    const result = after.results.get(checker);
    const failing = result?.tests.filter((t) => t.status !== 'pass').map((t) => `${t.name}: ${t.message ?? ''}`);
    expect(result?.status, `after the save: ${result?.message ?? ''}\n${failing?.join('\n') ?? ''}`).toBe('pass');
  });
});

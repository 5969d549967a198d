import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, copyWorkbook, REPO_ROOT } from '../support/workbook.ts';

const INSTRUMENTED = path.join(REPO_ROOT, 'test', 'fixtures', 'instrumented');

/** Gone, or a zombie that nobody reaped yet: dead all the same. */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

describe('a process a check started, when the CLI is killed mid-check', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  beforeAll(async () => {
    workbook = await copyWorkbook(INSTRUMENTED);
  });
  afterAll(() => workbook.remove());

  it('dies with the grader: the grader ends its whole process group when the CLI goes away', async () => {
    const pidFile = path.join(workbook.root, 'linger.pid');
    const cli = spawn(process.execPath, [CLI, 'check', '--root', workbook.root, '--track', 'lingers', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', LINGER_PID_FILE: pidFile },
      stdio: 'ignore',
    });
    try {
      expect(await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 30_000)).toBe(true);
      const child = Number(readFileSync(pidFile, 'utf8'));
      expect(gone(child)).toBe(false);
      // The check is still waiting (a minute): only the grader's own group kill can end the process now.
      cli.kill('SIGKILL');
      expect(await until(() => gone(child), 5_000)).toBe(true);
      const graders = spawnSync('pgrep', ['-af', 'grader-main'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(workbook.root));
      expect(graders).toEqual([]);
    } finally {
      cli.kill('SIGKILL');
    }
  }, 60_000);
});

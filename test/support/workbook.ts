import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_WORKBOOK = path.join(REPO_ROOT, 'test', 'fixtures', 'workbook');
export const CLI = path.join(REPO_ROOT, 'bin', 'tracecraft.mjs');

/**
 * A private copy of a workbook in a temp folder, so a test can edit and grade it freely.
 * node_modules is linked in, because the copied checker files resolve vitest and OpenTelemetry from there.
 */
export async function copyWorkbook(source = FIXTURE_WORKBOOK): Promise<{ root: string; remove(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-workbook-'));
  await cp(source, root, { recursive: true, filter: (src) => !/(^|[\\/])(\.workbook|node_modules)([\\/]|$)/.test(path.relative(source, src)) });
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (`node bin/tracecraft.mjs …`), as `npm run` does, and collects its output. */
export function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, NO_COLOR: '1', ...options.env }, maxBuffer: 20 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? null : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Where the code under test lives for this run. Checker files import it through `#target/…`,
 * which the runner points at exercises/ or solutions/; checks that read the source itself
 * (its import graph) need the same folder on disk.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from './contract.ts';

/** Set by the runner for every checker process: the absolute folder graded in this run. */
export const TARGET_DIR_ENV = ENV.targetDir;

/** The workbook's own folder (two levels above this module). */
const ENGINE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const TARGET_MESSAGES = {
  notRelative: (given: string) =>
    `targetFolder("${given}"): give the exercise folder as "<track>/<exercise>" (like "03-architecture/01-hexagonal"), ` +
    'relative to exercises/ and without "..".',
} as const;

/**
 * The absolute folder of `exercise` in the tree this run grades: `targetFolder('03-architecture/01-hexagonal')`
 * (a `#target/` prefix is accepted too). Outside the runner it falls back to exercises/, as package.json's
 * `#target/*` mapping does.
 */
export function targetFolder(exercise: string): string {
  const relative = exercise.replace(/^#target\//, '').replace(/[\\/]+$/, '');
  if (relative === '' || path.isAbsolute(relative) || relative.split(/[\\/]/).includes('..')) {
    throw new Error(TARGET_MESSAGES.notRelative(exercise));
  }
  const root = process.env[TARGET_DIR_ENV] || path.join(ENGINE_ROOT, 'exercises');
  return path.join(root, relative);
}

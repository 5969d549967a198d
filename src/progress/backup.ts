import fs from 'node:fs/promises';
import path from 'node:path';
import type { Exercise } from '../catalog/index.ts';
import { ProgressError, errnoCode, reasonOf } from './errors.ts';
import { WORKBOOK_DIR, fileStamp, makeFreshDir, relTo } from './files.ts';

/** `.workbook/backups/<id>/<timestamp>/<file>`: copies of the learner's files taken before a reset. */
export const BACKUPS_DIR = `${WORKBOOK_DIR}/backups`;

export const FAILED_TO_BACK_UP = (file: string, backupDir: string, reason: string): string =>
  `failed to back up ${file} to ${backupDir}/: ${reason}`;

/** What a backup or reset needs to know about an exercise. */
export type ExerciseFiles = Pick<Exercise, 'id' | 'files' | 'dir'>;

export interface BackupOptions {
  now?: () => Date;
}

/**
 * Copies the learner's files of `exercise` (its `files`, keeping sub-folders) to a new folder
 * `.workbook/backups/<id>/<timestamp>/` and returns that folder's absolute path.
 * A listed file the learner has deleted is skipped: there is nothing of theirs to keep.
 */
export async function backupExercise(root: string, exercise: ExerciseFiles, options: BackupOptions = {}): Promise<string> {
  const absRoot = path.resolve(root);
  const now = options.now ?? (() => new Date());
  const base = path.join(absRoot, BACKUPS_DIR, exercise.id, fileStamp(now()));
  let backupDir: string;
  try {
    backupDir = await makeFreshDir(base);
  } catch (error) {
    throw new ProgressError(FAILED_TO_BACK_UP(`the files of "${exercise.id}"`, relTo(absRoot, base), reasonOf(error)), {
      cause: error,
    });
  }
  for (const file of exercise.files) {
    const from = path.join(exercise.dir, file);
    const to = path.join(backupDir, file);
    try {
      if (!(await isFile(from))) continue;
      await fs.mkdir(path.dirname(to), { recursive: true });
      await fs.copyFile(from, to);
    } catch (error) {
      throw new ProgressError(FAILED_TO_BACK_UP(relTo(absRoot, from), relTo(absRoot, backupDir), reasonOf(error)), {
        cause: error,
      });
    }
  }
  return backupDir;
}

/** False when the file is not there (nothing to back up); other failures throw. */
async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

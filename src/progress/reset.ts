import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { backupExercise, type BackupOptions, type ExerciseFiles } from './backup.ts';
import { ProgressError, errnoCode, reasonOf } from './errors.ts';
import { relTo } from './files.ts';

export const GIT_NOT_AVAILABLE = (reason: string): string =>
  `cannot reset: git is not available (${reason}). Resetting restores the files committed in git; ` +
  'install git, or copy the starter files back by hand.';
export const FILE_NOT_IN_GIT = (file: string, gitMessage: string): string =>
  `cannot reset: failed to read ${file} from git HEAD: ${gitMessage}`;
export const FAILED_TO_RESTORE = (file: string, reason: string): string =>
  `failed to restore ${file} from git HEAD: ${reason}`;

/** The file's content in the commit HEAD of the repository around `root`, read with `git show`. */
export function gitShowHead(root: string, file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['show', `HEAD:./${file}`],
      { cwd: root, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if (errnoCode(error) === 'ENOENT') return reject(new ProgressError(GIT_NOT_AVAILABLE(reasonOf(error)), { cause: error }));
        const gitMessage = stderr.toString('utf8').trim().split('\n')[0] || reasonOf(error);
        reject(new ProgressError(FILE_NOT_IN_GIT(file, gitMessage), { cause: error }));
      },
    );
  });
}

/**
 * Puts the exercise's files back to their committed starter version. Every file is read from git
 * first (so a failure changes nothing), then the learner's files are backed up, then overwritten.
 * Returns the backup folder (absolute), to tell the learner where their version was kept.
 */
export async function resetExercise(root: string, exercise: ExerciseFiles, options: BackupOptions = {}): Promise<string> {
  const absRoot = path.resolve(root);
  const committed: { abs: string; rel: string; content: Buffer }[] = [];
  for (const file of exercise.files) {
    const abs = path.join(exercise.dir, file);
    const rel = relTo(absRoot, abs);
    committed.push({ abs, rel, content: await gitShowHead(absRoot, rel) });
  }

  const backupDir = await backupExercise(absRoot, exercise, options);
  for (const { abs, rel, content } of committed) {
    try {
      await fs.mkdir(path.dirname(abs), { recursive: true });
      await fs.writeFile(abs, content);
    } catch (error) {
      throw new ProgressError(FAILED_TO_RESTORE(rel, reasonOf(error)), { cause: error });
    }
  }
  return backupDir;
}

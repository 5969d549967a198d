import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Exercise } from '../catalog/index.ts';

/**
 * The exercises whose files differ from the committed starter (git status of exercises/): a learner
 * who edited a file has started the exercise, whether or not it was ever graded. Outside a git
 * repository, or without git, nothing is known to be changed.
 */
export function changedExercises(root: string, exercises: readonly Exercise[]): Promise<Set<string>> {
  return new Promise((resolve) => {
    execFile('git', ['status', '--porcelain', '--untracked-files=all', '--', 'exercises'], { cwd: root, windowsHide: true }, (error, stdout) => {
      if (error) return resolve(new Set());
      const changed = stdout
        .split('\n')
        .map((line) => line.slice(3).trim())
        .filter((file) => file.length > 0)
        .map((file) => path.resolve(root, file));
      resolve(new Set(exercises.filter((e) => changed.some((file) => file.startsWith(e.dir + path.sep))).map((e) => e.id)));
    });
  });
}

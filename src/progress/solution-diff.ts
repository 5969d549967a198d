import fs from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { EXERCISES_DIR, SOLUTIONS_DIR, type Exercise } from '../catalog/index.ts';
import { ProgressError, errnoCode, reasonOf } from './errors.ts';

export const FAILED_TO_READ_FOR_DIFF = (file: string, reason: string): string =>
  `failed to read ${file} to compare it with the solution: ${reason}`;

export type ExerciseSolution = Pick<Exercise, 'files' | 'dir' | 'solutionDir' | 'relDir'>;

export interface FileDiff {
  /** The file as listed in the exercise, `word-count.ts`. */
  file: string;
  /** A unified diff from the learner's version (`exercises/…`) to the solution (`solutions/…`). */
  patch: string;
  /** False when the learner's file already equals the solution. */
  changed: boolean;
}

/** One unified diff per file of the exercise, from the learner's version to the reference solution. */
export async function solutionFileDiffs(exercise: ExerciseSolution): Promise<FileDiff[]> {
  const diffs: FileDiff[] = [];
  for (const file of exercise.files) {
    const mine = `${EXERCISES_DIR}/${exercise.relDir}/${file}`;
    const theirs = `${SOLUTIONS_DIR}/${exercise.relDir}/${file}`;
    // A file the learner deleted compares as empty: the diff then shows the whole solution.
    const learner = await readText(path.join(exercise.dir, file), mine, true);
    const solution = await readText(path.join(exercise.solutionDir, file), theirs, false);
    const patch = createTwoFilesPatch(mine, theirs, learner, solution, 'your version', 'solution');
    diffs.push({ file, patch, changed: learner !== solution });
  }
  return diffs;
}

/** The unified diffs of every file that differs from the solution, concatenated; '' when none differ. */
export async function solutionDiff(exercise: ExerciseSolution): Promise<string> {
  const diffs = await solutionFileDiffs(exercise);
  return diffs
    .filter((d) => d.changed)
    .map((d) => d.patch)
    .join('');
}

async function readText(abs: string, shown: string, missingIsEmpty: boolean): Promise<string> {
  try {
    return await fs.readFile(abs, 'utf8');
  } catch (error) {
    if (missingIsEmpty && errnoCode(error) === 'ENOENT') return '';
    throw new ProgressError(FAILED_TO_READ_FOR_DIFF(shown, reasonOf(error)), { cause: error });
  }
}

/**
 * Grades the named wrong solutions: each one is the reference solution with the wrong files laid
 * over it, in a tree of its own that `#target/` points at. Wrong solutions are graded in rounds:
 * round i holds the i-th wrong solution of every exercise, so each round is one grader run.
 * Every wrong solution must fail at least one check by assertion; one that passes, or only
 * crashes, is a gap in its checker.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Exercise } from '../catalog/index.ts';
import type { WrongSolution } from '../catalog/wrong.ts';
import { gradeWith } from './grade.ts';
import { Grader } from './grader.ts';
import type { ExerciseResult } from './results.ts';
import { typecheckFiles } from './typecheck.ts';

export interface WrongVerdict {
  wrong: WrongSolution;
  result: ExerciseResult;
  /** Failed at least one check by assertion: the checker caught the mistake. */
  caught: boolean;
  /** The checks that failed by assertion. */
  caughtBy: string[];
  /** The compiler's errors for the wrong solution laid over its solution, when it does not type-check. */
  typeErrors?: string;
}

/** Whether a graded wrong solution was caught: a check failed its assertion (a crash proves nothing). */
export function isCaught(result: ExerciseResult): boolean {
  return result.status === 'fail' && result.tests.some((t) => t.status === 'fail');
}

/** Where the trees of one grading live, under the workbook's own state folder (git-ignored, outside node_modules). */
function treesDir(root: string): string {
  return path.join(root, '.workbook', 'wrong-trees', `${process.pid}-${Date.now().toString(36)}`);
}

/** Lays out one round: each exercise's folder is its solution with the wrong files over it. */
async function buildTree(tree: string, round: readonly { exercise: Exercise; wrong: WrongSolution }[]): Promise<void> {
  for (const { exercise, wrong } of round) {
    const folder = path.join(tree, exercise.relDir);
    await mkdir(folder, { recursive: true });
    await cp(exercise.solutionDir, folder, { recursive: true });
    for (const file of wrong.files) await cp(path.join(wrong.dir, file), path.join(folder, file));
  }
}

/** Type-checks a round's tree at once; only when that fails, exercise by exercise, to say which wrong solution it was. */
async function typecheckRound(root: string, tree: string, round: readonly { exercise: Exercise; wrong: WrongSolution }[]): Promise<Map<string, string>> {
  const filesOf = (exercise: Exercise): string[] => exercise.files.map((f) => path.join(tree, exercise.relDir, f));
  const errors = new Map<string, string>();
  const all = await typecheckFiles(root, 'wrong-round', round.flatMap(({ exercise }) => filesOf(exercise)));
  if (all?.status !== 'fail') return errors;
  for (const { exercise } of round) {
    const one = await typecheckFiles(root, `wrong-${exercise.id}`, filesOf(exercise));
    if (one?.status === 'fail') errors.set(exercise.id, one.message ?? '');
  }
  return errors;
}

export interface WrongGradeOptions {
  root: string;
  /** Also type-check each wrong solution where it is graded: laid over its solution (relative imports resolve there). */
  typecheck?: boolean;
  testTimeoutMs?: number;
  env?: Record<string, string>;
  skipped?: Map<string, string>;
  unavailable?: Map<string, string>;
}

/** Grades every listed wrong solution and says, for each, whether the checker caught it. */
export async function gradeWrongSolutions(
  wrongs: readonly { exercise: Exercise; wrong: WrongSolution }[],
  options: WrongGradeOptions,
): Promise<WrongVerdict[]> {
  const rounds: { exercise: Exercise; wrong: WrongSolution }[][] = [];
  const taken = new Map<string, number>();
  for (const item of wrongs) {
    const index = taken.get(item.exercise.id) ?? 0;
    taken.set(item.exercise.id, index + 1);
    (rounds[index] ??= []).push(item);
  }
  const base = treesDir(options.root);
  const verdicts: WrongVerdict[] = [];
  try {
    for (const [i, round] of rounds.entries()) {
      const tree = path.join(base, String(i));
      await buildTree(tree, round);
      const types = options.typecheck ? typecheckRound(options.root, tree, round) : Promise.resolve(new Map<string, string>());
      types.catch(() => undefined);
      const grader = new Grader({ root: options.root, target: 'solutions', targetDir: tree, testTimeoutMs: options.testTimeoutMs ?? 3000, isolate: true });
      try {
        const results = await gradeWith(
          grader,
          round.map((r) => r.exercise),
          { root: options.root, ...(options.env ? { env: options.env } : {}), ...(options.skipped ? { skipped: options.skipped } : {}), ...(options.unavailable ? { unavailable: options.unavailable } : {}) },
        );
        const typeErrors = await types;
        round.forEach(({ wrong }, k) => {
          const result = results[k];
          if (!result) return;
          const errors = typeErrors.get(wrong.exerciseId);
          verdicts.push({
            wrong,
            result,
            caught: isCaught(result),
            caughtBy: result.tests.filter((t) => t.status === 'fail').map((t) => t.name),
            ...(errors === undefined ? {} : { typeErrors: errors }),
          });
        });
      } finally {
        await grader.close();
      }
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  return verdicts;
}

import path from 'node:path';
import type { Exercise } from '../catalog/index.ts';
import { Grader, type RunOutcome } from './grader.ts';
import type { Target } from './target-plugin.ts';
import type { ExerciseResult, ModuleResult, TestResult } from './results.ts';
import { typecheckExercise } from './typecheck.ts';
import { describeFault } from './faults.ts';

export interface GradeOptions {
  root: string;
  target: Target;
  /** Per-check limit for a promise that never settles. */
  testTimeoutMs?: number;
  /** Trade isolation between exercises for speed (bulk runs of the reference solutions). */
  isolate?: boolean;
  /** Exercises to report as skipped, with the reason (a server that could not be found). */
  skipped?: Map<string, string>;
  /**
   * Exercises whose servers could not be found where every server is required (CI,
   * TRACECRAFT_REQUIRE_SERVERS): an `error` with the reason, and no check is run.
   */
  unavailable?: Map<string, string>;
  /** Extra environment for the checker processes (resolved server URLs). */
  env?: Record<string, string>;
  /** Also type-check the learner's files, reported as one more check. */
  typecheck?: boolean;
}

export const DEFAULT_TEST_TIMEOUT_MS = 3000;

/** Where every server must be found (CI), a missing one is an error, not a skip. */
export const SERVERS_REQUIRED = (reason: string): string =>
  `${reason}\n(TRACECRAFT_REQUIRE_SERVERS is set: here every server must be found, so this exercise is an error instead of skipped)`;

/** Adds the type check to an exercise's checks; a type error fails an exercise whose checks all pass. */
export function withTypecheck(result: ExerciseResult, typecheck: TestResult | undefined): ExerciseResult {
  // Code that does not even load already has its verdict (the compiler would only repeat it).
  if (!typecheck || result.status === 'error' || result.status === 'skipped') return result;
  const status = result.status === 'pass' && typecheck.status !== 'pass' ? 'fail' : result.status;
  return { ...result, status, tests: [...result.tests, typecheck] };
}

/** Type-checks exercises one after another (beside the checks, which use the other core). */
async function typecheckAll(root: string, exercises: readonly Exercise[]): Promise<Map<string, TestResult | undefined>> {
  const results = new Map<string, TestResult | undefined>();
  for (const exercise of exercises) results.set(exercise.id, await typecheckExercise(root, exercise));
  return results;
}

/** Ties a checker file's result to its exercise, and the run's unhandled errors to their file. */
export function exerciseResult(
  exercise: Exercise,
  module: ModuleResult | undefined,
  unhandled: readonly { file: string | undefined; message: string }[],
): ExerciseResult {
  const base = { id: exercise.id, track: exercise.track };
  if (!module) return { ...base, status: 'error', message: 'the checker did not report a result', tests: [] };
  if (module.fault) {
    const message = describeFault(module.fault, exercise.files.map((f) => path.posix.join('exercises', exercise.relDir, f)));
    return { ...base, status: 'error', message, tests: module.tests.map((t) => (t.status === 'error' && !t.message ? { ...t, message } : t)), durationMs: module.durationMs };
  }
  const mine = unhandled.filter((u) => u.file !== undefined && path.resolve(u.file) === path.resolve(exercise.checkerFile));
  if (mine.length > 0 && module.status !== 'error') {
    const message = [...new Set(mine.map((u) => u.message))].join('\n');
    return { ...base, status: 'error', message, tests: module.tests, durationMs: module.durationMs, ...(module.output ? { output: module.output } : {}) };
  }
  const result: ExerciseResult = { ...base, status: module.status, tests: module.tests, durationMs: module.durationMs };
  if (module.message) result.message = module.message;
  if (module.output) result.output = module.output;
  return result;
}

export function createGrader(options: Pick<GradeOptions, 'root' | 'target' | 'testTimeoutMs' | 'isolate'>): Grader {
  return new Grader({
    root: options.root,
    target: options.target,
    testTimeoutMs: options.testTimeoutMs ?? DEFAULT_TEST_TIMEOUT_MS,
    isolate: options.isolate ?? true,
  });
}

/**
 * Grades exercises with a grader that stays up (watch mode, or a run the caller closes), and
 * returns their results in the given order: the one grading path of `check` and `learn`.
 * The type check runs beside the checks. Rejects only when the grader cannot start.
 */
export async function gradeWith(grader: Grader, exercises: readonly Exercise[], options: Omit<GradeOptions, 'target' | 'isolate' | 'testTimeoutMs'>): Promise<ExerciseResult[]> {
  const toRun = exercises.filter((e) => !options.skipped?.has(e.id) && !options.unavailable?.has(e.id));
  const typechecks = options.typecheck ? typecheckAll(options.root, toRun) : Promise.resolve(new Map<string, TestResult | undefined>());
  // A grader that cannot start must not leave the type check's promise unobserved.
  typechecks.catch(() => undefined);
  const outcome: RunOutcome =
    toRun.length > 0 ? await grader.run(toRun.map((e) => path.resolve(e.checkerFile)), options.env) : { results: new Map(), unhandled: [] };
  const types = await typechecks;
  return exercises.map((exercise) => {
    const skip = options.skipped?.get(exercise.id);
    if (skip !== undefined) return { id: exercise.id, track: exercise.track, status: 'skipped', message: skip, tests: [] };
    const missing = options.unavailable?.get(exercise.id);
    if (missing !== undefined) return { id: exercise.id, track: exercise.track, status: 'error', message: SERVERS_REQUIRED(missing), tests: [] };
    const result = exerciseResult(exercise, outcome.results.get(path.resolve(exercise.checkerFile)), outcome.unhandled);
    return withTypecheck(result, types.get(exercise.id));
  });
}

/**
 * Grades exercises once and returns their results in catalog order. Pass a grader that was
 * started early to overlap its start-up with the caller's own work; otherwise one is made here.
 * The grader is closed at the end either way.
 */
export async function gradeOnce(exercises: readonly Exercise[], options: GradeOptions, started?: Grader): Promise<ExerciseResult[]> {
  const grader = started ?? createGrader(options);
  // An exercise on a server loads an instrumented client (pg, ioredis, amqplib) that must load after
  // its instrumentation, in a thread where no other exercise loaded it first: it never shares one.
  const apart = grader.isolated ? [] : exercises.filter((e) => e.servers.length > 0);
  try {
    const shared = await gradeWith(grader, exercises.filter((e) => !apart.includes(e)), options);
    const own = apart.length > 0 ? await gradeOnce(apart, { ...options, isolate: true }) : [];
    const byId = new Map([...shared, ...own].map((result) => [result.id, result]));
    return exercises.map((exercise) => byId.get(exercise.id) as ExerciseResult);
  } finally {
    await grader.close();
  }
}

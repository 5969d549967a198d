import type { TraceTree } from '../trace/model.ts';

/** A check passed, failed an assertion, or could not finish (the learner's code threw, hung or exited). */
export type TestStatus = 'pass' | 'fail' | 'error';
/** `error`: the checks could not run at all (syntax error, throw at import, crash); `skipped`: a server is missing. */
export type ExerciseStatus = 'pass' | 'fail' | 'error' | 'skipped';

export interface TestResult {
  name: string;
  status: TestStatus;
  message?: string;
  /** The traces the learner's code recorded during this check, for drawing. */
  traces?: TraceTree[];
  durationMs?: number;
}

export interface ExerciseResult {
  id: string;
  track: string;
  status: ExerciseStatus;
  /** Why the exercise as a whole errored or was skipped. */
  message?: string;
  tests: TestResult[];
  durationMs?: number;
}

/** What one checker file produced, before it is tied to an exercise of the catalog. */
export interface ModuleResult {
  file: string;
  status: Exclude<ExerciseStatus, 'skipped'>;
  message?: string;
  tests: TestResult[];
  durationMs: number;
}

import type { FailureDetails } from '../checks/contract.ts';
import type { TraceTree } from '../trace/model.ts';

/** A check passed, failed an assertion, or could not finish (the learner's code threw, hung or exited). */
export type TestStatus = 'pass' | 'fail' | 'error';
/** `error`: the checks could not run at all (syntax error, throw at import, crash); `skipped`: a server is missing. */
export type ExerciseStatus = 'pass' | 'fail' | 'error' | 'skipped';

/** What the learner's code wrote to the console, capped: what was cut is counted. */
export interface CapturedOutput {
  text: string;
  cutChars: number;
  cutLines: number;
}

export interface TestResult {
  name: string;
  status: TestStatus;
  /** In words: what was expected and what happened (plain text). */
  message?: string;
  /** The structured failure, when it has a picture the CLI draws at its own width. */
  failure?: FailureDetails;
  /** The traces the learner's code recorded during this check, for drawing. */
  traces?: TraceTree[];
  /** What the learner's code printed during this check. */
  output?: CapturedOutput;
  durationMs?: number;
}

/**
 * Something that kept a checker file from answering, found by the grader rather than by a check.
 * The grade layer words it, naming the exercise's own files.
 */
export type Fault =
  | { kind: 'stuck-loading'; ms: number }
  | { kind: 'stuck-check'; test: string | undefined; ms: number }
  | { kind: 'killed'; signal: string }
  | { kind: 'out-of-memory'; memoryMb?: number }
  | { kind: 'crashed'; detail: string }
  | { kind: 'interrupted' };

export interface ExerciseResult {
  id: string;
  track: string;
  status: ExerciseStatus;
  /** Why the exercise as a whole errored or was skipped. */
  message?: string;
  /** What the learner's code printed while it loaded, outside any check. */
  output?: CapturedOutput;
  tests: TestResult[];
  durationMs?: number;
}

/** What one checker file produced, before it is tied to an exercise of the catalog. */
export interface ModuleResult {
  file: string;
  status: Exclude<ExerciseStatus, 'skipped'>;
  message?: string;
  /** Set when the grader, not a check, ended the file (see Fault). */
  fault?: Fault;
  output?: CapturedOutput;
  tests: TestResult[];
  durationMs: number;
}

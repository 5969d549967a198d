/**
 * The contract between the checks (running in vitest's workers) and the grader that reads their
 * results: where each test's data travels, which errors mean "a check failed" rather than "the
 * learner's code crashed", and the environment the grader hands to every checker process.
 * Both sides import this module; nothing else spells these names.
 */
import type { TraceTree } from '../trace/model.ts';
import type { FailureView } from '../trace/failure-view.ts';

/** Keys of a test's `task.meta`, where the harness leaves what the CLI needs to draw. */
export const META = {
  /** The traces the learner's code recorded during the check: `TraceTree[]`. */
  traces: 'tracecraftTraces',
} as const;

/** What the harness writes into a test's meta. */
export interface CheckMeta {
  [META.traces]?: TraceTree[];
}

/** Environment variables the grader sets for the checker processes. */
export const ENV = {
  /** The absolute folder `#target/` points at in this run (exercises/, solutions/ or a wrong solution's tree). */
  targetDir: 'TRACECRAFT_TARGET_DIR',
  /** Set to `1` on the project's own machines and in CI: a server that cannot be found fails instead of skipping. */
  requireServers: 'TRACECRAFT_REQUIRE_SERVERS',
} as const;

/**
 * The marker on every error that means "the check's expectation was not met". The runner counts
 * an error carrying it as a failed check (`fail`); any other error is the learner's code failing
 * to finish (`error`). It is an own property, so it survives vitest's serialization of errors.
 */
export const FAILED_CHECK = 'tracecraftFailedCheck';

/** The structured form of a failure, drawn by the CLI at the learner's terminal width. */
export type FailureDetails = FailureView;

export interface MarkedError {
  [FAILED_CHECK]: true;
  /** Present when the failure has a picture to draw (a trace mismatch). */
  details?: FailureDetails;
}

/**
 * A check's expectation was not met. `message` says in words what was expected and what
 * happened; `details` carries what the CLI draws (two trees, the first difference).
 */
export class CheckFailure extends Error implements MarkedError {
  override readonly name = 'CheckFailure';
  readonly [FAILED_CHECK] = true as const;
  readonly details?: FailureDetails;

  constructor(message: string, details?: FailureDetails) {
    super(message);
    if (details !== undefined) this.details = details;
  }
}

/** True for a serialized (or live) error that carries the failed-check marker. */
export function isMarkedFailure(error: unknown): error is MarkedError {
  return typeof error === 'object' && error !== null && (error as Record<string, unknown>)[FAILED_CHECK] === true;
}

/**
 * The checker itself is wrong (an exercise author's mistake, such as instrumentation loaded too
 * late), not the learner's code: the runner says so instead of blaming the learner.
 */
export class AuthorError extends Error {
  override readonly name = 'AuthorError';
}

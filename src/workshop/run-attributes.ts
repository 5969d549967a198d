/**
 * What a graded run looks like as OpenTelemetry data: the span `check <exercise-id>` that the
 * workshop export sends and the trace file holds, and that the results report reads back from a
 * Collector's file. One list of names for the writer (run-spans.ts) and the reader (report-input.ts).
 * The README's "Running a workshop" section shows the same list to learners: change both together.
 */

/** The instrumentation scope (and `service.name`) of the run spans. */
export const RUN_SCOPE = 'tracecraft';

/** `check first-span`: one span per graded run of one exercise. */
export const RUN_SPAN_PREFIX = 'check ';

export const RUN_ATTRIBUTES = {
  learner: 'tracecraft.learner',
  exercise: 'tracecraft.exercise.id',
  track: 'tracecraft.exercise.track',
  /** The learner had opened the exercise or edited its files (an untouched starter fails, but is not started). */
  started: 'tracecraft.exercise.started',
  /** `pass`, `fail`, `error` or `skipped`, as in `check --json`. */
  verdict: 'tracecraft.verdict',
  passed: 'tracecraft.checks.passed',
  total: 'tracecraft.checks.total',
  /** The name of the first check that did not pass. */
  firstFailed: 'tracecraft.checks.first_failed',
  /** The names of every check that did not pass, in order. */
  failed: 'tracecraft.checks.failed',
  /** How many of the learner's traces the checks recorded in this run. */
  traces: 'tracecraft.traces',
  /** `check` or `learn`. */
  command: 'tracecraft.command',
  /** The workshop's title, when a workshop file selected the exercises. */
  workshop: 'tracecraft.workshop',
} as const;

/** On each link from a run span to a trace of the learner's: the check that recorded it. */
export const LINK_CHECK = 'tracecraft.check.name';

/** Resource attributes besides `service.name` and `service.version`. */
export const RESOURCE_LEARNER = 'tracecraft.learner';

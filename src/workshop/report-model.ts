/**
 * The results report as data: where a room of learners stands, per exercise and per learner.
 * `aggregate(runs, options)` is pure: the terminal table (report-table.ts) and the HTML page draw
 * the same `WorkshopReport`. The runs come from `check --json` files or from OTLP JSON as a
 * Collector's file exporter writes it (report-input.ts); both give the same `GradedRun`s.
 *
 * What a learner's state on an exercise means, from their latest run of it:
 * - `passed`: the latest run passed every check;
 * - `stuck`: the latest run did not pass, and the learner has started the exercise (opened it in
 *   `learn` or edited its files; a run that does not say counts as started);
 * - `not-started`: every run was of the untouched starter (a `check` of everything fails those too);
 * - `skipped`: the latest run was skipped, a server the checks need was missing on that machine;
 * - `no-result`: the learner has no run of it.
 */
import type { ExerciseStatus } from '../runner/results.ts';

/** The version of the WorkshopReport shape; bump it when a field changes meaning. */
export const REPORT_VERSION = 1;

/** One graded run of one exercise by one learner, whichever format it was read from. */
export interface GradedRun {
  learner: string;
  exercise: string;
  /** The track's id, when the source says. */
  track: string | undefined;
  verdict: ExerciseStatus;
  /** Checks that passed, and all checks of the run. */
  passed: number;
  total: number;
  /** The names of the checks that did not pass, in order. */
  failed: string[];
  /** The learner had opened the exercise or edited its files; undefined when the source does not say. */
  started: boolean | undefined;
  /** When it was graded, epoch ms; undefined when the source does not say. */
  at: number | undefined;
  /** Where it was read from, `file` or `file:line`, for messages. */
  source: string;
}

export type LearnerState = 'passed' | 'stuck' | 'not-started' | 'skipped' | 'no-result';

/** One learner on one exercise. */
export interface LearnerExercise {
  exercise: string;
  state: LearnerState;
  /** How many runs of it the learner has (every save in `learn` is one). */
  runs: number;
  /** The latest run; undefined for `no-result`. */
  latest: GradedRun | undefined;
}

export interface ExerciseSummary {
  id: string;
  track: string | undefined;
  /** Learners with at least one run of it. */
  learners: number;
  passed: number;
  stuck: number;
  notStarted: number;
  skipped: number;
  /**
   * The check that fails for the most stuck learners (in their latest run), and for how many;
   * undefined when nobody is stuck. Of checks failing for as many learners, the first in alphabetical order.
   */
  mostFailing: { check: string; learners: number } | undefined;
}

export interface LearnerSummary {
  name: string;
  runs: number;
  /** Exercises of the report the learner passes. */
  passed: number;
  /** The exercises the learner is stuck on, in the report's order. */
  stuck: string[];
  /** The learner's most recent run (by time, else the last one read). */
  lastRun: GradedRun | undefined;
  /** One entry per exercise of the report, in the report's order. */
  exercises: LearnerExercise[];
}

export interface WorkshopReport {
  version: typeof REPORT_VERSION;
  /** The workshop's title, when the report was made for one. */
  title: string | undefined;
  /** In the order given (the workshop's, or the workbook's), then any others found in the runs. */
  exercises: ExerciseSummary[];
  /** By name. */
  learners: LearnerSummary[];
  /** How many runs were read. */
  runs: number;
}

export interface AggregateOptions {
  title?: string | undefined;
  /** The exercises to report on, in order, with their tracks; exercises found only in the runs are added after them. */
  exercises?: readonly { id: string; track: string }[];
}

/** Later wins: by time when both runs say, else the one read last. */
function isLater(run: GradedRun, than: GradedRun): boolean {
  if (run.at !== undefined && than.at !== undefined) return run.at >= than.at;
  return true;
}

function stateOf(runs: readonly GradedRun[], latest: GradedRun | undefined): LearnerState {
  if (!latest) return 'no-result';
  if (latest.verdict === 'pass') return 'passed';
  if (latest.verdict === 'skipped') return 'skipped';
  return runs.every((r) => r.started === false) ? 'not-started' : 'stuck';
}

function mostFailing(stuck: readonly GradedRun[]): ExerciseSummary['mostFailing'] {
  const counts = new Map<string, number>();
  for (const run of stuck) for (const check of new Set(run.failed)) counts.set(check, (counts.get(check) ?? 0) + 1);
  let best: ExerciseSummary['mostFailing'];
  for (const [check, learners] of counts) {
    if (!best || learners > best.learners || (learners === best.learners && check.localeCompare(best.check) < 0)) best = { check, learners };
  }
  return best;
}

export function aggregate(runs: readonly GradedRun[], options: AggregateOptions = {}): WorkshopReport {
  const order = new Map<string, string | undefined>();
  for (const e of options.exercises ?? []) order.set(e.id, e.track);
  for (const run of runs) if (!order.has(run.exercise)) order.set(run.exercise, run.track);
  // learner → exercise → runs, in the order read
  const byLearner = new Map<string, Map<string, GradedRun[]>>();
  for (const run of runs) {
    const exercises = byLearner.get(run.learner) ?? new Map<string, GradedRun[]>();
    exercises.set(run.exercise, [...(exercises.get(run.exercise) ?? []), run]);
    byLearner.set(run.learner, exercises);
  }
  const learners: LearnerSummary[] = [...byLearner.keys()]
    .sort((a, b) => a.localeCompare(b))
    .map((name) => {
      const mine = byLearner.get(name) ?? new Map<string, GradedRun[]>();
      const exercises = [...order.keys()].map((exercise): LearnerExercise => {
        const list = mine.get(exercise) ?? [];
        const latest = list.reduce<GradedRun | undefined>((best, run) => (best === undefined || isLater(run, best) ? run : best), undefined);
        return { exercise, state: stateOf(list, latest), runs: list.length, latest };
      });
      const all = [...mine.values()].flat();
      return {
        name,
        runs: all.length,
        passed: exercises.filter((e) => e.state === 'passed').length,
        stuck: exercises.filter((e) => e.state === 'stuck').map((e) => e.exercise),
        lastRun: all.reduce<GradedRun | undefined>((best, run) => (best === undefined || isLater(run, best) ? run : best), undefined),
        exercises,
      };
    });
  const exercises = [...order].map(([id, track], i): ExerciseSummary => {
    const states = learners.map((l) => l.exercises[i]).filter((e): e is LearnerExercise => e !== undefined);
    const count = (state: LearnerState): number => states.filter((s) => s.state === state).length;
    const stuckRuns = states.filter((s) => s.state === 'stuck').flatMap((s) => (s.latest ? [s.latest] : []));
    return {
      id,
      track: track ?? states.find((s) => s.latest?.track !== undefined)?.latest?.track,
      learners: states.filter((s) => s.state !== 'no-result').length,
      passed: count('passed'),
      stuck: count('stuck'),
      notStarted: count('not-started'),
      skipped: count('skipped'),
      mostFailing: mostFailing(stuckRuns),
    };
  });
  return { version: REPORT_VERSION, title: options.title, exercises, learners, runs: runs.length };
}

/**
 * The results report in the terminal: a table per exercise (how many passed, how many are stuck,
 * the check most often failing) and one per learner. Drawn from a WorkshopReport (report-model.ts).
 */
import { padEnd, plain, visibleLength, type Paint } from '../trace/paint.ts';
import type { ExerciseSummary, LearnerSummary, WorkshopReport } from './report-model.ts';

export const TABLE_TEXT = {
  heading: (title: string | undefined, learners: number, runs: number) =>
    `${title ?? 'Workshop results'}: ${learners} learner${learners === 1 ? '' : 's'}, ${runs} graded run${runs === 1 ? '' : 's'}`,
  exerciseColumns: ['exercise', 'passed', 'stuck', 'not started', 'most often failing (stuck learners)'],
  learnerColumns: ['learner', 'passed', 'stuck on', 'last run'],
  skippedNote: (count: number) => `${count} skipped (a server was missing)`,
  nobody: 'No results: give the files `check --json` wrote, or the OTLP JSON a Collector wrote.',
  none: '-',
} as const;

/** Lays rows out in columns, each as wide as its widest cell; the last column is not padded. */
function columns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : padEnd(cell, (widths[i] ?? 0) + 2))).join('').trimEnd());
}

function clip(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  // Cells are plain text before they are painted, so clipping the plain text keeps escapes whole.
  return `${line.slice(0, Math.max(0, width - 1))}…`;
}

function exerciseRow(e: ExerciseSummary, learners: number): string[] {
  const failing = e.mostFailing ? `${e.mostFailing.check} (${e.mostFailing.learners})` : TABLE_TEXT.none;
  const skipped = e.skipped > 0 ? `  ${TABLE_TEXT.skippedNote(e.skipped)}` : '';
  return [e.id, `${e.passed}/${learners}`, String(e.stuck), String(e.notStarted), `${failing}${skipped}`];
}

function lastRunText(l: LearnerSummary): string {
  const run = l.lastRun;
  if (!run) return TABLE_TEXT.none;
  const mark = run.verdict === 'pass' ? '✓' : run.verdict === 'skipped' ? '-' : '✗';
  const time = run.at === undefined ? '' : ` ${new Date(run.at).toLocaleString()}`;
  return `${run.exercise} ${mark}${time}`;
}

function learnerRow(l: LearnerSummary, exercises: number): string[] {
  return [l.name, `${l.passed}/${exercises}`, l.stuck.length > 0 ? l.stuck.join(', ') : TABLE_TEXT.none, lastRunText(l)];
}

/**
 * A table: the header in bold, then one line per row, red when someone is stuck, green when
 * everyone passed. Laid out and cut to `width` as plain text, painted last, so escapes never count.
 */
function table(header: readonly string[], rows: readonly { cells: string[]; stuck: boolean; done: boolean }[], width: number, p: Paint): string[] {
  const laid = columns([[...header], ...rows.map((r) => r.cells)]).map((line) => clip(line, width));
  return laid.map((line, i) => {
    const row = rows[i - 1];
    if (!row) return p.bold(line);
    return row.stuck ? p.red(line) : row.done ? p.green(line) : line;
  });
}

/** The report as terminal text, `width` columns wide (long lines are cut, with …). */
export function formatReport(report: WorkshopReport, p: Paint = plain, width = 120): string {
  if (report.learners.length === 0) return TABLE_TEXT.nobody;
  const learners = report.learners.length;
  const exercises = report.exercises.map((e) => ({ cells: exerciseRow(e, learners), stuck: e.stuck > 0, done: e.passed === learners }));
  const people = report.learners.map((l) => ({ cells: learnerRow(l, report.exercises.length), stuck: l.stuck.length > 0, done: l.passed === report.exercises.length }));
  return [
    p.bold(TABLE_TEXT.heading(report.title, learners, report.runs)),
    '',
    ...table(TABLE_TEXT.exerciseColumns, exercises, width, p),
    '',
    ...table(TABLE_TEXT.learnerColumns, people, width, p),
  ].join('\n');
}

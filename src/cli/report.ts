import type { Catalog, Exercise } from '../catalog/index.ts';
import type { ExerciseResult, ExerciseStatus, TestResult } from '../runner/results.ts';
import { renderTraces } from '../trace/render.ts';
import { padEnd, plain, type Paint } from '../trace/paint.ts';

const STATUS_MARK: Record<ExerciseStatus, string> = { pass: '✓', fail: '✗', error: '!', skipped: '-' };

export function stars(difficulty: number): string {
  return '★'.repeat(difficulty);
}

function colourStatus(status: ExerciseStatus | TestResult['status'], text: string, p: Paint): string {
  if (status === 'pass') return p.green(text);
  if (status === 'fail') return p.red(text);
  if (status === 'error') return p.yellow(text);
  return p.dim(text);
}

function passedOf(result: ExerciseResult): string {
  if (result.status === 'skipped') return 'skipped';
  if (result.tests.length === 0) return result.status === 'error' ? 'error' : '-';
  const passed = result.tests.filter((t) => t.status === 'pass').length;
  return `${passed}/${result.tests.length}${result.status === 'error' ? ' error' : ''}`;
}

export interface Summary {
  pass: number;
  fail: number;
  error: number;
  skipped: number;
}

export function summarize(results: readonly ExerciseResult[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, error: 0, skipped: 0 };
  for (const result of results) summary[result.status]++;
  return summary;
}

export function overallStatus(results: readonly ExerciseResult[]): 'pass' | 'fail' | 'error' {
  if (results.some((r) => r.status === 'error')) return 'error';
  if (results.some((r) => r.status === 'fail')) return 'fail';
  return 'pass';
}

/** The progress table: one line per exercise, grouped by track, then the totals. */
export function formatTable(catalog: Catalog, results: readonly ExerciseResult[], p: Paint = plain): string {
  const byId = new Map(results.map((r) => [r.id, r]));
  const idWidth = Math.max(...results.map((r) => r.id.length)) + 2;
  const lines: string[] = [];
  for (const track of catalog.tracks) {
    const rows = catalog.inTrack(track.id).filter((e) => byId.has(e.id));
    if (rows.length === 0) continue;
    lines.push(p.bold(track.title));
    for (const exercise of rows) {
      const result = byId.get(exercise.id);
      if (!result) continue;
      const mark = colourStatus(result.status, STATUS_MARK[result.status], p);
      lines.push(`  ${mark} ${padEnd(exercise.id, idWidth)}${padEnd(p.dim(stars(exercise.difficulty)), 6)}${colourStatus(result.status, passedOf(result), p)}`);
    }
    lines.push('');
  }
  lines.push(formatSummary(results, p));
  return lines.join('\n');
}

export function formatSummary(results: readonly ExerciseResult[], p: Paint = plain): string {
  const s = summarize(results);
  const parts = [
    p.green(`${s.pass} passed`),
    s.fail > 0 ? p.red(`${s.fail} failed`) : `${s.fail} failed`,
    s.error > 0 ? p.yellow(`${s.error} errored`) : `${s.error} errored`,
    `${s.skipped} skipped`,
  ];
  return `${p.bold('Total:')} ${parts.join(', ')} (${results.length} exercise${results.length === 1 ? '' : 's'})`;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? by + line : line))
    .join('\n');
}

/** One exercise in detail: every check with its verdict, failures with their message, and the learner's trace. */
export function formatDetails(exercise: Exercise, result: ExerciseResult, p: Paint = plain, options: { alwaysTrace?: boolean } = {}): string {
  const lines: string[] = [];
  const mark = colourStatus(result.status, STATUS_MARK[result.status], p);
  lines.push(`${mark} ${p.bold(exercise.id)} ${p.dim(`— ${exercise.title} (${exercise.trackTitle}, ${stars(exercise.difficulty)})`)}  ${colourStatus(result.status, passedOf(result), p)}`);
  if (result.message) lines.push('', indent(colourStatus(result.status, result.message, p), '  '));
  for (const test of result.tests) {
    lines.push(`  ${colourStatus(test.status, STATUS_MARK[test.status], p)} ${test.name}`);
    if (test.status !== 'pass' && test.message) lines.push(indent(test.message, '      '), '');
  }
  const shown = traceToShow(result, options.alwaysTrace ?? false);
  if (shown?.traces) {
    lines.push(p.bold(`  your trace, from "${shown.name}":`));
    lines.push(indent(renderTraces(shown.traces, { paint: p }).join('\n'), '    '), '');
  }
  return lines.join('\n');
}

/**
 * The learner's trace worth drawing under the verdict: the first failing check's, unless its
 * message already draws it; with `always`, the first passing check's trace when nothing failed.
 */
function traceToShow(result: ExerciseResult, always: boolean): TestResult | undefined {
  const hasTrace = (t: TestResult): boolean => (t.traces?.length ?? 0) > 0;
  const failing = result.tests.find((t) => t.status !== 'pass' && hasTrace(t));
  if (failing) return (failing.message ?? '').includes('your trace') ? undefined : failing;
  return always ? result.tests.find(hasTrace) : undefined;
}

/** The machine-readable result, in the spirit of Exercism's test-runner results. */
export interface JsonReport {
  version: 1;
  status: 'pass' | 'fail' | 'error';
  exercises: {
    id: string;
    track: string;
    status: ExerciseStatus;
    message?: string;
    tests: { name: string; status: TestResult['status']; message?: string }[];
  }[];
  summary: Summary;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const strip = (text: string): string => text.replace(ANSI, '');

export function toJson(results: readonly ExerciseResult[]): JsonReport {
  return {
    version: 1,
    status: overallStatus(results),
    exercises: results.map((r) => ({
      id: r.id,
      track: r.track,
      status: r.status,
      ...(r.message ? { message: strip(r.message) } : {}),
      tests: r.tests.map((t) => ({ name: t.name, status: t.status, ...(t.message ? { message: strip(t.message) } : {}) })),
    })),
    summary: summarize(results),
  };
}

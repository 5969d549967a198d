import type { Catalog, Exercise } from '../catalog/index.ts';
import { stripVTControlCharacters } from 'node:util';
import type { CapturedOutput, ExerciseResult, ExerciseStatus, TestResult } from '../runner/results.ts';
import { renderTraces } from '../trace/render.ts';
import { renderFailureSummary, renderFailureView } from '../trace/failure-render.ts';
import { padEnd, plain, type Paint } from '../trace/paint.ts';
import { clipLine, indent, wrapText } from './layout.ts';

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
  // Why exercises were skipped, and the commands that provide what is missing: each distinct reason once.
  const reasons = [...new Set(results.filter((r) => r.status === 'skipped' && r.message).map((r) => r.message ?? ''))];
  for (const reason of reasons) {
    const ids = results.filter((r) => r.status === 'skipped' && r.message === reason).map((r) => r.id);
    lines.push(p.dim(`${DETAIL_TEXT.skippedBecause(ids)}`), ...reason.split('\n').map((l) => `  ${l}`), '');
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

export const DETAIL_TEXT = {
  skippedBecause: (ids: readonly string[]) => `Skipped ${ids.join(', ')}:`,
  output: 'your code printed:',
  outputWhileLoading: 'your code printed while it loaded:',
  outputCut: (lines: number, chars: number) => `(… ${lines > 0 ? `${lines} more line${lines === 1 ? '' : 's'}` : `${chars} more characters`} cut)`,
  traceFrom: (name: string) => `your trace, from "${name}":`,
  moreTraces: (count: number, how: string) => `(${count} more failing check${count === 1 ? '' : 's'} recorded a trace: ${how})`,
} as const;

/** Lines of the learner's output shown under a failing check; the rest is one flag away in --json. */
const OUTPUT_LINES = 12;

export interface DetailOptions {
  /** Columns to lay the details out in. Default 120. */
  width?: number;
  /** Draw a trace even when every check passed (learn, after a pass). */
  alwaysTrace?: boolean;
  /** Draw the trace of every failing check, not only the first one. */
  allTraces?: boolean;
  /** How the learner asks for the traces not drawn: "press t", "add --traces". */
  moreTraces?: string;
}

/** What the learner's code printed, capped to a few lines, with how much was cut. */
export function formatOutput(output: CapturedOutput, title: string, p: Paint = plain): string[] {
  const lines = output.text.replace(/\n$/, '').split('\n');
  const shown = lines.slice(0, OUTPUT_LINES);
  const hiddenLines = lines.length - shown.length + output.cutLines;
  const cut = hiddenLines > 0 || output.cutChars > 0 ? [p.dim(DETAIL_TEXT.outputCut(hiddenLines, output.cutChars))] : [];
  return [p.dim(title), ...shown.map((line) => `${p.dim('│')} ${line}`), ...cut];
}

/** One exercise in detail: every check with its verdict, failures in words, the learner's output, and one trace. */
export function formatDetails(exercise: Exercise, result: ExerciseResult, p: Paint = plain, options: DetailOptions = {}): string {
  const width = options.width ?? 120;
  const lines: string[] = [];
  const mark = colourStatus(result.status, STATUS_MARK[result.status], p);
  lines.push(`${mark} ${p.bold(exercise.id)} ${p.dim(`— ${exercise.title} (${exercise.trackTitle}, ${stars(exercise.difficulty)})`)}  ${colourStatus(result.status, passedOf(result), p)}`);
  if (result.message) lines.push('', ...indent(wrapText(colourStatus(result.status, result.message, p), width - 2), '  '));
  if (result.output && result.status !== 'pass') lines.push('', ...indent(formatOutput(result.output, DETAIL_TEXT.outputWhileLoading, p), '  '));
  // One picture per screen: the first failure that has one draws it, the others say what differs.
  let drawn = false;
  for (const test of result.tests) {
    lines.push(`  ${colourStatus(test.status, STATUS_MARK[test.status], p)} ${test.name}`);
    if (test.status === 'pass') continue;
    const body: string[] = [];
    if (test.failure && !drawn) {
      body.push(...renderFailureView(test.failure, { paint: p, width: width - 6 }).flatMap((line) => fitLine(line, width - 6)));
      drawn = true;
    } else if (test.failure) {
      body.push(...renderFailureSummary(test.failure, p).flatMap((line) => wrapText(line, width - 6)));
    } else if (test.message) {
      body.push(...wrapText(test.message, width - 6));
    }
    if (test.output) body.push('', ...formatOutput(test.output, DETAIL_TEXT.output, p));
    lines.push(...indent(body, '      '), '');
  }
  const shown = drawn ? [] : tracesToShow(result, options);
  for (const test of shown) {
    lines.push(p.bold(`  ${DETAIL_TEXT.traceFrom(test.name)}`));
    lines.push(...indent(renderTraces(test.traces ?? [], { paint: p }).map((line) => clipLine(line, width - 4)), '    '), '');
  }
  const withTraces = result.tests.filter((t) => t.status !== 'pass' && (t.traces?.length ?? 0) > 0);
  const notShown = withTraces.length - shown.length - (drawn ? 1 : 0);
  if (notShown > 0 && options.moreTraces && !options.allTraces) lines.push(p.dim(`  ${DETAIL_TEXT.moreTraces(notShown, options.moreTraces)}`), '');
  return lines.join('\n');
}

/** Prose is wrapped; the lines of a picture (a tree, a gutter mark) are clipped so their columns stay aligned. */
function fitLine(line: string, width: number): string[] {
  return /[│├└✗]|^\s{2,}\S/.test(line) ? [clipLine(line, width)] : wrapText(line, width);
}

/**
 * The learner's traces worth drawing under the verdict: the first failing check's own (never
 * another check's), or every failing check's with `allTraces`; with `alwaysTrace`, the first
 * check's trace when nothing failed.
 */
function tracesToShow(result: ExerciseResult, options: DetailOptions): TestResult[] {
  const hasTrace = (t: TestResult): boolean => (t.traces?.length ?? 0) > 0;
  const failing = result.tests.filter((t) => t.status !== 'pass');
  if (failing.length > 0) {
    const withTraces = failing.filter(hasTrace);
    return options.allTraces ? withTraces : withTraces.slice(0, 1);
  }
  const first = options.alwaysTrace ? result.tests.find(hasTrace) : undefined;
  return first ? [first] : [];
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
    /** What the code printed while it loaded. */
    output?: string;
    tests: { name: string; status: TestResult['status']; message?: string; output?: string; durationMs?: number }[];
  }[];
  summary: Summary;
}

/** Captured output as one string, with a last line that says how much was cut. */
function outputText(output: CapturedOutput | undefined): string | undefined {
  if (!output || output.text.length === 0) return undefined;
  const cut = output.cutLines > 0 || output.cutChars > 0 ? `\n${DETAIL_TEXT.outputCut(output.cutLines, output.cutChars)}` : '';
  return stripVTControlCharacters(output.text) + cut;
}

const strip = (text: string): string => stripVTControlCharacters(text);

/** The width failure pictures are laid out at in --json: side by side when they fit, for any reader. */
const JSON_WIDTH = 120;

export function toJson(results: readonly ExerciseResult[]): JsonReport {
  return {
    version: 1,
    status: overallStatus(results),
    exercises: results.map((r) => ({
      id: r.id,
      track: r.track,
      status: r.status,
      ...(r.message ? { message: strip(r.message) } : {}),
      ...(outputText(r.output) ? { output: outputText(r.output) } : {}),
      tests: r.tests.map((t) => ({
        name: t.name,
        status: t.status,
        ...(t.failure ? { message: renderFailureView(t.failure, { width: JSON_WIDTH }).join('\n') } : t.message ? { message: strip(t.message) } : {}),
        ...(outputText(t.output) ? { output: outputText(t.output) } : {}),
        ...(t.durationMs === undefined ? {} : { durationMs: Math.round(t.durationMs) }),
      })),
    })),
    summary: summarize(results),
  };
}

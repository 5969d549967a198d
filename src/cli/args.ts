import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Target } from '../runner/target-plugin.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CheckArgs {
  ids: string[];
  tracks: string[];
  target: Target;
  json: boolean;
  /** Draw the trace of every failing check, not only the first. */
  traces: boolean;
  /** Grade each exercise's named wrong solutions (for authors): every one must fail. */
  wrong: boolean;
  /** Write the run's traces to this file as OTLP JSON (absolute). */
  traceFile: string | undefined;
  /** Write this run as a self-contained HTML page (checks, waterfalls, span details) to this file (absolute). */
  htmlReport: string | undefined;
  /** The workshop file to use instead of <root>/workshop.json (absolute). */
  workshop: string | undefined;
  /** Send nothing, whatever the environment or the workshop file say. */
  noExport: boolean;
  root: string;
  help: boolean;
}

export interface LearnArgs {
  id: string | undefined;
  workshop: string | undefined;
  noExport: boolean;
  root: string;
  help: boolean;
}

export interface ReportArgs {
  files: string[];
  workshop: string | undefined;
  json: boolean;
  /** Also write the report as a self-contained HTML page to this file (absolute). */
  html: string | undefined;
  root: string;
  help: boolean;
}

export const CHECK_USAGE = `usage: npm run check -- [<id>...] [--track <track>] [--solutions] [--json] [--traces]

  (no id)              grade every exercise (the workshop's, with a workshop file) and print a table by track
  <id>...              grade these exercises and show each failing check with your trace
  --track <track>      grade the exercises of one track (repeatable)
  --solutions          grade the reference solutions instead of your work
  --json               print one JSON object on stdout and nothing else
  --traces             draw the trace of every failing check, not only the first
  --trace-file <file>  write the traces of this run to <file> as OTLP JSON (for the Jaeger UI or Grafana)
  --html-report <file> write this run to <file> as one HTML page: every check, both waterfalls, span details (opens offline)
  --workshop <file>    use this workshop file instead of workshop.json
  --no-export          send nothing to an OTLP endpoint, whatever OTEL_EXPORTER_OTLP_ENDPOINT or the workshop file say
  --wrong              for authors: grade each exercise's named wrong solutions (each must fail)

exit code: 0 every selected exercise passed (skipped allowed), 1 a check failed, 2 usage error`;

export const LEARN_USAGE = `usage: npm run learn [-- <id>] [--workshop <file>] [--no-export]

  (no id)             open the menu of tracks and exercises (the workshop's, with a workshop file), at the first unfinished one
  <id>                open one exercise directly
  --workshop <file>   use this workshop file instead of workshop.json
  --no-export         send nothing to an OTLP endpoint, whatever OTEL_EXPORTER_OTLP_ENDPOINT or the workshop file say`;

export const REPORT_USAGE = `usage: npm run report -- <file>... [--workshop <file>] [--json]

  <file>...           learners' results: check --json files (one per learner; ada.json is Ada's unless it names
                      its learner), or OTLP JSON as a Collector's file exporter writes it (gzipped too)
  --workshop <file>   report on this workshop's exercises, in its order (default: workshop.json, when there is one)
  --json              print the report as one JSON object
  --html <file>       also write the report to <file> as one HTML page (opens offline)

exit code: 0 the report was printed, 2 usage error or a file that could not be read`;

/**
 * A path the learner typed, made absolute against the folder they typed it in: npm runs scripts in
 * the workbook's folder and says where it was started in INIT_CWD.
 */
export function userPath(typed: string): string {
  return path.resolve(process.env['INIT_CWD'] ?? process.cwd(), typed);
}

/** A path as short as it can be shown: relative to where the learner is, when it is below it. */
export function shownPath(file: string): string {
  const relative = path.relative(process.env['INIT_CWD'] ?? process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function defaultRoot(): string {
  return path.resolve(process.env['TRACECRAFT_ROOT'] ?? process.cwd());
}

/** util.parseArgs, with its errors turned into usage errors worded for a learner. */
function parse<T extends ParseArgsConfig['options']>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]}`);
    const needsValue = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(message);
    if (needsValue) throw new UsageError(`${needsValue[1]} needs a value`);
    throw new UsageError(message);
  }
}

// `--root <dir>`: the workbook to grade, for the project's own tests of fixture workbooks.
const COMMON = {
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

// What learn and check share for a workshop: another workshop file, and the off switch for export.
const WORKSHOP = {
  workshop: { type: 'string' },
  'no-export': { type: 'boolean' },
} as const;

export function parseCheckArgs(argv: readonly string[]): CheckArgs {
  const { values, positionals } = parse(argv, {
    ...COMMON,
    ...WORKSHOP,
    track: { type: 'string', multiple: true },
    'trace-file': { type: 'string' },
    'html-report': { type: 'string' },
    solutions: { type: 'boolean' },
    json: { type: 'boolean' },
    traces: { type: 'boolean' },
    wrong: { type: 'boolean' },
  });
  return {
    ids: positionals,
    tracks: values.track ?? [],
    target: values.solutions ? 'solutions' : 'exercises',
    json: values.json ?? false,
    traces: values.traces ?? false,
    wrong: values.wrong ?? false,
    traceFile: values['trace-file'] === undefined ? undefined : userPath(values['trace-file']),
    htmlReport: values['html-report'] === undefined ? undefined : userPath(values['html-report']),
    workshop: values.workshop === undefined ? undefined : userPath(values.workshop),
    noExport: values['no-export'] ?? false,
    root: values.root === undefined ? defaultRoot() : path.resolve(values.root),
    help: values.help ?? false,
  };
}

export function parseLearnArgs(argv: readonly string[]): LearnArgs {
  const { values, positionals } = parse(argv, { ...COMMON, ...WORKSHOP });
  if (positionals.length > 1) throw new UsageError('learn opens one exercise at a time');
  return {
    id: positionals[0],
    workshop: values.workshop === undefined ? undefined : userPath(values.workshop),
    noExport: values['no-export'] ?? false,
    root: values.root === undefined ? defaultRoot() : path.resolve(values.root),
    help: values.help ?? false,
  };
}

export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const { values, positionals } = parse(argv, { ...COMMON, workshop: { type: 'string' }, json: { type: 'boolean' }, html: { type: 'string' } });
  const help = values.help ?? false;
  if (positionals.length === 0 && !help) throw new UsageError('name the results files to report on');
  return {
    files: positionals.map(userPath),
    workshop: values.workshop === undefined ? undefined : userPath(values.workshop),
    json: values.json ?? false,
    html: values.html === undefined ? undefined : userPath(values.html),
    root: values.root === undefined ? defaultRoot() : path.resolve(values.root),
    help,
  };
}

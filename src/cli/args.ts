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
  root: string;
  help: boolean;
}

export interface LearnArgs {
  id: string | undefined;
  root: string;
  help: boolean;
}

export const CHECK_USAGE = `usage: npm run check -- [<id>...] [--track <track>] [--solutions] [--json] [--traces]

  (no id)            grade every exercise and print a table by track
  <id>...            grade these exercises and show each failing check with your trace
  --track <track>    grade the exercises of one track (repeatable)
  --solutions        grade the reference solutions instead of your work
  --json             print one JSON object on stdout and nothing else
  --traces           draw the trace of every failing check, not only the first
  --wrong            for authors: grade each exercise's named wrong solutions (each must fail)

exit code: 0 every selected exercise passed (skipped allowed), 1 a check failed, 2 usage error`;

export const LEARN_USAGE = `usage: npm run learn [-- <id>]

  (no id)   open the menu of tracks and exercises, at the first unfinished one
  <id>      open one exercise directly`;

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

export function parseCheckArgs(argv: readonly string[]): CheckArgs {
  const { values, positionals } = parse(argv, {
    ...COMMON,
    track: { type: 'string', multiple: true },
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
    root: values.root === undefined ? defaultRoot() : path.resolve(values.root),
    help: values.help ?? false,
  };
}

export function parseLearnArgs(argv: readonly string[]): LearnArgs {
  const { values, positionals } = parse(argv, COMMON);
  if (positionals.length > 1) throw new UsageError('learn opens one exercise at a time');
  return {
    id: positionals[0],
    root: values.root === undefined ? defaultRoot() : path.resolve(values.root),
    help: values.help ?? false,
  };
}

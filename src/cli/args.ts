import path from 'node:path';
import type { Target } from '../runner/target-plugin.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CheckArgs {
  ids: string[];
  tracks: string[];
  target: Target;
  json: boolean;
  root: string;
  help: boolean;
}

export interface LearnArgs {
  id: string | undefined;
  root: string;
  help: boolean;
}

export const CHECK_USAGE = `usage: npm run check -- [<id>...] [--track <track>] [--solutions] [--json]

  (no id)            grade every exercise and print a table by track
  <id>...            grade these exercises and show each failing check with your trace
  --track <track>    grade the exercises of one track (repeatable)
  --solutions        grade the reference solutions instead of your work
  --json             print one JSON object on stdout and nothing else

exit code: 0 every selected exercise passed (skipped allowed), 1 a check failed, 2 usage error`;

export const LEARN_USAGE = `usage: npm run learn [-- <id>]

  (no id)   open the menu of tracks and exercises, at the first unfinished one
  <id>      open one exercise directly`;

function defaultRoot(): string {
  return path.resolve(process.env['TRACECRAFT_ROOT'] ?? process.cwd());
}

/** Reads `--root <dir>` (for the project's own tests, which grade fixture workbooks). */
function takeValue(argv: string[], i: number, flag: string): string {
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
  return value;
}

export function parseCheckArgs(argv: readonly string[]): CheckArgs {
  const args: CheckArgs = { ids: [], tracks: [], target: 'exercises', json: false, root: defaultRoot(), help: false };
  const list = [...argv];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i] ?? '';
    if (arg === '--solutions') args.target = 'solutions';
    else if (arg === '--json') args.json = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--track') args.tracks.push(takeValue(list, i++, arg));
    else if (arg === '--root') args.root = path.resolve(takeValue(list, i++, arg));
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else args.ids.push(arg);
  }
  return args;
}

export function parseLearnArgs(argv: readonly string[]): LearnArgs {
  const args: LearnArgs = { id: undefined, root: defaultRoot(), help: false };
  const list = [...argv];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i] ?? '';
    if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--root') args.root = path.resolve(takeValue(list, i++, arg));
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (args.id === undefined) args.id = arg;
    else throw new UsageError('learn opens one exercise at a time');
  }
  return args;
}

import { checkCommand } from './check.ts';
import { learnCommand } from './learn.ts';

const USAGE = 'usage: tracecraft <learn|check> [options]   (npm run learn, npm run check)';

/** Dispatches `learn` and `check`; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'check') return checkCommand(rest);
  if (command === 'learn') return learnCommand(rest);
  console.error(USAGE);
  return 2;
}

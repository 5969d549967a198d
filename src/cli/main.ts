const USAGE = 'usage: tracecraft <learn|check|report> [options]   (npm run learn, npm run check, npm run report)';

/**
 * Dispatches `learn`, `check` and `report`; returns the process exit code. Each command is imported only
 * when it runs: `check` must not pay for loading the menu and the markdown renderer.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'check') return (await import('./check.ts')).checkCommand(rest);
  if (command === 'learn') return (await import('./learn.ts')).learnCommand(rest);
  if (command === 'report') return (await import('./report-command.ts')).reportCommand(rest);
  console.error(USAGE);
  return 2;
}

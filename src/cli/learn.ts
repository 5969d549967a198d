import { loadCatalog, type Exercise } from '../catalog/index.ts';
import { changedExercises, ProgressStore } from '../progress/index.ts';
import { Grader } from '../runner/grader.ts';
import { DEFAULT_TEST_TIMEOUT_MS } from '../runner/grade.ts';
import { LEARN_USAGE, parseLearnArgs, UsageError } from './args.ts';
import { WatchSession } from './watch-session.ts';
import { pickExercise } from './menu.ts';
import { terminalPaint } from './paint.ts';
import { leftOutWarning, selectExercises } from './select.ts';
import { plain } from '../trace/paint.ts';

export const NEEDS_TERMINAL =
  'npm run learn is interactive and needs a terminal. To grade from a script, use npm run check (add --json for a machine-readable result).';

/** `npm run learn`: the menu, then one exercise at a time with a check on every save. */
export async function learnCommand(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseLearnArgs(argv);
  } catch (error) {
    console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}\n\n${LEARN_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(LEARN_USAGE);
    return 0;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    console.error(`tracecraft: ${NEEDS_TERMINAL}`);
    return 2;
  }
  const paint = terminalPaint();
  const colour = paint !== plain;
  try {
    const catalog = await loadCatalog(args.root, { lenient: true });
    if (catalog.problems.length > 0) console.error(paint.yellow(leftOutWarning(catalog.problems)));
    let open: Exercise | undefined = args.id ? selectExercises(catalog, [args.id], [])[0] : undefined;
    const { store: progress, warning } = await ProgressStore.open(args.root);
    if (warning) console.error(paint.yellow(warning));
    const grader = new Grader({ root: args.root, target: 'exercises', testTimeoutMs: DEFAULT_TEST_TIMEOUT_MS, isolate: true });
    // Warm the grader while the learner reads the menu, so the first check is quick.
    grader.start().catch(() => undefined);
    try {
      for (;;) {
        open ??= await pickExercise(catalog, progress, paint, await changedExercises(args.root, catalog.exercises));
        if (!open) return 0;
        const exit = await new WatchSession(open, { root: args.root, catalog, progress, grader, paint, colour }).run();
        if (exit.action === 'quit') return 0;
        open = exit.action === 'open' ? exit.exercise : undefined;
      }
    } finally {
      await grader.close();
    }
  } catch (error) {
    // Ctrl-C in the menu: inquirer rejects with ExitPromptError.
    if (error instanceof Error && error.name === 'ExitPromptError') return 0;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`tracecraft: ${message}${error instanceof UsageError ? `\n\n${LEARN_USAGE}` : ''}`);
    return 2;
  }
}

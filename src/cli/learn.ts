import { loadCatalog, type Exercise } from '../catalog/index.ts';
import { changedExercises, ProgressStore } from '../progress/index.ts';
import { Grader } from '../runner/grader.ts';
import { DEFAULT_TEST_TIMEOUT_MS } from '../runner/grade.ts';
import type { ExerciseResult } from '../runner/results.ts';
import { LEARN_USAGE, parseLearnArgs, UsageError } from './args.ts';
import { WatchSession } from './watch-session.ts';
import { learnViewer } from '../viewer/live.ts';
import { pickExercise } from './menu.ts';
import { terminalPaint } from './paint.ts';
import { leftOutWarning, selectExercises } from './select.ts';
import { plain } from '../trace/paint.ts';
import { EXPORT_MESSAGES, learnerIdentity, resolveExport, type ExportSettings } from '../workshop/export-settings.ts';
import type { LearnerIdentity } from '../workshop/run-spans.ts';
import { readWorkshopFile, resolveWorkshop, workshopCatalog, type Workshop } from '../workshop/workshop-file.ts';

/** Each export's time limit in `learn`: it runs in the background, but a slow backend still holds the exit this long at most. */
const LEARN_EXPORT_TIMEOUT_MS = 2000;
/** How long a graded run waits to be sent with the next ones. */
const LEARN_EXPORT_DELAY_MS = 500;

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
    const [catalog, source] = await Promise.all([loadCatalog(args.root, { lenient: true }), readWorkshopFile(args.root, args.workshop)]);
    const settings = resolveExport(process.env, { off: args.noExport, workshop: source && { file: source.file, otlp: source.data.otlp } });
    const identity = settings ? await learnerIdentity(args.root) : undefined;
    // Nothing leaves the machine unseen: where results go is the first thing said.
    const banner = settings && identity ? EXPORT_MESSAGES.banner(settings, identity.learner) : undefined;
    if (banner) console.error(paint.yellow(banner));
    if (catalog.problems.length > 0) console.error(paint.yellow(leftOutWarning(catalog.problems)));
    const workshop = source ? resolveWorkshop(source, catalog) : undefined;
    const shown = workshop ? workshopCatalog(catalog, workshop) : catalog;
    let open: Exercise | undefined = args.id ? selectExercises(catalog, [args.id], [])[0] : undefined;
    const { store: progress, warning } = await ProgressStore.open(args.root);
    if (warning) console.error(paint.yellow(warning));
    const grader = new Grader({ root: args.root, target: 'exercises', testTimeoutMs: DEFAULT_TEST_TIMEOUT_MS, isolate: true });
    // Warm the grader while the learner reads the menu, so the first check is quick.
    grader.start().catch(() => undefined);
    const exporter = settings && identity ? await startLearnExport(settings, identity, workshop, (line) => console.error(paint.yellow(line))) : undefined;
    try {
      for (;;) {
        open ??= await pickExercise(shown, progress, paint, await changedExercises(args.root, shown.exercises), workshop?.title);
        if (!open) return 0;
        const onGraded = exporter ? [exporter.onGraded] : [];
        const exit = await new WatchSession(open, {
          root: args.root,
          catalog: shown,
          progress,
          grader,
          paint,
          colour,
          onGraded,
          ...(banner ? { banner } : {}),
          ...(workshop?.solutionsBeforePass === false ? { solutionsBeforePass: false } : {}),
        }).run();
        if (exit.action === 'quit') return 0;
        open = exit.action === 'open' ? exit.exercise : undefined;
      }
    } finally {
      await Promise.all([grader.close(), exporter?.flush(), learnViewer().close()]);
    }
  } catch (error) {
    // Ctrl-C in the menu: inquirer rejects with ExitPromptError.
    if (error instanceof Error && error.name === 'ExitPromptError') return 0;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`tracecraft: ${message}${error instanceof UsageError ? `\n\n${LEARN_USAGE}` : ''}`);
    return 2;
  }
}

/** The export of every graded run of a learn session, loaded only when export is on. */
async function startLearnExport(
  settings: ExportSettings,
  identity: LearnerIdentity,
  workshop: Workshop | undefined,
  say: (line: string) => void,
): Promise<{ onGraded: (exercise: Exercise, result: ExerciseResult) => void; flush(): Promise<void> }> {
  const [{ startExport }, { RunSpans }] = await Promise.all([import('../workshop/export.ts'), import('../workshop/run-spans.ts')]);
  const exporter = startExport({ settings, timeoutMs: LEARN_EXPORT_TIMEOUT_MS, delayMs: LEARN_EXPORT_DELAY_MS, onProblem: say });
  const spans = new RunSpans(identity);
  return {
    // Every run in learn is of an exercise the learner opened: started.
    onGraded: (_exercise, result) => exporter.send(spans.spansOf(result, { command: 'learn', started: true, workshop: workshop?.title })),
    flush: () => exporter.flush(),
  };
}

import { createGrader, gradeOnce } from '../runner/grade.ts';
import { CHECK_USAGE, parseCheckArgs, UsageError } from './args.ts';

/** How a learner asks for the traces a detailed check does not draw. */
const CHECK_MORE_TRACES = 'add --traces to draw them';

/** `npm run check`: grades the selected exercises once and exits 0 (all passed), 1 (a check failed) or 2 (usage). */
export async function checkCommand(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseCheckArgs(argv);
  } catch (error) {
    return usage(error);
  }
  if (args.help) {
    console.log(CHECK_USAGE);
    return 0;
  }
  // The reference solutions are trusted, so a bulk run of them can share one process.
  const isolate = !(args.target === 'solutions' && args.ids.length !== 1);
  // Start the grader first: its start-up (vitest) overlaps with reading the catalog and finding servers.
  const grader = createGrader({ root: args.root, target: args.target, isolate });
  if (!args.wrong) grader.start().catch(() => undefined);
  // Everything else is loaded while the grader starts: it is the one on the critical path.
  const [{ loadCatalog }, report, { selectExercises, leftOutWarning }, { terminalPaint }, { resolveFor }, { recordResults }, { outputWidth }] = await Promise.all([
    import('../catalog/index.ts'),
    import('./report.ts'),
    import('./select.ts'),
    import('./paint.ts'),
    import('./servers.ts'),
    import('./record.ts'),
    import('./layout.ts'),
  ]);
  const { formatDetails, formatSummary, formatTable, overallStatus, toJson } = report;
  const paint = args.json ? undefined : terminalPaint();
  try {
    const catalog = await loadCatalog(args.root, { lenient: true });
    if (catalog.problems.length > 0) console.error(leftOutWarning(catalog.problems));
    const exercises = selectExercises(catalog, args.ids, args.tracks);
    if (args.wrong) {
      await grader.close();
      return await (await import('./check-wrong.ts')).checkWrong(args.root, exercises, paint ?? (await import('../trace/paint.ts')).plain, args.json);
    }
    grader.warm(exercises.map((e) => e.checkerFile));
    const servers = await resolveFor(exercises);
    for (const warning of servers.warnings) console.error(`tracecraft: ${warning}`);
    try {
      const results = await gradeOnce(
        exercises,
        { root: args.root, target: args.target, skipped: servers.skipped, unavailable: servers.required, env: servers.env, typecheck: args.target === 'exercises' },
        grader,
      );
      if (args.target === 'exercises') await recordResults(args.root, results);
      if (args.json) {
        process.stdout.write(`${JSON.stringify(toJson(results), null, 2)}\n`);
      } else if (args.ids.length > 0) {
        for (const result of results) {
          const exercise = catalog.byId(result.id);
          const options = { width: outputWidth(), allTraces: args.traces, moreTraces: CHECK_MORE_TRACES };
          if (exercise) console.log(`${formatDetails(exercise, result, paint, options)}\n`);
        }
        console.log(formatSummary(results, paint));
      } else {
        console.log(formatTable(catalog, results, paint));
      }
      return overallStatus(results) === 'pass' ? 0 : 1;
    } finally {
      await servers.stop();
    }
  } catch (error) {
    await grader.close();
    if (error instanceof UsageError) return usage(error);
    const message = error instanceof Error ? error.message : String(error);
    if (args.json) process.stdout.write(`${JSON.stringify({ version: 1, status: 'error', message, exercises: [], summary: { pass: 0, fail: 0, error: 0, skipped: 0 } })}\n`);
    else console.error(`tracecraft: ${message}`);
    return 2;
  }
}

function usage(error: unknown): number {
  console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}\n\n${CHECK_USAGE}`);
  return 2;
}

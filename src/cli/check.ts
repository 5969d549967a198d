import type { Exercise } from '../catalog/index.ts';
import { createGrader, gradeOnce } from '../runner/grade.ts';
import type { ExerciseResult } from '../runner/results.ts';
import { CHECK_USAGE, parseCheckArgs, shownPath, UsageError } from './args.ts';

/** How a learner asks for the traces a detailed check does not draw. */
const CHECK_MORE_TRACES = 'add --traces to draw them';

/** Each export's time limit in `check`: the longest a backend that is down or slow can hold the exit. */
const CHECK_EXPORT_TIMEOUT_MS = 1000;

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
  const [{ loadCatalog }, report, { selectExercises, leftOutWarning }, { terminalPaint }, { resolveFor }, { recordResults }, { outputWidth }, workshopFile, exportSettings] =
    await Promise.all([
      import('../catalog/index.ts'),
      import('./report.ts'),
      import('./select.ts'),
      import('./paint.ts'),
      import('./servers.ts'),
      import('./record.ts'),
      import('./layout.ts'),
      import('../workshop/workshop-file.ts'),
      import('../workshop/export-settings.ts'),
    ]);
  const { formatDetails, formatSummary, formatTable, overallStatus, toJson } = report;
  const paint = args.json ? undefined : terminalPaint();
  try {
    const [catalog, source] = await Promise.all([loadCatalog(args.root, { lenient: true }), workshopFile.readWorkshopFile(args.root, args.workshop)]);
    // Only the learner's own work is sent, never a run of the reference or the wrong solutions.
    const settings =
      args.target === 'exercises' && !args.wrong
        ? exportSettings.resolveExport(process.env, { off: args.noExport, workshop: source && { file: source.file, otlp: source.data.otlp } })
        : undefined;
    // The learner's name goes with their own work: in the JSON, the trace file and the export.
    const own = args.target === 'exercises';
    const identity = settings || args.traceFile || (own && args.json) ? exportSettings.learnerIdentity(args.root) : undefined;
    // Nothing leaves the machine unseen: where results go is the first thing said.
    if (settings && identity) console.error(exportSettings.EXPORT_MESSAGES.banner(settings, (await identity).learner));
    if (catalog.problems.length > 0) console.error(leftOutWarning(catalog.problems));
    const workshop = source ? workshopFile.resolveWorkshop(source, catalog) : undefined;
    const everything = args.ids.length === 0 && args.tracks.length === 0;
    const shown = workshop && everything ? workshopFile.workshopCatalog(catalog, workshop) : catalog;
    const exercises = everything ? [...shown.exercises] : selectExercises(catalog, args.ids, args.tracks);
    if (args.wrong) {
      await grader.close();
      return await (await import('./check-wrong.ts')).checkWrong(args.root, exercises, paint ?? (await import('../trace/paint.ts')).plain, args.json);
    }
    grader.warm(exercises.map((e) => e.checkerFile));
    // Loaded while the checks run, so that queuing the spans afterwards costs nothing.
    const exporting = settings
      ? import('../workshop/export.ts').then(({ startExport }) =>
          startExport({ settings, timeoutMs: CHECK_EXPORT_TIMEOUT_MS, delayMs: CHECK_EXPORT_TIMEOUT_MS, onProblem: (line) => console.error(line) }),
        )
      : undefined;
    exporting?.catch(() => undefined);
    const changed = own && identity ? changedExercises(args.root, exercises) : undefined;
    const servers = await resolveFor(exercises);
    try {
      const results = await gradeOnce(
        exercises,
        { root: args.root, target: args.target, skipped: servers.skipped, env: servers.env, typecheck: args.target === 'exercises' },
        grader,
      );
      const gradedAt = Date.now();
      if (args.target === 'exercises') await recordResults(args.root, results);
      const startedIds = changed ? await startedExercises(args.root, exercises, await changed) : undefined;
      if (args.json) {
        const json = toJson(results);
        const learner = own && identity ? (await identity).learner : undefined;
        const extended = {
          version: json.version,
          status: json.status,
          ...(learner === undefined ? {} : { learner }),
          at: new Date(gradedAt).toISOString(),
          ...(workshop ? { workshop: workshop.title } : {}),
          exercises: json.exercises.map((e) => (startedIds ? { ...e, started: startedIds.has(e.id) } : e)),
          summary: json.summary,
        };
        process.stdout.write(`${JSON.stringify(extended, null, 2)}\n`);
      } else if (args.ids.length > 0) {
        for (const result of results) {
          const exercise = catalog.byId(result.id);
          const options = { width: outputWidth(), allTraces: args.traces, moreTraces: CHECK_MORE_TRACES };
          if (exercise) console.log(`${formatDetails(exercise, result, paint, options)}\n`);
        }
        console.log(formatSummary(results, paint));
      } else {
        console.log(formatTable(shown, results, paint));
      }
      // The verdict is out: from here on, the run goes to a file or a backend, and neither changes it.
      const reportWritten = !args.htmlReport || (await writeHtmlReport(args.htmlReport, (id) => catalog.byId(id), results, args.json));
      const code = !reportWritten ? 2 : overallStatus(results) === 'pass' ? 0 : 1;
      if (!identity || (!settings && !args.traceFile)) return code;
      const { RunSpans } = await import('../workshop/run-spans.ts');
      const runSpans = new RunSpans(await identity);
      const spans = results.flatMap((result: ExerciseResult) =>
        runSpans.spansOf(result, { command: 'check', started: startedIds?.has(result.id), workshop: workshop?.title, endedAt: gradedAt }),
      );
      let traceFileFailed = false;
      if (args.traceFile) {
        const { writeTraceFile, TRACE_FILE_MESSAGES } = await import('../workshop/trace-file.ts');
        try {
          await writeTraceFile(args.traceFile, spans);
          (args.json ? console.error : console.log)(TRACE_FILE_MESSAGES.written(shownPath(args.traceFile), spans.length));
        } catch (error) {
          console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}`);
          traceFileFailed = true;
        }
      }
      if (exporting) {
        const exporter = await exporting.catch((error: unknown) => {
          console.error(`tracecraft: could not load the OTLP exporter: ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        });
        exporter?.send(spans);
        await exporter?.flush();
      }
      return traceFileFailed ? 2 : code;
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

/** The exercises whose files differ from the starter (git status), read while the checks run. */
async function changedExercises(root: string, exercises: readonly Exercise[]): Promise<Set<string>> {
  return (await import('../progress/index.ts')).changedExercises(root, exercises);
}

/** The exercises the learner has started: opened in learn, or with files changed from the starter. Read after the verdicts are recorded. */
async function startedExercises(root: string, exercises: readonly Exercise[], changed: ReadonlySet<string>): Promise<Set<string>> {
  const { store } = await (await import('../progress/index.ts')).ProgressStore.open(root);
  return new Set(exercises.filter((e) => changed.has(e.id) || store.get(e.id)?.opened === true).map((e) => e.id));
}

/** `--html-report`: the run as one page; says where it went (on stderr beside --json), or why it could not be written. */
async function writeHtmlReport(file: string, exerciseOf: (id: string) => Exercise | undefined, results: readonly ExerciseResult[], json: boolean): Promise<boolean> {
  const { writeCheckReport, FILE_TEXT } = await import('../viewer/files.ts');
  try {
    await writeCheckReport(file, exerciseOf, results);
    (json ? console.error : console.log)(FILE_TEXT.checkReportWritten(shownPath(file)));
    return true;
  } catch (error) {
    console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

function usage(error: unknown): number {
  console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}\n\n${CHECK_USAGE}`);
  return 2;
}

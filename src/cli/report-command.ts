import { loadCatalog } from '../catalog/index.ts';
import type { AggregateOptions, GradedRun } from '../workshop/report-model.ts';
import { aggregate } from '../workshop/report-model.ts';
import { readResults, ReportInputError } from '../workshop/report-input.ts';
import { formatReport } from '../workshop/report-table.ts';
import { readWorkshopFile, resolveWorkshop, WorkshopError } from '../workshop/workshop-file.ts';
import { parseReportArgs, REPORT_USAGE, shownPath, UsageError } from './args.ts';
import { outputWidth } from './layout.ts';
import { terminalPaint } from './paint.ts';

/**
 * `npm run report -- <files…>`: where a workshop's learners stand, from their `check --json` files or
 * the OTLP JSON a Collector's file exporter wrote. Exits 0 with the report, 2 when a file cannot be read.
 */
export async function reportCommand(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseReportArgs(argv);
  } catch (error) {
    console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}\n\n${REPORT_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  try {
    const runs = await readResults(args.files);
    const report = aggregate(runs, await reportOrder(args.root, args.workshop, runs));
    if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else console.log(formatReport(report, terminalPaint(), outputWidth()));
    if (args.html) {
      const { writeWorkshopReport, FILE_TEXT } = await import('../viewer/files.ts');
      await writeWorkshopReport(args.html, report);
      (args.json ? console.error : console.log)(FILE_TEXT.workshopReportWritten(shownPath(args.html)));
    }
    return 0;
  } catch (error) {
    if (error instanceof ReportInputError || error instanceof WorkshopError) console.error(error.problems.map((p) => `tracecraft: ${p}`).join('\n'));
    else if (error instanceof UsageError) console.error(`tracecraft: ${error.message}\n\n${REPORT_USAGE}`);
    else console.error(`tracecraft: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
}

/**
 * Which exercises the report lists, in which order: a workshop's (every one, even those nobody has
 * run), or else the ones in the results, in the workbook's order when the report runs in a workbook.
 */
async function reportOrder(root: string, workshopPath: string | undefined, runs: readonly GradedRun[]): Promise<AggregateOptions> {
  const catalog = await loadCatalog(root, { lenient: true }).catch(() => undefined);
  const source = await readWorkshopFile(root, workshopPath);
  if (source && catalog) {
    const workshop = resolveWorkshop(source, catalog);
    return { title: workshop.title, exercises: workshop.exercises };
  }
  if (source) return { title: source.data.title };
  const seen = new Set(runs.map((r) => r.exercise));
  return { exercises: (catalog?.exercises ?? []).filter((e) => seen.has(e.id)) };
}

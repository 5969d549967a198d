/**
 * The pages written to files: a check run (`check --html-report <file>`) and the workshop's
 * results (`report --html <file>`). Each is one HTML file that opens offline, from anywhere, in
 * any browser: written beside its final name and renamed, so a reader never sees half of one.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { ExerciseResult } from '../runner/results.ts';
import type { WorkshopReport } from '../workshop/report-model.ts';
import { renderRunsPage, type RunExercise, type RunView } from './page.ts';
import { renderReportHtml } from './report-html.ts';

export const FILE_TEXT = {
  failedToWrite: (what: string, file: string, reason: string) => `failed to write the ${what} ${file}: ${reason}`,
  checkReport: 'HTML report',
  workshopReport: 'HTML results report',
  checkReportWritten: (file: string) => `Wrote the run to ${file}: open it in a browser (it works offline).`,
  workshopReportWritten: (file: string) => `Wrote the report to ${file}: open it in a browser (it works offline).`,
} as const;

async function writeWhole(file: string, html: string, what: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, html);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new Error(FILE_TEXT.failedToWrite(what, file, error instanceof Error ? error.message : String(error)));
  }
}

function nonce(): string {
  return randomBytes(16).toString('base64');
}

/** The page of a check run: every graded exercise, each check with its verdict, waterfalls and span details. */
export function checkReportHtml(exerciseOf: (id: string) => RunExercise | undefined, results: readonly ExerciseResult[], checkedAt = new Date()): string {
  const runs: RunView[] = results.map((result) => {
    const exercise = exerciseOf(result.id);
    return { exercise: exercise ?? { id: result.id, title: result.id, trackTitle: result.track }, result, checkedAt };
  });
  return renderRunsPage(runs, { nonce: nonce() });
}

export async function writeCheckReport(file: string, exerciseOf: (id: string) => RunExercise | undefined, results: readonly ExerciseResult[]): Promise<void> {
  await writeWhole(file, checkReportHtml(exerciseOf, results), FILE_TEXT.checkReport);
}

export async function writeWorkshopReport(file: string, report: WorkshopReport): Promise<void> {
  await writeWhole(file, renderReportHtml(report, nonce()), FILE_TEXT.workshopReport);
}

import { ProgressStore } from '../progress/index.ts';
import type { ExerciseResult } from '../runner/results.ts';

/** Remembers each graded exercise's verdict in .workbook/progress.json. */
export async function recordResults(root: string, results: readonly ExerciseResult[]): Promise<string | undefined> {
  const { store, warning } = await ProgressStore.open(root);
  for (const result of results) store.record(result.id, result.status);
  await store.save();
  if (warning) console.error(warning);
  return warning;
}

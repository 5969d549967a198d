import type { Exercise } from '../catalog/index.ts';
import { resolveServers, type ServerName } from '../services/index.ts';

export interface ServerSetup {
  /** Exercises whose servers could not be found, with the command that would provide them. */
  skipped: Map<string, string>;
  /** WORKBOOK_<NAME>_URL for every server found, for the checker processes. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Finds (or starts) every server the selected exercises need, before the checks run. */
export async function resolveFor(exercises: readonly Exercise[]): Promise<ServerSetup> {
  const needed = [...new Set(exercises.flatMap((e) => e.servers))] as ServerName[];
  if (needed.length === 0) return { skipped: new Map(), env: {}, stop: async () => undefined };
  const resolution = await resolveServers(needed);
  const missing = new Map(resolution.missing.map((m) => [m.name, m.message]));
  const skipped = new Map<string, string>();
  for (const exercise of exercises) {
    const reasons = exercise.servers.flatMap((s) => missing.get(s) ?? []);
    if (reasons.length > 0) skipped.set(exercise.id, reasons.join('\n'));
  }
  return { skipped, env: resolution.env, stop: () => resolution.stop() };
}

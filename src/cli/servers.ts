import type { Exercise } from '../catalog/index.ts';
import { missingVarName, resolveServers, serversRequired, type ServerName, type ServiceProbes } from '../services/index.ts';

export interface ServerSetup {
  /** Exercises whose servers could not be found, with the command that would provide them. */
  skipped: Map<string, string>;
  /**
   * With `TRACECRAFT_REQUIRE_SERVERS` (CI), exercises whose servers could not be found, with the
   * same message: they are not skipped but run, and their checks fail with that message.
   */
  required: Map<string, string>;
  /** WORKBOOK_<NAME>_URL for every server found, and TRACECRAFT_<NAME>_MISSING for every one looked for. */
  env: Record<string, string>;
  /** Servers found only after an earlier way failed, one line each, for the output. */
  warnings: string[];
  stop(): Promise<void>;
}

export interface ResolveOptions {
  /** Where `TRACECRAFT_REQUIRE_SERVERS` is read; the resolver's own probes read `probes.env`. */
  env?: NodeJS.ProcessEnv;
  probes?: Partial<ServiceProbes>;
}

/** Finds (or starts) every server the selected exercises need, before the checks run. */
export async function resolveFor(exercises: readonly Exercise[], options: ResolveOptions = {}): Promise<ServerSetup> {
  const needed = [...new Set(exercises.flatMap((e) => e.servers))] as ServerName[];
  if (needed.length === 0) return { skipped: new Map(), required: new Map(), env: {}, warnings: [], stop: async () => undefined };
  const resolution = await resolveServers(needed, options.probes);
  const missing = new Map(resolution.missing.map((m) => [m.name, m.message]));
  // Every server looked for gets its marker, empty when found: a grader that stays up between runs
  // keeps the environment of the last one.
  const env: Record<string, string> = { ...resolution.env };
  for (const name of needed) env[missingVarName(name)] = missing.get(name) ?? '';

  const mustRun = serversRequired(options.env ?? process.env);
  const skipped = new Map<string, string>();
  const required = new Map<string, string>();
  for (const exercise of exercises) {
    const reasons = exercise.servers.flatMap((s) => missing.get(s) ?? []);
    if (reasons.length > 0) (mustRun ? required : skipped).set(exercise.id, reasons.join('\n'));
  }
  return { skipped, required, env, warnings: resolution.warnings, stop: () => resolution.stop() };
}

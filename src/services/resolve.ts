import type { ContainerRuntime } from './containers.ts';
import { testcontainersRuntime } from './containers.ts';
import type { StartedServer } from './embedded-postgres.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { envUrl, envVarName } from './env.ts';
import {
  CONTAINER_FAILED,
  EMBEDDED_FAILED,
  FELL_BACK,
  NOT_IN_ENV,
  NOTHING_ON_PORT,
  NO_CONTAINER_RUNTIME,
  SERVER_MISSING,
  STOP_FAILED,
  reasonOf,
} from './messages.ts';
import { portOpen } from './port-probe.ts';
import { SERVER_SPECS, localUrl } from './specs.ts';
import type { ServerName, ServerSpec } from './specs.ts';

export type ServerSource = 'env' | 'embedded' | 'local' | 'container';

export interface ResolvedServer {
  name: ServerName;
  url: string;
  source: ServerSource;
}

export interface MissingServer {
  name: ServerName;
  /** What was tried and the exact commands that would provide the server. */
  message: string;
}

export interface Resolution {
  servers: Map<ServerName, ResolvedServer>;
  missing: MissingServer[];
  /** Servers found only after an earlier way failed (an embedded server that would not start). */
  warnings: string[];
  /** `WORKBOOK_<NAME>_URL` for each resolved server, for the checker process's environment. */
  env: Record<string, string>;
  /** Stops everything this resolution started (embedded servers, containers). Safe to call twice. */
  stop(): Promise<void>;
}

/** Servers this process can run itself, without anything installed. */
export type EmbeddedServers = Partial<Record<ServerName, () => Promise<StartedServer>>>;

/** Where the resolver looks. Every probe is replaceable, so tests can fake what cannot run here. */
export interface ServiceProbes {
  env: NodeJS.ProcessEnv;
  portOpen(port: number): Promise<boolean>;
  containers: ContainerRuntime;
  embedded: EmbeddedServers;
}

export function defaultProbes(): ServiceProbes {
  return {
    env: process.env,
    portOpen: (port) => portOpen(port),
    containers: testcontainersRuntime,
    embedded: { postgres: () => startEmbeddedPostgres() },
  };
}

type Outcome = { found: ResolvedServer; warnings: string[] } | { missing: MissingServer; warnings: string[] };

interface Owned {
  server: ResolvedServer;
  handle: StartedServer;
}

/**
 * Finds each server, in order: `WORKBOOK_<NAME>_URL`, the embedded default, the standard local port,
 * a container. Never rejects: what cannot be found is listed in `missing` with a message for the learner.
 */
export async function resolveServers(names: ServerName[], probes: Partial<ServiceProbes> = {}): Promise<Resolution> {
  const defaults = defaultProbes();
  const probe: ServiceProbes = {
    env: probes.env ?? defaults.env,
    portOpen: probes.portOpen ?? defaults.portOpen,
    containers: probes.containers ?? defaults.containers,
    embedded: probes.embedded ?? defaults.embedded,
  };
  const owned: Owned[] = [];
  let runtime: Promise<boolean> | undefined;
  const runtimeAvailable = (): Promise<boolean> => (runtime ??= probe.containers.available().catch(() => false));

  const unique = [...new Set(names)];
  const outcomes = await Promise.all(
    unique.map((name) => resolveOne(SERVER_SPECS[name], probe, runtimeAvailable, owned)),
  );

  const servers = new Map<ServerName, ResolvedServer>();
  const missing: MissingServer[] = [];
  const warnings: string[] = [];
  const env: Record<string, string> = {};
  for (const outcome of outcomes) {
    warnings.push(...outcome.warnings);
    if ('found' in outcome) {
      servers.set(outcome.found.name, outcome.found);
      env[envVarName(outcome.found.name)] = outcome.found.url;
    } else {
      missing.push(outcome.missing);
    }
  }
  return { servers, missing, warnings, env, stop: once(() => stopAll(owned)) };
}

async function resolveOne(
  spec: ServerSpec,
  probe: ServiceProbes,
  runtimeAvailable: () => Promise<boolean>,
  owned: Owned[],
): Promise<Outcome> {
  const tried: string[] = [];
  const failures: string[] = [];
  const found = (url: string, source: ServerSource): { found: ResolvedServer; warnings: string[] } => ({
    found: { name: spec.name, url, source },
    warnings: failures.map((reason) => FELL_BACK(spec, reason, url)),
  });
  const own = (handle: StartedServer, source: ServerSource): Outcome => {
    const outcome = found(handle.url, source);
    owned.push({ server: outcome.found, handle });
    return outcome;
  };

  const fromEnv = envUrl(probe.env, spec.name);
  if (fromEnv !== undefined) return found(fromEnv, 'env');
  tried.push(NOT_IN_ENV(spec));

  const embedded = probe.embedded[spec.name];
  if (embedded !== undefined) {
    try {
      return own(await embedded(), 'embedded');
    } catch (error) {
      const reason = EMBEDDED_FAILED(spec, reasonOf(error));
      tried.push(reason);
      failures.push(reason);
    }
  }

  if (await probe.portOpen(spec.port).catch(() => false)) return found(localUrl(spec), 'local');
  tried.push(NOTHING_ON_PORT(spec));

  if (await runtimeAvailable()) {
    try {
      return own(await probe.containers.start(spec), 'container');
    } catch (error) {
      tried.push(CONTAINER_FAILED(spec, reasonOf(error)));
    }
  } else {
    tried.push(NO_CONTAINER_RUNTIME);
  }

  return { missing: { name: spec.name, message: SERVER_MISSING(spec, tried) }, warnings: [] };
}

async function stopAll(owned: Owned[]): Promise<void> {
  const errors = await Promise.all(
    owned.map(async ({ server, handle }) => {
      try {
        await handle.stop();
        return [];
      } catch (error) {
        return [STOP_FAILED(`${server.name} (${server.source}) at ${server.url}`, reasonOf(error))];
      }
    }),
  );
  const messages = errors.flat();
  if (messages.length > 0) throw new Error(messages.join('\n'));
}

function once(run: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= run());
}

import type { ContainerRuntime } from './containers.ts';
import { testcontainersRuntime } from './containers.ts';
import type { StartedServer } from './embedded-postgres.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { envUrl, envVarName } from './env.ts';
import {
  CONTAINER_FAILED,
  CONTAINER_NOT_READY,
  EMBEDDED_FAILED,
  ENV_SERVER_UNUSABLE,
  FELL_BACK,
  NOT_IN_ENV,
  NO_CONTAINER_RUNTIME,
  SERVER_MISSING,
  STOP_FAILED,
  reasonOf,
} from './messages.ts';
import { probeServer, type Readiness } from './readiness.ts';
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
  /** Servers found only after an earlier way failed (an embedded server that would not start, a local one that is unusable). */
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
  /** Whether the server at a URL is one the checks can use (probeServer). Never rejects. */
  ready(spec: ServerSpec, url: string): Promise<Readiness>;
  /** The URL of the server on its standard local port. */
  localUrl(spec: ServerSpec): string;
  containers: ContainerRuntime;
  embedded: EmbeddedServers;
}

export function defaultProbes(): ServiceProbes {
  return {
    env: process.env,
    ready: (spec, url) => probeServer(spec, url),
    localUrl,
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
 * a container. Every candidate is probed (a query, PING, an AMQP login, JetStream) before it is
 * used. Never rejects: what cannot be found is listed in `missing` with a message for the learner.
 */
export async function resolveServers(names: ServerName[], probes: Partial<ServiceProbes> = {}): Promise<Resolution> {
  const defaults = defaultProbes();
  const probe: ServiceProbes = {
    env: probes.env ?? defaults.env,
    ready: probes.ready ?? defaults.ready,
    localUrl: probes.localUrl ?? defaults.localUrl,
    containers: probes.containers ?? defaults.containers,
    embedded: probes.embedded ?? defaults.embedded,
  };
  const owned: Owned[] = [];
  let runtime: Promise<boolean> | undefined;
  const runtimeAvailable = (): Promise<boolean> => (runtime ??= probe.containers.available().catch(() => false));

  const unique = [...new Set(names)];
  const outcomes = await Promise.all(unique.map((name) => resolveOne(SERVER_SPECS[name], probe, runtimeAvailable, owned)));

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

/** A probe that rejects (a fake in a test, a bug) counts as a server that is not there. */
async function readiness(probe: ServiceProbes, spec: ServerSpec, url: string): Promise<Readiness> {
  try {
    return await probe.ready(spec, url);
  } catch (error) {
    return { ready: false, problem: 'not-this-server', reason: reasonOf(error) };
  }
}

async function resolveOne(
  spec: ServerSpec,
  probe: ServiceProbes,
  runtimeAvailable: () => Promise<boolean>,
  owned: Owned[],
): Promise<Outcome> {
  const tried: string[] = [];
  // Ways that found a server it could not use: said again as a warning if a later way succeeds.
  const failures: string[] = [];
  const found = (url: string, source: ServerSource): { found: ResolvedServer; warnings: string[] } => ({
    found: { name: spec.name, url, source },
    warnings: failures.map((reason) => FELL_BACK(spec, reason, url)),
  });
  /** A server this resolution started: kept (and stopped later) when ready; stopped now, with the reason, when not. */
  const adopt = async (handle: StartedServer, source: ServerSource): Promise<Outcome | string> => {
    const ready = await readiness(probe, spec, handle.url);
    if (!ready.ready) {
      await handle.stop().catch(() => undefined);
      return ready.reason;
    }
    const outcome = found(handle.url, source);
    owned.push({ server: outcome.found, handle });
    return outcome;
  };

  // 1. The learner named a server: it is that one or none (never a surprise from elsewhere).
  const fromEnv = envUrl(probe.env, spec.name);
  if (fromEnv !== undefined) {
    const ready = await readiness(probe, spec, fromEnv);
    if (ready.ready) return found(fromEnv, 'env');
    return { missing: { name: spec.name, message: ENV_SERVER_UNUSABLE(spec, fromEnv, ready.reason) }, warnings: [] };
  }
  tried.push(NOT_IN_ENV(spec));

  // 2. The embedded default.
  const embedded = probe.embedded[spec.name];
  if (embedded !== undefined) {
    let reason: string;
    try {
      const outcome = await adopt(await embedded(), 'embedded');
      if (typeof outcome !== 'string') return outcome;
      reason = EMBEDDED_FAILED(spec, outcome);
    } catch (error) {
      reason = EMBEDDED_FAILED(spec, reasonOf(error));
    }
    tried.push(reason);
    failures.push(reason);
  }

  // 3. The standard local port. Something else listening there, or a server that refuses us, is passed over.
  const local = probe.localUrl(spec);
  const ready = await readiness(probe, spec, local);
  if (ready.ready) return found(local, 'local');
  tried.push(ready.reason);
  if (ready.problem !== 'closed') failures.push(ready.reason);

  // 4. A container, when an engine answers.
  if (await runtimeAvailable()) {
    try {
      const outcome = await adopt(await probe.containers.start(spec), 'container');
      if (typeof outcome !== 'string') return outcome;
      tried.push(CONTAINER_NOT_READY(spec, outcome));
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

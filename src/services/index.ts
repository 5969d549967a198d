export { resolveServers, defaultProbes } from './resolve.ts';
export type {
  EmbeddedServers,
  MissingServer,
  ResolvedServer,
  Resolution,
  ServerSource,
  ServiceProbes,
} from './resolve.ts';
export { SERVER_SPECS, LOCAL_HOST, localUrl, dockerRunCommand } from './specs.ts';
export type { ServerName, ServerSpec, ReadyLog } from './specs.ts';
export { envVarName, envUrl } from './env.ts';
export { portOpen, PORT_PROBE_TIMEOUT_MS } from './port-probe.ts';
export { startEmbeddedPostgres, defaultTemplateFile, EMBEDDED_MAX_CONNECTIONS } from './embedded-postgres.ts';
export type { EmbeddedPostgresOptions, StartedServer } from './embedded-postgres.ts';
export { testcontainersRuntime, RUNTIME_PROBE_TIMEOUT_MS, CONTAINER_STARTUP_TIMEOUT_MS } from './containers.ts';
export type { ContainerRuntime } from './containers.ts';

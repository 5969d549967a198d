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
export { envVarName, envUrl, missingVarName, serversRequired } from './env.ts';
export { portOpen, tcpProbe, PORT_PROBE_TIMEOUT_MS } from './port-probe.ts';
export type { TcpAnswer } from './port-probe.ts';
export { probeServer, natsConnectOptions, PROBE_TIMEOUT_MS } from './readiness.ts';
export type { Readiness, ProbeProblem } from './readiness.ts';
export { displayUrl, parseServerUrl } from './urls.ts';
export type { ParsedServerUrl } from './urls.ts';
export { startEmbeddedPostgres, defaultTemplateFile, EMBEDDED_MAX_CONNECTIONS } from './embedded-postgres.ts';
export type { EmbeddedPostgresOptions, StartedServer } from './embedded-postgres.ts';
export {
  createTestcontainersRuntime,
  testcontainersRuntime,
  RUNTIME_PROBE_TIMEOUT_MS,
  CONTAINER_STARTUP_TIMEOUT_MS,
} from './containers.ts';
export type { ContainerRuntime, ContainerBuilder, TestcontainersApi, TestcontainersRuntimeOptions } from './containers.ts';

import { envVarName } from './env.ts';
import { LOCAL_HOST, dockerRunCommand } from './specs.ts';
import type { ServerSpec } from './specs.ts';

/** Each place the resolver looked, worded as a reason it found nothing there. */
export const NOT_IN_ENV = (spec: ServerSpec): string => `${envVarName(spec.name)} is not set`;
export const EMBEDDED_FAILED = (spec: ServerSpec, reason: string): string =>
  `the embedded ${spec.title} failed to start: ${reason}`;
export const NOTHING_ON_PORT = (spec: ServerSpec): string => `nothing is listening on ${LOCAL_HOST}:${spec.port}`;
export const NO_CONTAINER_RUNTIME =
  'no container engine (Docker or compatible) answered, so Testcontainers could not start one';
export const CONTAINER_FAILED = (spec: ServerSpec, reason: string): string =>
  `starting ${spec.image} with Testcontainers failed: ${reason}`;

/** Why an exercise is skipped: what was tried, then the exact commands that would provide the server. */
export const SERVER_MISSING = (spec: ServerSpec, tried: string[]): string =>
  [
    `${spec.title} is needed by this exercise and none was found:`,
    ...tried.map((reason) => `  - ${reason}`),
    'Point the workbook at one you have:',
    `  export ${envVarName(spec.name)}=${spec.url('host', spec.port)}`,
    'or start one on the standard port:',
    `  ${dockerRunCommand(spec)}`,
  ].join('\n');

/** A server was found, but not the first way the resolver tried: worth a line in the output. */
export const FELL_BACK = (spec: ServerSpec, reason: string, url: string): string =>
  `${reason}; using ${spec.title} at ${url} instead`;

export const STOP_FAILED = (what: string, reason: string): string => `failed to stop ${what}: ${reason}`;

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

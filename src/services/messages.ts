import { envVarName } from './env.ts';
import { dockerRunCommand } from './specs.ts';
import type { ServerSpec } from './specs.ts';
import { displayUrl } from './urls.ts';

/** Each place the resolver looked, worded as a reason it found nothing there. */
export const NOT_IN_ENV = (spec: ServerSpec): string => `${envVarName(spec.name)} is not set`;
export const EMBEDDED_FAILED = (spec: ServerSpec, reason: string): string =>
  `the embedded ${spec.title} failed to start: ${reason}`;
export const NO_CONTAINER_RUNTIME =
  'no container engine (Docker or compatible) answered, so Testcontainers could not start one';
export const CONTAINER_FAILED = (spec: ServerSpec, reason: string): string =>
  `starting ${spec.image} with Testcontainers failed: ${reason}`;
export const CONTAINER_NOT_READY = (spec: ServerSpec, reason: string): string =>
  `the ${spec.image} container Testcontainers started never became ready (${reason}), so it was stopped`;

/**
 * Why a server at a URL cannot be used, one sentence each. `url` is shown with its password
 * masked. The resolver puts these in the lists below; the checks repeat them when CI requires
 * the server.
 */
export const PROBE = {
  invalidUrl: (spec: ServerSpec, url: string) =>
    `"${displayUrl(url)}" is not a ${spec.title} URL (one looks like ${spec.url('host', spec.port)})`,
  refused: (host: string, port: number) => `nothing is listening on ${host}:${port}`,
  noConnect: (host: string, port: number, ms: number) => `${host}:${port} did not accept a connection within ${ms} ms`,
  unresolved: (host: string) => `the host name "${host}" does not resolve to an address`,
  connectFailed: (host: string, port: number, code: string) => `connecting to ${host}:${port} failed (${code})`,
  notThisServer: (spec: ServerSpec, host: string, port: number, detail: string) =>
    `something answers on ${host}:${port}, but it is not ${spec.title} (${detail})`,
  silent: (spec: ServerSpec, host: string, port: number, ms: number) =>
    `something accepted a connection on ${host}:${port}, but it did not answer as ${spec.title} within ${ms} ms`,

  postgresLogin: (url: string, user: string, detail: string) =>
    `PostgreSQL at ${displayUrl(url)} refused the login of user "${user}": ${detail}`,
  postgresDatabase: (url: string, database: string) =>
    `PostgreSQL at ${displayUrl(url)} has no database "${database}": create it (createdb ${database}) or name another one in the URL`,
  postgresRefused: (url: string, detail: string) => `PostgreSQL at ${displayUrl(url)} refused the connection: ${detail}`,

  redisNeedsPassword: (url: string) =>
    `Redis at ${displayUrl(url)} requires a password: put it in the URL (redis://:<password>@host:port)`,
  redisLogin: (url: string, user: string) =>
    `Redis at ${displayUrl(url)} refused the login of user "${user}": wrong user name or password`,
  redisDatabase: (url: string, database: string) =>
    `Redis at ${displayUrl(url)} has no database ${database} (the number after the last "/" of the URL)`,
  redisRefused: (url: string, detail: string) => `Redis at ${displayUrl(url)} refused to answer PING: ${detail}`,

  rabbitmqLogin: (url: string, user: string) =>
    `RabbitMQ at ${displayUrl(url)} refused the login of user "${user}": wrong user name or password ` +
    '(RabbitMQ lets its default user "guest" log in only from localhost)',
  rabbitmqVhost: (url: string, vhost: string, user: string) =>
    `RabbitMQ at ${displayUrl(url)} did not open the virtual host "${vhost}": it does not exist, or user "${user}" may not use it`,
  rabbitmqRefused: (url: string, detail: string) => `RabbitMQ at ${displayUrl(url)} ended the AMQP handshake: ${detail}`,

  natsLogin: (url: string, detail: string) =>
    `NATS at ${displayUrl(url)} refused the connection (${detail}): put the right user and password ` +
    '(nats://user:password@host:port) or token (nats://token@host:port) in the URL',
  jetStreamDisabled: (url: string) => `NATS at ${displayUrl(url)} answers, but JetStream is disabled: start it with \`nats-server -js\``,
  natsRefused: (url: string, detail: string) => `NATS at ${displayUrl(url)} refused the connection: ${detail}`,
} as const;

/** How to provide the server: the two commands every "not found" message ends with. */
function howToProvide(spec: ServerSpec): string[] {
  return [
    'Point the workbook at one you have:',
    `  export ${envVarName(spec.name)}=${spec.url('host', spec.port)}`,
    'or start one on the standard port:',
    `  ${dockerRunCommand(spec)}`,
  ];
}

/** Why an exercise is skipped: what was tried, then the exact commands that would provide the server. */
export const SERVER_MISSING = (spec: ServerSpec, tried: string[]): string =>
  [`${spec.title} is needed by this exercise and none was found:`, ...tried.map((reason) => `  - ${reason}`), ...howToProvide(spec)].join(
    '\n',
  );

/** The learner named a server explicitly and it cannot be used: the resolver does not look elsewhere. */
export const ENV_SERVER_UNUSABLE = (spec: ServerSpec, url: string, reason: string): string =>
  [
    `${spec.title} is needed by this exercise, and ${envVarName(spec.name)}=${displayUrl(url)} names one that cannot be used:`,
    `  - ${reason}`,
    `Start that server or correct the URL, or unset ${envVarName(spec.name)} to let the workbook look for one itself.`,
    ...howToProvide(spec),
  ].join('\n');

/** A server was found, but not the first way the resolver tried: worth a line in the output. */
export const FELL_BACK = (spec: ServerSpec, reason: string, url: string): string =>
  `${reason}; using ${spec.title} at ${displayUrl(url)} instead`;

export const STOP_FAILED = (what: string, reason: string): string => `failed to stop ${what}: ${reason}`;

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Is the server at a URL one the checks can use? More than "a port is open": PostgreSQL answers a
 * query, Redis answers PING, RabbitMQ accepts the AMQP login, NATS connects with JetStream enabled.
 * Every probe is bounded by a deadline and words what it found in one sentence (messages.ts).
 */
import net from 'node:net';
import { PROBE, reasonOf } from './messages.ts';
import { PORT_PROBE_TIMEOUT_MS, tcpProbe } from './port-probe.ts';
import type { ServerName, ServerSpec } from './specs.ts';
import { isServerUrl, parseServerUrl, type ParsedServerUrl } from './urls.ts';

/**
 * What stands between the resolver and a usable server:
 * - `closed`: nothing accepts a connection there (or the name does not resolve);
 * - `not-this-server`: something answers, but not with this server's protocol;
 * - `refused`: it is this server, but it refuses the URL's user, password, database or vhost;
 * - `jetstream-disabled`: a NATS server without JetStream.
 */
export type ProbeProblem = 'invalid-url' | 'closed' | 'not-this-server' | 'refused' | 'jetstream-disabled';

export type Readiness = { ready: true } | { ready: false; problem: ProbeProblem; reason: string };

/** The whole probe (connect, log in, ask): a real server on this machine answers in a few tens of ms. */
export const PROBE_TIMEOUT_MS = 2_000;

const READY: Readiness = { ready: true };
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function notReady(problem: ProbeProblem, reason: string): Readiness {
  return { ready: false, problem, reason };
}

/** One server's protocol check, run once a TCP connection is known to open. */
type ProtocolProbe = (target: ProbeTarget) => Promise<Readiness>;

interface ProbeTarget extends ParsedServerUrl {
  spec: ServerSpec;
  url: string;
  timeoutMs: number;
}

/** Is the server at `url` ready for the checks? Never rejects, and answers within about `timeoutMs`. */
export async function probeServer(spec: ServerSpec, url: string, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<Readiness> {
  if (!isServerUrl(url)) return notReady('invalid-url', PROBE.invalidUrl(spec, url));
  const target: ProbeTarget = { ...parseServerUrl(url, spec.port), spec, url, timeoutMs };
  const { host, port } = target;
  // A loopback connect is refused at once when nothing listens; only a remote host needs the longer wait.
  const connectMs = LOOPBACK.has(host) ? Math.min(timeoutMs, PORT_PROBE_TIMEOUT_MS) : timeoutMs;
  const tcp = await tcpProbe(port, host, connectMs);
  if (tcp.kind === 'refused') return notReady('closed', PROBE.refused(host, port));
  if (tcp.kind === 'timeout') return notReady('closed', PROBE.noConnect(host, port, connectMs));
  if (tcp.kind === 'failed') {
    const unresolved = tcp.code === 'ENOTFOUND' || tcp.code === 'EAI_AGAIN';
    return notReady('closed', unresolved ? PROBE.unresolved(host) : PROBE.connectFailed(host, port, tcp.code));
  }
  const protocol = PROTOCOL_PROBES[spec.name];
  if (protocol === undefined) return READY;
  try {
    return await withDeadline(protocol(target), timeoutMs, () => notReady('not-this-server', PROBE.silent(spec, host, port, timeoutMs)));
  } catch (error) {
    return notReady('not-this-server', PROBE.notThisServer(spec, host, port, reasonOf(error)));
  }
}

/**
 * The servers whose protocol the workbook can speak. MariaDB and Mosquitto have no client
 * installed, so for them an open port is taken as ready.
 */
const PROTOCOL_PROBES: Partial<Record<ServerName, ProtocolProbe>> = {
  postgres: probePostgres,
  redis: probeRedis,
  rabbitmq: probeRabbitmq,
  nats: probeNats,
};

/** Settles with `late()` when `work` takes longer than `ms`; `work` itself must clean up after itself. */
async function withDeadline<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- PostgreSQL: log in with pg and run a query ----------------------------------------------

/** SQLSTATEs of a login the server refused: invalid_authorization_specification, invalid_password. */
const LOGIN_REFUSED = new Set(['28000', '28P01']);
const NO_SUCH_DATABASE = '3D000';

async function probePostgres(target: ProbeTarget): Promise<Readiness> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: target.url,
    connectionTimeoutMillis: target.timeoutMs,
    query_timeout: target.timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return READY;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const user = target.user === '' ? 'postgres' : target.user;
    if (typeof code === 'string' && LOGIN_REFUSED.has(code)) return notReady('refused', PROBE.postgresLogin(target.url, user, reasonOf(error)));
    if (code === NO_SUCH_DATABASE) return notReady('refused', PROBE.postgresDatabase(target.url, target.path || user));
    // Any other SQLSTATE came from a real PostgreSQL (too many connections, shutting down, …).
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return notReady('refused', PROBE.postgresRefused(target.url, reasonOf(error)));
    return notReady('not-this-server', PROBE.notThisServer(target.spec, target.host, target.port, reasonOf(error)));
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---- Redis: AUTH and SELECT as the URL says, then PING ---------------------------------------

/** A command in RESP, the way every Redis client sends it: an array of bulk strings. */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Sends the commands and reads one single-line reply for each (`+OK`, `-ERR …`). Anything else
 * (a greeting, binary, a hang-up before the replies) means the listener does not speak Redis.
 */
function redisReplies(target: ProbeTarget, commands: string[][]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    let buffered = '';
    const replies: string[] = [];
    const finish = (error?: Error): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      if (error) reject(error);
      else resolve(replies);
    };
    socket.setTimeout(target.timeoutMs, () => finish(new Error(`no answer within ${target.timeoutMs} ms`)));
    socket.once('connect', () => socket.write(commands.map((command) => resp(...command)).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      if (!/^[+-]/.test(buffered)) {
        finish(new Error(`it answered ${JSON.stringify(buffered.slice(0, 24))}…`));
        return;
      }
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        replies.push(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
        if (replies.length === commands.length) return finish();
        if (buffered !== '' && !/^[+-]/.test(buffered)) return finish(new Error('it answered in another protocol'));
      }
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error('it hung up without a Redis reply')));
  });
}

async function probeRedis(target: ProbeTarget): Promise<Readiness> {
  const commands: string[][] = [];
  if (target.password !== '') commands.push(target.user === '' ? ['AUTH', target.password] : ['AUTH', target.user, target.password]);
  const database = target.path === '' ? '0' : target.path;
  if (database !== '0') commands.push(['SELECT', database]);
  commands.push(['PING']);
  const replies = await redisReplies(target, commands);
  for (const reply of replies) {
    // A password given to a server that has none: Redis clients log a warning and carry on, so do we.
    if (/^-ERR AUTH .*without any password configured/i.test(reply)) continue;
    if (/^-NOAUTH/.test(reply)) return notReady('refused', PROBE.redisNeedsPassword(target.url));
    if (/^-WRONGPASS/.test(reply)) return notReady('refused', PROBE.redisLogin(target.url, target.user || 'default'));
    if (/^-ERR .*DB index/i.test(reply)) return notReady('refused', PROBE.redisDatabase(target.url, database));
    if (reply.startsWith('-')) return notReady('refused', PROBE.redisRefused(target.url, reply.slice(1)));
  }
  return replies.at(-1) === '+PONG' ? READY : notReady('not-this-server', PROBE.notThisServer(target.spec, target.host, target.port, `PING answered ${replies.at(-1) ?? 'nothing'}`));
}

// ---- RabbitMQ: the AMQP handshake with amqplib, as the checks will connect ---------------------

async function probeRabbitmq(target: ProbeTarget): Promise<Readiness> {
  const amqp = await import('amqplib');
  try {
    const connection = await amqp.connect(target.url, { timeout: target.timeoutMs });
    await connection.close().catch(() => undefined);
    return READY;
  } catch (error) {
    const message = reasonOf(error);
    const user = target.user === '' ? 'guest' : target.user;
    if (/ACCESS.REFUSED/.test(message)) return notReady('refused', PROBE.rabbitmqLogin(target.url, user));
    // The server closes the connection instead of opening the vhost (NOT_ALLOWED).
    if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message)) {
      return notReady('refused', PROBE.rabbitmqVhost(target.url, target.path === '' ? '/' : target.path, user));
    }
    if (/Handshake terminated by server/.test(message)) return notReady('refused', PROBE.rabbitmqRefused(target.url, message));
    return notReady('not-this-server', PROBE.notThisServer(target.spec, target.host, target.port, message));
  }
}

// ---- NATS: connect, then ask JetStream for the account's limits ------------------------------

/**
 * The connect options for a NATS URL. nats.js ignores credentials written in a URL, so they are
 * passed as options: `nats://user:password@host` or `nats://token@host`.
 */
export function natsConnectOptions(url: string, defaultPort = 4222): { servers: string; user?: string; pass?: string; token?: string } {
  const { host, port, user, password } = parseServerUrl(url, defaultPort);
  const servers = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (user !== '' && password !== '') return { servers, user, pass: password };
  if (user !== '') return { servers, token: user };
  return { servers };
}

/**
 * What a server says first, before the client sends anything (a NATS server greets with `INFO {…}`).
 * Read on a socket of our own: nats.js leaves its socket open when a listener never greets it.
 */
function greeting(target: ProbeTarget): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    let received = '';
    const finish = (): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(received);
    };
    socket.setTimeout(target.timeoutMs, finish);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.length >= 5) finish();
    });
    socket.once('error', finish);
    socket.once('close', finish);
  });
}

async function probeNats(target: ProbeTarget): Promise<Readiness> {
  const hello = await greeting(target);
  if (!hello.startsWith('INFO ')) {
    const detail = hello === '' ? 'it sent no INFO greeting' : `it greeted with ${JSON.stringify(hello.slice(0, 24))}`;
    return notReady('not-this-server', PROBE.notThisServer(target.spec, target.host, target.port, detail));
  }
  const [{ connect }, { jetstreamManager }] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
  let connection: Awaited<ReturnType<typeof connect>>;
  try {
    connection = await connect({ ...natsConnectOptions(target.url, target.spec.port), timeout: target.timeoutMs, reconnect: false });
  } catch (error) {
    if ((error as Error).name === 'AuthorizationError') return notReady('refused', PROBE.natsLogin(target.url, reasonOf(error)));
    return notReady('not-this-server', PROBE.notThisServer(target.spec, target.host, target.port, reasonOf(error)));
  }
  try {
    const manager = await jetstreamManager(connection, { timeout: target.timeoutMs });
    await manager.getAccountInfo();
    return READY;
  } catch (error) {
    if ((error as Error).name === 'JetStreamNotEnabled' || /jetstream.*not enabled/i.test(reasonOf(error))) {
      return notReady('jetstream-disabled', PROBE.jetStreamDisabled(target.url));
    }
    return notReady('refused', PROBE.natsRefused(target.url, reasonOf(error)));
  } finally {
    await connection.close().catch(() => undefined);
  }
}

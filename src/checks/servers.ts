/**
 * Real servers for the checks, each check in a space of its own: a PostgreSQL schema, a Redis key
 * prefix, RabbitMQ queue and exchange names, NATS stream, subject and consumer names, all with a
 * suffix no other check (no parallel run, no earlier run) uses. Call them inside a check: what they
 * create is dropped, and every client they hand out is closed, when the check ends, pass or fail.
 * Nothing outside the check's own space is read, written or deleted: a learner's data on a local
 * server is never touched (no FLUSHDB, no DROP of anything not named by the check).
 *
 * The server comes from the runner: `WORKBOOK_<NAME>_URL` in this process's environment, set by
 * src/cli/servers.ts. When the runner found none but runs the checks anyway (CI requires every
 * server), `TRACECRAFT_<NAME>_MISSING` carries its sentence and the helper fails the check with it.
 * A grader started without the runner (scripts/author-check.ts, the curriculum tests) hands no URL:
 * then the server's standard local port is used if a probe finds it usable.
 *
 * The administrative work (creating, reading back, dropping) runs with tracing suppressed, so the
 * learner's traces hold only what the learner's code did.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ChannelModel } from 'amqplib';
import type { Redis, RedisOptions } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool, PoolConfig } from 'pg';
import { envUrl, missingVarName } from '../services/env.ts';
import { displayUrl } from '../services/urls.ts';
import { natsConnectOptions, probeServer } from '../services/readiness.ts';
import { SERVER_SPECS, localUrl, type ServerName } from '../services/specs.ts';
import { withoutTracing } from './instrumentation.ts';
import { afterCheck } from './resources.ts';

// ---- finding the server --------------------------------------------------------------------------

/** The server a check needs is not there: the runner's sentence, or what the local probe found. */
export class ServerNotFoundError extends Error {
  override readonly name = 'ServerNotFound';
}

export const SERVER_TEXT = {
  noRunner: (name: ServerName, reason: string) =>
    `${SERVER_SPECS[name].title} is needed by this check: no runner handed WORKBOOK_${name.toUpperCase()}_URL to it, ` +
    `and the standard local server cannot be used (${reason}). Run the checks with \`npm run check\`, which finds or starts one.`,
  setupFailed: (what: string, url: string, reason: string) => `the checks could not ${what} on ${displayUrl(url)}: ${reason}`,
} as const;

const lookedUp = new Map<ServerName, Promise<string>>();

/** The URL of the server this check uses (see the module comment for where it comes from). */
export async function serverUrl(name: ServerName): Promise<string> {
  const missing = process.env[missingVarName(name)];
  if (missing !== undefined && missing !== '') throw new ServerNotFoundError(missing);
  const given = envUrl(process.env, name);
  if (given !== undefined) return given;
  let found = lookedUp.get(name);
  if (found === undefined) {
    found = lookLocally(name);
    lookedUp.set(name, found);
  }
  return found;
}

async function lookLocally(name: ServerName): Promise<string> {
  const spec = SERVER_SPECS[name];
  const url = localUrl(spec);
  const readiness = await probeServer(spec, url);
  if (!readiness.ready) throw new ServerNotFoundError(SERVER_TEXT.noRunner(name, readiness.reason));
  return url;
}

// ---- names of the check's own ---------------------------------------------------------------------

/** Ten hex digits from the system's randomness (never the checks' seeded `random`: a replayed seed would reuse names). */
function uniqueId(): string {
  return randomBytes(5).toString('hex');
}

/** The learner's code must not see the checks' own administrative work as spans. */
function untraced<T>(work: () => Promise<T>): Promise<T> {
  return withoutTracing(work);
}

/** Waits for `work`, at most `ms`: cleanup must finish within the check's hook time even if a client hangs. */
async function atMost(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Time a cleanup step may take; the steps of one check together stay well under the hook limit (3 s). */
const CLEANUP_STEP_MS = 800;

/**
 * Client libraries are loaded with `require`, and only when a check asks: an OpenTelemetry
 * instrumentation registered before (by the checker or the learner's code) patches what `require`
 * returns, which an ESM import of ioredis does not get (see DESIGN.md).
 */
const requireClient = createRequire(import.meta.url);

// ---- PostgreSQL: a schema per check ---------------------------------------------------------------

export interface CheckSchema {
  /** `tracecraft_<id>`: the schema this check's tables live in. */
  schema: string;
  /**
   * A URL whose connections use the schema (`options=-c search_path=<schema>`, and the schema as
   * `application_name`): hand it to code that opens its own pool.
   */
  url: string;
  /** A pool on `url`, ended when the check ends. */
  pool(config?: Omit<PoolConfig, 'connectionString'>): Pool;
  /** Runs SQL as the checks, in the schema, untraced: to set up a state or read one back. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<Row[]>;
  /** True on the embedded PGlite (one shared session: see src/services/README.md). */
  embedded: boolean;
}

/** A PostgreSQL schema of this check's own: created now, dropped (with everything in it) when the check ends. */
export async function postgresSchema(): Promise<CheckSchema> {
  const base = await serverUrl('postgres');
  const pg = requireClient('pg') as typeof import('pg');
  const schema = `tracecraft_${uniqueId()}`;
  const url = withSearchPath(base, schema);
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  admin.on('error', () => undefined);
  let embedded = false;
  try {
    await untraced(async () => {
      await admin.connect();
      const version = await admin.query<{ version: string }>('select version()');
      embedded = version.rows[0]?.version.includes('PGlite') ?? false;
      await admin.query(`create schema ${schema}`);
    });
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw new Error(SERVER_TEXT.setupFailed(`create the schema ${schema}`, base, (error as Error).message));
  }

  const pools: Pool[] = [];
  afterCheck(async () => {
    await untraced(async () => {
      // Connections the learner's code opened from `url` and never closed would hold locks on the
      // schema; on a real server they are ended by name. PGlite has one session and nothing to end.
      if (!embedded) {
        await atMost(CLEANUP_STEP_MS, admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()', [schema]));
      }
      await atMost(CLEANUP_STEP_MS, Promise.all(pools.map((pool) => pool.end())));
      await atMost(CLEANUP_STEP_MS, admin.query(`drop schema if exists ${schema} cascade`));
    });
    await atMost(CLEANUP_STEP_MS, admin.end());
  });

  return {
    schema,
    url,
    embedded,
    pool(config = {}) {
      const pool = new pg.Pool({ ...config, connectionString: url });
      // An idle client that loses its connection (the cleanup ends it) must not become an unhandled error.
      pool.on('error', () => undefined);
      pools.push(pool);
      return pool;
    },
    async query<Row extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<Row[]> {
      return untraced(async () => (await admin.query<Row>(sql, values)).rows);
    },
  };
}

/** The URL with the schema as its connections' search_path and application name. */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  parsed.searchParams.set('application_name', schema);
  return parsed.toString();
}

// ---- Redis: a key prefix per check ------------------------------------------------------------------

export interface CheckRedis {
  /** `tracecraft:<id>:`, in front of every key this check's clients write. */
  prefix: string;
  url: string;
  /** The name a key has on the server (`prefix + name`), for reading it back with `raw`. */
  key(name: string): string;
  /** A pub/sub channel of this check's own: ioredis' `keyPrefix` does not apply to channels. */
  channel(name: string): string;
  /** An ioredis client whose keys are under the prefix (`keyPrefix`), closed when the check ends. */
  client(options?: RedisOptions): Redis;
  /** The keys under the prefix now, full names, sorted. */
  keys(): Promise<string[]>;
}

/** A Redis key prefix of this check's own: every key under it is deleted when the check ends. */
export async function redisPrefix(): Promise<CheckRedis> {
  const url = await serverUrl('redis');
  const { Redis: RedisClient } = requireClient('ioredis') as typeof import('ioredis');
  const prefix = `tracecraft:${uniqueId()}:`;
  const clients: Redis[] = [];
  const open = (options: RedisOptions = {}): Redis => {
    const client = new RedisClient(url, { maxRetriesPerRequest: 1, ...options });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  // Created untraced: ioredis' instrumentation would draw its connect and INFO as the learner's spans.
  const admin = withoutTracing(() => open());
  const keys = (): Promise<string[]> =>
    untraced(async () => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 500);
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      return [...new Set(found)].sort();
    });

  afterCheck(async () => {
    await untraced(async () => {
      await atMost(CLEANUP_STEP_MS, (async () => {
        const leftovers = await keys();
        // Only the keys under this check's prefix: never FLUSHDB, never a pattern wider than the prefix.
        if (leftovers.length > 0) await admin.unlink(...leftovers);
      })());
      await atMost(CLEANUP_STEP_MS, Promise.all(clients.map((client) => client.quit())));
    });
    for (const client of clients) client.disconnect();
  });

  return {
    prefix,
    url,
    key: (name) => prefix + name,
    channel: (name) => prefix + name,
    client: (options = {}) => open({ ...options, keyPrefix: prefix }),
    keys,
  };
}

/** Escapes Redis glob characters, so that the prefix matches only itself. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

// ---- RabbitMQ: queue and exchange names per check ------------------------------------------------------

export interface CheckRabbitmq {
  url: string;
  /** A queue name of this check's own (`<name>.tracecraft-<id>`), deleted when the check ends. */
  queue(name: string): string;
  /** An exchange name of this check's own, deleted when the check ends. */
  exchange(name: string): string;
  /** An amqplib connection, closed when the check ends. */
  connect(): Promise<ChannelModel>;
}

/**
 * RabbitMQ names of this check's own. Names rather than a vhost per check: creating vhosts needs the
 * management plugin (or rabbitmqctl), which a learner's RabbitMQ may not have; AMQP itself cannot.
 */
export async function rabbitmqNames(): Promise<CheckRabbitmq> {
  const url = await serverUrl('rabbitmq');
  const amqp = requireClient('amqplib') as typeof import('amqplib');
  const suffix = `tracecraft-${uniqueId()}`;
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const connections: ChannelModel[] = [];
  const connect = async (): Promise<ChannelModel> => {
    const connection = await amqp.connect(url);
    connection.on('error', () => undefined);
    connections.push(connection);
    return connection;
  };

  afterCheck(async () => {
    await atMost(CLEANUP_STEP_MS, Promise.all(connections.map((connection) => connection.close())));
    if (queues.size === 0 && exchanges.size === 0) return;
    await untraced(() =>
      atMost(CLEANUP_STEP_MS * 2, (async () => {
        const admin = await amqp.connect(url);
        admin.on('error', () => undefined);
        try {
          // A channel per deletion: an error (a name never declared, on an old RabbitMQ) closes only its channel.
          const remove = async (run: (channel: Awaited<ReturnType<ChannelModel['createChannel']>>) => Promise<unknown>): Promise<void> => {
            const channel = await admin.createChannel();
            channel.on('error', () => undefined);
            await run(channel).catch(() => undefined);
            await channel.close().catch(() => undefined);
          };
          await Promise.all([
            ...[...queues].map((queue) => remove((channel) => channel.deleteQueue(queue))),
            ...[...exchanges].map((exchange) => remove((channel) => channel.deleteExchange(exchange))),
          ]);
        } finally {
          await admin.close().catch(() => undefined);
        }
      })()),
    );
  });

  return {
    url,
    queue(name) {
      const queue = `${name}.${suffix}`;
      queues.add(queue);
      return queue;
    },
    exchange(name) {
      const exchange = `${name}.${suffix}`;
      exchanges.add(exchange);
      return exchange;
    },
    connect,
  };
}

// ---- NATS JetStream: stream, subject and consumer names per check ----------------------------------------

export interface CheckNats {
  url: string;
  /** What nats.js' `connect` needs for this server (it ignores credentials written in a URL). */
  connectOptions: ReturnType<typeof natsConnectOptions>;
  /** A stream name of this check's own (`<name>_tracecraft_<id>`), deleted when the check ends. */
  stream(name: string): string;
  /**
   * A subject under this check's own first token (`tracecraft_<id>.<name>`): streams on these
   * subjects never overlap another check's or the learner's (a stream on `>` aside).
   */
  subject(name: string): string;
  /** A durable consumer name of this check's own. */
  consumer(name: string): string;
  /** A NATS connection, closed when the check ends. */
  connect(): Promise<NatsConnection>;
}

/**
 * NATS names of this check's own. When the check ends, the streams it named are deleted, and so is
 * any other stream whose subjects all lie under the check's subject token (consumers go with them).
 */
export async function natsNames(): Promise<CheckNats> {
  const url = await serverUrl('nats');
  const [{ connect: natsConnect }, { jetstreamManager }] = await Promise.all([
    import('@nats-io/transport-node'),
    import('@nats-io/jetstream'),
  ]);
  const id = `tracecraft_${uniqueId()}`;
  const connectOptions = natsConnectOptions(url);
  const streams = new Set<string>();
  const connections: NatsConnection[] = [];
  const connect = async (): Promise<NatsConnection> => {
    const connection = await natsConnect({ ...connectOptions, timeout: 2_000 });
    connections.push(connection);
    return connection;
  };

  afterCheck(async () => {
    await atMost(CLEANUP_STEP_MS, Promise.all(connections.map((connection) => connection.close())));
    await atMost(CLEANUP_STEP_MS * 2, (async () => {
      const admin = await natsConnect({ ...connectOptions, timeout: 2_000 });
      try {
        const manager = await jetstreamManager(admin);
        const mine = new Set(streams);
        for await (const info of manager.streams.list(`${id}.>`)) {
          if ((info.config.subjects ?? []).every((subject) => subject.startsWith(`${id}.`))) mine.add(info.config.name);
        }
        await Promise.all([...mine].map((stream) => manager.streams.delete(stream).catch(() => false)));
      } finally {
        await admin.close().catch(() => undefined);
      }
    })());
  });

  return {
    url,
    connectOptions,
    stream(name) {
      const stream = `${name}_${id}`;
      streams.add(stream);
      return stream;
    },
    subject: (name) => `${id}.${name}`,
    consumer: (name) => `${name}_${id}`,
    connect,
  };
}

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { LOCAL_HOST } from './specs.ts';

const gunzip = promisify(zlib.gunzip);

/** A server this process started and must stop. */
export interface StartedServer {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /**
   * A gzipped dump of a freshly initialised data directory, reused to skip initdb
   * (about 1 s to start instead of 4–5 s). Created on the first start; `null` turns the cache off.
   * Default: {@link defaultTemplateFile}.
   */
  templateFile?: string | null;
  /**
   * Client connections served at once (a pool opens several). They all share PGlite's single
   * session, queued query by query, so session state (SET, temp tables) is shared too; only the
   * `search_path` of each connection's startup options is kept apart (see below).
   */
  maxConnections?: number;
}

/** Two checker files at once, each with a pool or two and the checks' own connection. */
export const EMBEDDED_MAX_CONNECTIONS = 64;

/** PGlite names its only database and user `postgres`. */
function embeddedUrl(host: string, port: number): string {
  return `postgres://postgres@${host}:${port}/postgres`;
}

function pgliteVersionAndCacheDir(): { version: string; cacheDir: string } {
  const require = createRequire(import.meta.url);
  // .../node_modules/@electric-sql/pglite/dist/index.cjs → the package folder
  const packageDir = path.resolve(path.dirname(require.resolve('@electric-sql/pglite')), '..');
  const manifest: unknown = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const version =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string'
      ? manifest.version
      : 'unknown';
  const nodeModules = path.resolve(packageDir, '..', '..');
  const cacheDir =
    path.basename(nodeModules) === 'node_modules'
      ? path.join(nodeModules, '.cache', 'tracecraft')
      : path.join(os.tmpdir(), 'tracecraft');
  return { version, cacheDir };
}

/** `node_modules/.cache/tracecraft/pglite-<version>-template.tar.gz`: keyed by version, gone with a reinstall. */
export function defaultTemplateFile(): string {
  const { version, cacheDir } = pgliteVersionAndCacheDir();
  return path.join(cacheDir, `pglite-${version}-template.tar.gz`);
}

/**
 * The template's tar, or undefined when there is none or it is damaged. Gunzipping here checks the
 * gzip CRC: PGlite itself crashes the process with an unhandled zlib error on a truncated archive.
 */
async function readTemplate(file: string): Promise<Buffer | undefined> {
  try {
    return await gunzip(await readFile(file));
  } catch {
    return undefined;
  }
}

/** Best effort: the template is a cache, so failing to write it only costs time on the next start. */
async function writeTemplate(file: string, db: PGlite): Promise<void> {
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    const dump = await db.dumpDataDir('gzip');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(temp, new Uint8Array(await dump.arrayBuffer()));
    await rename(temp, file);
  } catch {
    await rm(temp, { force: true });
  }
}

async function openDatabase(templateFile: string | null): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (templateFile === null) return PGlite.create();
  const template = await readTemplate(templateFile);
  if (template !== undefined) {
    try {
      return await PGlite.create({ loadDataDir: new Blob([new Uint8Array(template)]) });
    } catch {
      // A template PGlite refuses (another version's, or damaged inside the tar): rebuild it below.
    }
  }
  const db = await PGlite.create();
  await writeTemplate(templateFile, db);
  return db;
}

/**
 * A fresh in-memory PostgreSQL (PGlite) served on a free loopback port, so that ordinary clients
 * (`pg`) connect with a normal URL. Runs inside this process: keep it alive while clients use it.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<StartedServer> {
  const templateFile = options.templateFile === undefined ? defaultTemplateFile() : options.templateFile;
  const db = await openDatabase(templateFile);
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const server = new PGLiteSocketServer({
    db,
    host: LOCAL_HOST,
    port: 0,
    maxConnections: options.maxConnections ?? EMBEDDED_MAX_CONNECTIONS,
  });
  try {
    giveEachConnectionItsSearchPath(server, db);
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  // getServerConn() is `host:port` with the port the OS chose.
  const port = Number(server.getServerConn().split(':').pop());
  let stopped: Promise<void> | undefined;
  return {
    url: embeddedUrl(LOCAL_HOST, port),
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopped;
    },
  };
}

/** PostgreSQL's default, restored for a connection that asked for none. */
const DEFAULT_SEARCH_PATH = '"$user", public';
/** What a search_path from a client may contain before it is written into a SET statement. */
const SAFE_SEARCH_PATH = /^[\w$", ]+$/;
/** The protocol version field of a startup message: 3.0. */
const PROTOCOL_3 = 196608;

export const SOCKET_CHANGED =
  '@electric-sql/pglite-socket changed: its query queue (queryQueue.enqueue) is gone, so each connection cannot keep its search_path';

/** The part of pglite-socket 0.2.17's internal queue that every message of every connection passes through. */
interface SocketQueue {
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number>;
}

/**
 * On a real server, `options=-c search_path=…` in a connection's startup message sets that
 * connection's search_path, which is how each check gets its own schema (see src/checks/servers.ts).
 * PGlite has one session for every connection and ignores startup options. So the socket's queue
 * is watched: each connection's startup search_path is remembered, and whenever the queue moves to
 * a connection whose search_path differs from the session's, a `SET search_path` runs first (never
 * inside a transaction: the queue serves only the connection that holds one).
 *
 * It reaches into pglite-socket's internals (`queryQueue`), which is why both packages are pinned
 * exactly; test/services/embedded-postgres.test.ts fails if an upgrade breaks it.
 */
function giveEachConnectionItsSearchPath(server: PGLiteSocketServer, db: PGlite): void {
  const queue = (server as unknown as { queryQueue?: Partial<SocketQueue> }).queryQueue;
  if (queue === undefined || typeof queue.enqueue !== 'function') throw new Error(SOCKET_CHANGED);
  const enqueue = queue.enqueue.bind(queue);
  const owners = new WeakMap<Uint8Array, number>();
  const startups = new WeakSet<Uint8Array>();
  const wanted = new Map<number, string>();
  queue.enqueue = (handlerId, message, onData) => {
    const startup = startupParameters(message);
    if (startup !== undefined) {
      startups.add(message);
      wanted.set(handlerId, searchPathOption(startup.get('options')) ?? DEFAULT_SEARCH_PATH);
    }
    owners.set(message, handlerId);
    return enqueue(handlerId, message, onData);
  };

  let current = DEFAULT_SEARCH_PATH;
  const exec = db.execProtocolRawStream.bind(db);
  db.execProtocolRawStream = async (message, options) => {
    const owner = owners.get(message);
    const path = owner === undefined ? undefined : wanted.get(owner);
    if (path !== undefined && path !== current && !startups.has(message) && !db.isInTransaction()) {
      await exec(queryMessage(`SET search_path TO ${path}`), { onRawData: () => undefined });
      current = path;
    }
    return exec(message, options);
  };
}

/** The parameters of a startup message (length, protocol 3.0, then `key\0value\0` pairs), or undefined. */
function startupParameters(message: Uint8Array): Map<string, string> | undefined {
  if (message.length < 8) return undefined;
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (view.getInt32(0) !== message.length || view.getInt32(4) !== PROTOCOL_3) return undefined;
  const fields = Buffer.from(message.subarray(8)).toString('utf8').split('\0');
  const parameters = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i];
    if (key) parameters.set(key, fields[i + 1] ?? '');
  }
  return parameters;
}

/** `-c search_path=a,b` (or `--search_path=a`) in the startup `options`, as libpq and pg send it. */
function searchPathOption(options: string | undefined): string | undefined {
  const match = /(?:-c\s*|--)search_path=((?:\\ |\S)+)/.exec(options ?? '');
  const path = match?.[1]?.replace(/\\ /g, ' ');
  return path !== undefined && SAFE_SEARCH_PATH.test(path) ? path : undefined;
}

/** A simple-protocol Query message ('Q', length, SQL, NUL). */
function queryMessage(sql: string): Uint8Array {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + body.length);
  message.write('Q', 0, 'latin1');
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return new Uint8Array(message);
}

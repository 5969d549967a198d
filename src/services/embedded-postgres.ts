import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { PGlite } from '@electric-sql/pglite';
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
   * session, queued query by query, so session state (SET, temp tables) is shared too.
   */
  maxConnections?: number;
}

export const EMBEDDED_MAX_CONNECTIONS = 32;

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

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTemplateFile, portOpen, startEmbeddedPostgres } from '../../src/services/index.ts';
import type { StartedServer } from '../../src/services/index.ts';
import { queryOnce } from './pg.ts';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tracecraft-pglite-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function withServer(server: StartedServer, use: (url: string) => Promise<void>): Promise<void> {
  try {
    await use(server.url);
  } finally {
    await server.stop();
  }
}

describe('startEmbeddedPostgres', () => {
  it('serves PGlite on a loopback URL that pg connects to, and stops it', async () => {
    // The default template cache (node_modules/.cache/tracecraft), as the resolver uses it.
    const server = await startEmbeddedPostgres();
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);

    await withServer(server, async (url) => {
      await queryOnce(url, 'create table orders (id serial primary key, total int not null)');
      await queryOnce(url, 'insert into orders (total) values (40), (2)');
      expect(await queryOnce(url, 'select sum(total)::int as sum from orders')).toEqual([{ sum: 42 }]);

      // A pool opens several connections at once; they all reach the same database.
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      try {
        const counts = await Promise.all(
          [1, 2, 3, 4].map(() => pool.query<{ n: number }>('select count(*)::int as n from orders')),
        );
        expect(counts.map((result) => result.rows[0]?.n)).toEqual([2, 2, 2, 2]);
      } finally {
        await pool.end();
      }
    });

    expect(await portOpen(portOf(server.url))).toBe(false);
    await server.stop(); // a second stop is harmless
    expect(gunzipSync(await fs.readFile(defaultTemplateFile())).length).toBeGreaterThan(0);
  });

  it('writes a template on the first start and starts a fresh database from it next time', async () => {
    const templateFile = path.join(dir, 'reuse', 'template.tar.gz');
    await withServer(await startEmbeddedPostgres({ templateFile }), async (url) => {
      await queryOnce(url, 'create table leftovers (id int)');
    });
    const template = await fs.readFile(templateFile);
    expect(gunzipSync(template).length).toBeGreaterThan(0);

    await withServer(await startEmbeddedPostgres({ templateFile }), async (url) => {
      const tables = await queryOnce<{ n: number }>(
        url,
        "select count(*)::int as n from information_schema.tables where table_name = 'leftovers'",
      );
      expect(tables).toEqual([{ n: 0 }]);
    });
    // Loaded, not rewritten. (Buffer.equals: a deep toEqual over megabytes takes half a minute.)
    expect((await fs.readFile(templateFile)).equals(template)).toBe(true);
  });

  it('replaces a truncated template instead of crashing on it', async () => {
    const templateFile = path.join(dir, 'damaged', 'template.tar.gz');
    await fs.mkdir(path.dirname(templateFile), { recursive: true });
    // Half of a gzip stream (as a write cut short would leave): PGlite alone would die of an
    // unhandled zlib error on this.
    const whole = gzipSync(randomBytes(64 * 1024));
    await fs.writeFile(templateFile, whole.subarray(0, whole.length >> 1));

    await withServer(await startEmbeddedPostgres({ templateFile }), async (url) => {
      expect(await queryOnce(url, 'select 1 as one')).toEqual([{ one: 1 }]);
    });
    expect(gunzipSync(await fs.readFile(templateFile)).length).toBeGreaterThan(0);
  });
});

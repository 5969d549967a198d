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

  it("keeps each connection's startup search_path, though PGlite has one session for them all", async () => {
    await withServer(await startEmbeddedPostgres(), async (url) => {
      await queryOnce(url, 'create schema a; create schema b; create table a.t (v text); create table b.t (v text)');
      const inSchema = (schema: string): pg.Pool =>
        new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 3 });
      const [a, b, plain] = [inSchema('a'), inSchema('b'), new pg.Pool({ connectionString: url, max: 2 })];
      try {
        // Interleaved, unqualified, parametrized: each insert lands in its own connection's schema.
        await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).query('insert into t values ($1)', [i % 2 === 0 ? 'a' : 'b'])));
        const counts = await queryOnce<{ s: string; v: string; n: number }>(
          url,
          "select 'a' as s, v, count(*)::int as n from a.t group by v union all select 'b', v, count(*)::int from b.t group by v order by s",
        );
        expect(counts).toEqual([
          { s: 'a', v: 'a', n: 20 },
          { s: 'b', v: 'b', n: 20 },
        ]);
        const paths = await Promise.all([a, b, plain].map(async (pool) => (await pool.query<{ search_path: string }>('show search_path')).rows[0]?.search_path));
        expect(paths).toEqual(['a', 'b', '"$user", public']);
      } finally {
        await Promise.all([a.end(), b.end(), plain.end()]);
      }
    });
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localUrl, SERVER_SPECS, startEmbeddedPostgres, type StartedServer } from '../../src/services/index.ts';

// What a learner's pg code meets on the embedded PGlite (the default) and on a real PostgreSQL
// (WORKBOOK_POSTGRES_URL, or the local server): the same answers where the exercises depend on
// them, and the differences src/services/README.md lists, each pinned here on both.

interface Server {
  label: string;
  embedded: boolean;
  url(): string;
}

let pglite: StartedServer | undefined;
beforeAll(async () => {
  pglite = await startEmbeddedPostgres();
}, 60_000);
afterAll(async () => {
  await pglite?.stop();
});

const SERVERS: Server[] = [
  { label: 'PGlite (embedded)', embedded: true, url: () => pglite?.url ?? '' },
  { label: 'PostgreSQL (local)', embedded: false, url: () => localUrl(SERVER_SPECS.postgres) },
];

let n = 0;
/** A schema of this test's own, through the startup option the checks' pools use. */
async function schemaPool(server: Server, max = 4): Promise<{ pool: pg.Pool; drop(): Promise<void> }> {
  const schema = `tracecraft_both_${process.pid}_${n++}`;
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const pool = new pg.Pool({ connectionString: server.url(), options: `-c search_path=${schema}`, max });
  return {
    pool,
    async drop() {
      await pool.end();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

const EVENTS = 'create table events (stream_id text not null, version int not null, type text not null, unique (stream_id, version))';

/** Inserts one event in its own transaction; resolves to the SQLSTATE it failed with, or 'ok'. */
async function append(pool: pg.Pool, version: number, hold?: Promise<void>): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('insert into events values ($1, $2, $3)', ['order-1', version, 'Placed']);
    await hold;
    await client.query('commit');
    return 'ok';
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    return (error as { code?: string }).code ?? String(error);
  } finally {
    client.release();
  }
}

describe.each(SERVERS)('$label', (server) => {
  it('serves a pool\'s concurrent parametrized queries, each with its own answer', async () => {
    const { pool, drop } = await schemaPool(server, 8);
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.query<{ v: number }>('select $1::int * 2 as v', [i])));
      expect(answers.map((a) => a.rows[0]?.v)).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    } finally {
      await drop();
    }
  });

  it('reports a duplicate (stream_id, version) as 23505 with the constraint\'s name, and writes nothing', async () => {
    const { pool, drop } = await schemaPool(server);
    try {
      await pool.query(EVENTS);
      expect(await append(pool, 1)).toBe('ok');
      const error = await pool.query('insert into events values ($1, $2, $3)', ['order-1', 1, 'Again']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '23505', constraint: 'events_stream_id_version_key' });
      expect((await pool.query('select count(*)::int as n from events')).rows).toEqual([{ n: 1 }]);
    } finally {
      await drop();
    }
  });

  it('lets exactly one of two concurrent transactions append the same version', async () => {
    const { pool, drop } = await schemaPool(server);
    try {
      await pool.query(EVENTS);
      const outcomes = await Promise.all([append(pool, 1), append(pool, 1)]);
      expect(outcomes.sort()).toEqual(['23505', 'ok']);
      expect((await pool.query('select count(*)::int as n from events')).rows).toEqual([{ n: 1 }]);
    } finally {
      await drop();
    }
  });

  it(
    server.embedded
      ? 'makes another client wait while one holds a transaction open (one session: transactions are serialized)'
      : 'answers another client at once while one holds a transaction open, without the uncommitted row',
    async () => {
      const { pool, drop } = await schemaPool(server);
      try {
        await pool.query(EVENTS);
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        const writer = append(pool, 1, held);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const reader = pool.query<{ n: number }>('select count(*)::int as n from events').then((r) => r.rows[0]?.n);
        const early = await Promise.race([reader, new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
        release();
        expect(await writer).toBe('ok');
        if (server.embedded) {
          expect(early).toBe('waiting');
          expect(await reader).toBe(1);
        } else {
          expect(early).toBe(0);
        }
      } finally {
        await drop();
      }
    },
  );

  it(
    server.embedded
      ? 'shares SET and session locks between connections, but keeps each connection\'s startup search_path'
      : 'keeps SET, session locks and the search_path per connection',
    async () => {
      const { pool, drop } = await schemaPool(server);
      const other = await schemaPool(server);
      try {
        const [a, b] = [await pool.connect(), await pool.connect()];
        await a.query("set application_name = 'set-by-a'");
        const seen = (await b.query<{ application_name: string }>('show application_name')).rows[0]?.application_name;
        const lockA = (await a.query<{ got: boolean }>('select pg_try_advisory_lock(42) as got')).rows[0]?.got;
        const lockB = (await b.query<{ got: boolean }>('select pg_try_advisory_lock(42) as got')).rows[0]?.got;
        await a.query('select pg_advisory_unlock_all()');
        await b.query('select pg_advisory_unlock_all()');
        a.release();
        b.release();
        const paths = await Promise.all([pool, other.pool].map(async (p) => (await p.query<{ search_path: string }>('show search_path')).rows[0]?.search_path));
        expect(lockA).toBe(true);
        expect(new Set(paths).size).toBe(2);
        if (server.embedded) {
          expect(seen).toBe('set-by-a');
          expect(lockB).toBe(true);
        } else {
          expect(seen).not.toBe('set-by-a');
          expect(lockB).toBe(false);
        }
      } finally {
        await other.drop();
        await drop();
      }
    },
  );

  it(
    server.embedded
      ? 'shares named prepared statements between connections: a second connection preparing the same name fails'
      : 'keeps named prepared statements per connection',
    async () => {
      const { pool, drop } = await schemaPool(server);
      try {
        const [a, b] = [await pool.connect(), await pool.connect()];
        const named = { name: 'one-plus', text: 'select $1::int + 1 as v', values: [1] };
        await a.query(named);
        const second = await b.query(named).then(
          () => 'ok',
          (error: { code?: string }) => error.code,
        );
        a.release();
        b.release(true);
        expect(second).toBe(server.embedded ? '42P05' : 'ok');
      } finally {
        await drop();
      }
    },
  );
});

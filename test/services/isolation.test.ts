import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, postgresSchema, rabbitmqNames, redisPrefix } from '../../src/checks/servers.ts';
import { localUrl, SERVER_SPECS, startEmbeddedPostgres, type StartedServer } from '../../src/services/index.ts';
import { queryOnce } from './pg.ts';

// Each helper gives a check a space of its own on a real server. Here two "checks" use the same
// logical names at the same time, and data that belongs to nobody's check (a learner's) sits
// beside them: each sees only its own, and when the check ends its space is gone and the rest is
// as it was. The checks' own tests (vitest, like the checkers) run these helpers directly.

const tag = (): string => randomBytes(4).toString('hex');

/** Sets WORKBOOK_<NAME>_URL for the tests of one describe block, as the runner does for a checker. */
function handUrl(variable: string, url: () => string): void {
  let before: string | undefined;
  beforeAll(() => {
    before = process.env[variable];
    process.env[variable] = url();
  });
  afterAll(() => {
    if (before === undefined) delete process.env[variable];
    else process.env[variable] = before;
  });
}

function postgresIsolation(label: string, url: () => string): void {
  describe(`postgresSchema on ${label}`, () => {
    handUrl('WORKBOOK_POSTGRES_URL', url);
    const learnerTable = `learner_orders_${tag()}`;
    let schemas: string[] = [];

    beforeAll(async () => {
      await queryOnce(url(), `create table public.${learnerTable} (id int primary key, note text)`);
      await queryOnce(url(), `insert into public.${learnerTable} values (1, 'the learner''s own row')`);
    });
    afterAll(async () => {
      await queryOnce(url(), `drop table if exists public.${learnerTable}`);
    });

    it('gives two checks at once their own schema, behind the same table names', async () => {
      const [a, b] = await Promise.all([postgresSchema(), postgresSchema()]);
      schemas = [a.schema, b.schema];
      expect(a.schema).not.toBe(b.schema);
      const pools = [a.pool({ max: 3 }), b.pool({ max: 3 })] as const;
      // Unqualified names, as the learner's code writes them; the pool's search_path picks the schema.
      await Promise.all(pools.map((pool) => pool.query('create table orders (id int primary key, owner text not null)')));
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => pools[i % 2]!.query('insert into orders values ($1, $2)', [i, i % 2 === 0 ? 'a' : 'b'])),
      );
      for (const [pool, owner] of [[pools[0], 'a'], [pools[1], 'b']] as const) {
        const rows = await pool.query<{ owner: string; n: number }>('select owner, count(*)::int as n from orders group by owner');
        expect(rows.rows).toEqual([{ owner, n: 15 }]);
      }
      // A pool the learner's code opens itself from the URL lands in the same schema.
      const own = new pg.Pool({ connectionString: a.url });
      expect((await own.query('select count(*)::int as n from orders')).rows).toEqual([{ n: 15 }]);
      await own.end();
      expect(await a.query('select count(*)::int as n from orders')).toEqual([{ n: 15 }]);
      // The learner's table in public is not in the check's path.
      await expect(pools[0].query(`select * from ${learnerTable}`)).rejects.toThrow(/does not exist/);
    });

    it('drops both schemas when the check ends, and leaves the learner\'s table as it was', async () => {
      const left = await queryOnce<{ n: number }>(
        url(),
        `select count(*)::int as n from information_schema.schemata where schema_name in ('${schemas.join("','")}')`,
      );
      expect(left).toEqual([{ n: 0 }]);
      expect(await queryOnce(url(), `select id, note from public.${learnerTable}`)).toEqual([{ id: 1, note: "the learner's own row" }]);
    });
  });
}

let embedded: StartedServer | undefined;
describe('on the embedded PGlite', () => {
  beforeAll(async () => {
    embedded = await startEmbeddedPostgres();
  }, 60_000);
  afterAll(async () => {
    await embedded?.stop();
  });
  postgresIsolation('the embedded PGlite (one shared session)', () => embedded?.url ?? '');
});

postgresIsolation('the local PostgreSQL', () => localUrl(SERVER_SPECS.postgres));

describe('redisPrefix on the local Redis', () => {
  handUrl('WORKBOOK_REDIS_URL', () => localUrl(SERVER_SPECS.redis));
  const learnerKey = `learner:sentinel:${tag()}`;
  let raw: Redis;
  let prefixes: string[] = [];

  beforeAll(async () => {
    raw = new Redis(localUrl(SERVER_SPECS.redis));
    await raw.set(learnerKey, 'the learner\'s own value');
  });
  afterAll(async () => {
    await raw.del(learnerKey);
    await raw.quit();
  });

  it('gives two checks at once their own keys and channels behind the same names', async () => {
    const [a, b] = await Promise.all([redisPrefix(), redisPrefix()]);
    prefixes = [a.prefix, b.prefix];
    const [ca, cb] = [a.client(), b.client()];
    await Promise.all([ca.set('price:sku-1', '10', 'PX', 60_000), cb.set('price:sku-1', '99', 'PX', 60_000)]);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? ca : cb).incr('hits')));
    expect([await ca.get('price:sku-1'), await cb.get('price:sku-1')]).toEqual(['10', '99']);
    expect([await ca.get('hits'), await cb.get('hits')]).toEqual(['10', '10']);
    expect(await a.keys()).toEqual([a.key('hits'), a.key('price:sku-1')]);
    expect(await raw.get(a.key('price:sku-1'))).toBe('10');

    const heard: string[] = [];
    const listener = a.client();
    await listener.subscribe(a.channel('invalidate'));
    const received = new Promise<void>((resolve) =>
      listener.on('message', (_channel: string, message: string) => {
        heard.push(message);
        resolve();
      }),
    );
    await cb.publish(b.channel('invalidate'), 'from b');
    await ca.publish(a.channel('invalidate'), 'from a');
    await received;
    expect(heard).toEqual(['from a']);
  });

  it('deletes every key under both prefixes when the check ends, and only those', async () => {
    for (const prefix of prefixes) expect(await raw.keys(`${prefix}*`)).toEqual([]);
    expect(await raw.get(learnerKey)).toBe('the learner\'s own value');
  });
});

describe('rabbitmqNames on the local RabbitMQ', () => {
  handUrl('WORKBOOK_RABBITMQ_URL', () => localUrl(SERVER_SPECS.rabbitmq));
  const learnerQueue = `learner-orders-${tag()}`;
  let raw: amqp.ChannelModel;
  let names: string[] = [];

  beforeAll(async () => {
    raw = await amqp.connect(localUrl(SERVER_SPECS.rabbitmq));
    const channel = await raw.createChannel();
    await channel.assertQueue(learnerQueue);
    channel.sendToQueue(learnerQueue, Buffer.from('the learner\'s own message'));
    await channel.close();
  });
  afterAll(async () => {
    const channel = await raw.createChannel();
    await channel.deleteQueue(learnerQueue);
    await raw.close();
  });

  it('gives two checks at once their own queues and exchanges behind the same names', async () => {
    const [a, b] = await Promise.all([rabbitmqNames(), rabbitmqNames()]);
    names = [a.queue('orders'), b.queue('orders'), a.exchange('events'), b.exchange('events')];
    expect(new Set(names).size).toBe(4);
    const users = await Promise.all(
      [a, b].map(async (user, index) => {
        const connection = await user.connect();
        const channel = await connection.createConfirmChannel();
        await channel.assertExchange(user.exchange('events'), 'fanout', { durable: false });
        await channel.assertQueue(user.queue('orders'));
        await channel.bindQueue(user.queue('orders'), user.exchange('events'), '');
        for (let i = 0; i < 5; i++) channel.publish(user.exchange('events'), '', Buffer.from(`user ${index} #${i}`));
        await channel.waitForConfirms();
        return { channel, user, index };
      }),
    );
    for (const { channel, user, index } of users) {
      const bodies: string[] = [];
      for (let message = await channel.get(user.queue('orders')); message !== false; message = await channel.get(user.queue('orders'))) {
        bodies.push(message.content.toString());
        channel.ack(message);
      }
      expect(bodies).toEqual([0, 1, 2, 3, 4].map((i) => `user ${index} #${i}`));
    }
  });

  it('deletes both checks\' queues and exchanges when the check ends, and leaves the learner\'s queue as it was', async () => {
    for (const name of names) {
      const channel = await raw.createChannel();
      // A check of a missing name closes its channel with a 404: the answer we hope for.
      channel.on('error', () => undefined);
      const gone = await (name.startsWith('orders') ? channel.checkQueue(name) : channel.checkExchange(name)).then(
        () => false,
        () => true,
      );
      expect(gone, `${name} is deleted`).toBe(true);
    }
    const channel = await raw.createChannel();
    expect((await channel.checkQueue(learnerQueue)).messageCount).toBe(1);
    await channel.close();
  });
});

describe('natsNames on the local NATS JetStream', () => {
  handUrl('WORKBOOK_NATS_URL', () => localUrl(SERVER_SPECS.nats));
  const learner = { stream: `LEARNER_${tag()}`, subject: `learner_${tag()}.orders` };
  let streams: string[] = [];

  async function withManager<T>(use: (manager: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> {
    const connection = await natsConnect({ servers: '127.0.0.1:4222' });
    try {
      return await use(await jetstreamManager(connection));
    } finally {
      await connection.close();
    }
  }

  beforeAll(async () => {
    const connection = await natsConnect({ servers: '127.0.0.1:4222' });
    const manager = await jetstreamManager(connection);
    await manager.streams.add({ name: learner.stream, subjects: [learner.subject] });
    await jetstream(connection).publish(learner.subject, 'the learner\'s own message');
    await connection.close();
  });
  afterAll(async () => {
    await withManager((manager) => manager.streams.delete(learner.stream));
  });

  it('gives two checks at once their own streams, subjects and consumers behind the same names', async () => {
    const [a, b] = await Promise.all([natsNames(), natsNames()]);
    const users = await Promise.all(
      [a, b].map(async (user, index) => {
        const connection = await user.connect();
        const manager = await jetstreamManager(connection);
        await manager.streams.add({ name: user.stream('ORDERS'), subjects: [user.subject('orders.*')] });
        // A stream the code names itself, on the check's subjects: deleted with the check's too.
        await manager.streams.add({ name: `AUDIT_${tag()}`, subjects: [user.subject('audit')] });
        await manager.consumers.add(user.stream('ORDERS'), { durable_name: user.consumer('billing'), ack_policy: 'explicit' });
        const js = jetstream(connection);
        for (let i = 0; i < 4; i++) await js.publish(user.subject('orders.created'), `user ${index} #${i}`);
        await js.publish(user.subject('audit'), 'audited');
        return { connection, user, index };
      }),
    );
    streams = [];
    for (const { connection, user, index } of users) {
      const consumer = await jetstream(connection).consumers.get(user.stream('ORDERS'), user.consumer('billing'));
      const batch = await consumer.fetch({ max_messages: 10, expires: 1_000 });
      const bodies: string[] = [];
      for await (const message of batch) {
        bodies.push(message.string());
        message.ack();
        if (bodies.length === 4) break;
      }
      expect(bodies).toEqual([0, 1, 2, 3].map((i) => `user ${index} #${i}`));
      const manager = await jetstreamManager(connection);
      for await (const info of manager.streams.list(user.subject('>'))) streams.push(info.config.name);
    }
    expect(streams).toHaveLength(4);
  });

  it('deletes every stream of both checks when the check ends, and leaves the learner\'s stream as it was', async () => {
    await withManager(async (manager) => {
      for (const stream of streams) {
        await expect(manager.streams.info(stream), `${stream} is deleted`).rejects.toThrow(/not found/i);
      }
      expect((await manager.streams.info(learner.stream)).state.messages).toBe(1);
    });
  });
});

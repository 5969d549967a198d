import { randomBytes } from 'node:crypto';
import path from 'node:path';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localUrl, SERVER_SPECS } from '../../src/services/index.ts';
import { copyWorkbook, REPO_ROOT, runCli, type CliRun } from '../support/workbook.ts';
import { queryOnce } from './pg.ts';
import { freePort } from './spawned.ts';

// `npm run check` on a workbook whose exercises need real servers (test/fixtures/services: one per
// server and one that needs all four, solved already), run the way a learner, a learner without
// servers, and CI run it.

interface JsonReport {
  status: string;
  exercises: { id: string; status: string; message?: string; tests: { name: string; status: string; message?: string }[] }[];
  summary: Record<string, number>;
}

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'services');
const ALL = ['event-log', 'cache', 'work-queue', 'stream', 'all-four'];
/** The CI variable is cleared unless a test sets it: these runs are a learner's. */
const LEARNER = { TRACECRAFT_REQUIRE_SERVERS: '', WORKBOOK_POSTGRES_URL: '', WORKBOOK_REDIS_URL: '', WORKBOOK_RABBITMQ_URL: '', WORKBOOK_NATS_URL: '' };

let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
beforeAll(async () => {
  workbook = await copyWorkbook(FIXTURE);
});
afterAll(() => workbook.remove());

function check(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(['check', '--root', workbook.root, ...args], { env: { ...LEARNER, ...env } });
}

function parse(run: CliRun): JsonReport {
  return JSON.parse(run.stdout) as JsonReport;
}

function statuses(report: JsonReport): Record<string, string> {
  return Object.fromEntries(report.exercises.map((e) => [e.id, e.status]));
}

/** A stack trace in the output: what a learner must never see for a missing server. */
const STACK_FRAME = /^\s+at .+[:(]\d+/m;

describe('with every server found (the embedded PGlite and the local servers)', () => {
  it('grades every exercise, and all pass', async () => {
    const run = await check(['--track', 'infrastructure', '--json'], {});
    expect(run.stderr).toBe('');
    expect(statuses(parse(run))).toEqual(Object.fromEntries(ALL.map((id) => [id, 'pass'])));
    expect(run.code).toBe(0);
  });
});

describe('with the servers stopped (or WORKBOOK_*_URL pointing at closed ports)', () => {
  let closed: Record<string, string>;
  beforeAll(async () => {
    const [redis, rabbitmq, nats] = await Promise.all([freePort(), freePort(), freePort()]);
    closed = {
      WORKBOOK_REDIS_URL: `redis://127.0.0.1:${redis}`,
      WORKBOOK_RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${rabbitmq}`,
      WORKBOOK_NATS_URL: `nats://127.0.0.1:${nats}`,
    };
  });

  it('grades the PGlite exercise, skips the others with the command that provides each server, and exits 0', async () => {
    const run = await check(['--track', 'infrastructure', '--json'], closed);
    const report = parse(run);
    expect(statuses(report)).toEqual({ 'event-log': 'pass', cache: 'skipped', 'work-queue': 'skipped', stream: 'skipped', 'all-four': 'skipped' });
    expect(run.code).toBe(0);
    const message = (id: string): string => report.exercises.find((e) => e.id === id)?.message ?? '';
    expect(message('cache')).toContain(`WORKBOOK_REDIS_URL=${closed.WORKBOOK_REDIS_URL} names one that cannot be used`);
    expect(message('cache')).toContain('docker run -d -p 6379:6379 redis:7-alpine');
    expect(message('work-queue')).toContain('docker run -d -p 5672:5672 rabbitmq:3-alpine');
    expect(message('stream')).toContain('docker run -d -p 4222:4222 nats:2-alpine -js');
    // All four are needed: the three missing ones are each named, PostgreSQL is not.
    expect(message('all-four').match(/is needed by this exercise/g)).toHaveLength(3);
    expect(message('all-four')).not.toContain('PostgreSQL');
    expect(`${run.stdout}\n${run.stderr}`).not.toMatch(STACK_FRAME);
  });

  it('shows a learner the sentence and the commands in words, without a stack trace', async () => {
    const run = await check(['cache'], closed);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('- cache');
    expect(run.stdout).toContain(`nothing is listening on 127.0.0.1:${new URL(closed.WORKBOOK_REDIS_URL ?? '').port}`);
    expect(run.stdout).toContain('export WORKBOOK_REDIS_URL=redis://host:6379');
    expect(run.stdout).toContain('Total: 0 passed, 0 failed, 0 errored, 1 skipped (1 exercise)');
    expect(`${run.stdout}\n${run.stderr}`).not.toMatch(STACK_FRAME);
  });

  it('in CI (TRACECRAFT_REQUIRE_SERVERS=1) runs them anyway and fails each check with the same sentence, never skipping', async () => {
    const run = await check(['--track', 'infrastructure', '--json'], { ...closed, TRACECRAFT_REQUIRE_SERVERS: '1' });
    const report = parse(run);
    expect(report.summary['skipped']).toBe(0);
    expect(run.code).not.toBe(0);
    expect(statuses(report)['event-log']).toBe('pass');
    for (const id of ['cache', 'work-queue', 'stream', 'all-four']) {
      const exercise = report.exercises.find((e) => e.id === id);
      expect(exercise?.status, id).not.toBe('pass');
      const failed = exercise?.tests.find((t) => t.status !== 'pass');
      expect(failed?.message, id).toMatch(/is needed by this exercise, and WORKBOOK_\w+_URL=\S+ names one that cannot be used/);
    }
    expect(`${run.stdout}\n${run.stderr}`).not.toMatch(STACK_FRAME);
  });
});

describe('on the local servers, beside a learner\'s own data', () => {
  const tag = randomBytes(4).toString('hex');
  const learner = {
    schema: `learner_shop_${tag}`,
    table: `learner_orders_${tag}`,
    key: `learner:${tag}:cart`,
    hash: `learner:${tag}:profile`,
    queue: `learner-jobs-${tag}`,
    exchange: `learner-events-${tag}`,
    stream: `LEARNER_${tag}`,
    subject: `learner_${tag}.orders`,
  };
  const pgUrl = localUrl(SERVER_SPECS.postgres);
  let redis: Redis;
  let rabbit: amqp.ChannelModel;

  async function nats<T>(use: (connection: Awaited<ReturnType<typeof natsConnect>>) => Promise<T>): Promise<T> {
    const connection = await natsConnect({ servers: '127.0.0.1:4222' });
    try {
      return await use(connection);
    } finally {
      await connection.close();
    }
  }

  beforeAll(async () => {
    await queryOnce(pgUrl, `create table public.${learner.table} (id int primary key, total int)`);
    await queryOnce(pgUrl, `insert into public.${learner.table} values (1, 40), (2, 2)`);
    await queryOnce(pgUrl, `create schema ${learner.schema}; create table ${learner.schema}.events (id int); insert into ${learner.schema}.events values (7)`);
    redis = new Redis(localUrl(SERVER_SPECS.redis));
    await redis.set(learner.key, 'three apples');
    await redis.hset(learner.hash, { name: 'Ada', plan: 'pro' });
    rabbit = await amqp.connect(localUrl(SERVER_SPECS.rabbitmq));
    const channel = await rabbit.createConfirmChannel();
    await channel.assertExchange(learner.exchange, 'fanout');
    await channel.assertQueue(learner.queue);
    channel.sendToQueue(learner.queue, Buffer.from('job 1'));
    channel.sendToQueue(learner.queue, Buffer.from('job 2'));
    await channel.waitForConfirms();
    await channel.close();
    await nats(async (connection) => {
      const manager = await jetstreamManager(connection);
      await manager.streams.add({ name: learner.stream, subjects: [learner.subject] });
      await manager.consumers.add(learner.stream, { durable_name: 'learner-billing', ack_policy: 'explicit' });
      for (const id of ['order-1', 'order-2', 'order-3']) await jetstream(connection).publish(learner.subject, id);
    });
  });

  afterAll(async () => {
    await queryOnce(pgUrl, `drop table if exists public.${learner.table}; drop schema if exists ${learner.schema} cascade`);
    await redis.del(learner.key, learner.hash);
    await redis.quit();
    const channel = await rabbit.createChannel();
    await channel.deleteQueue(learner.queue);
    await channel.deleteExchange(learner.exchange);
    await rabbit.close();
    await nats(async (connection) => (await jetstreamManager(connection)).streams.delete(learner.stream));
  });

  it('passes every exercise on the real PostgreSQL too (WORKBOOK_POSTGRES_URL), run twice', async () => {
    for (const round of [1, 2]) {
      const run = await check(['--track', 'infrastructure', '--json'], { WORKBOOK_POSTGRES_URL: pgUrl });
      expect(statuses(parse(run)), `round ${round}`).toEqual(Object.fromEntries(ALL.map((id) => [id, 'pass'])));
    }
  });

  it('leaves the learner\'s tables, keys, queues and streams exactly as they were', async () => {
    expect(await queryOnce(pgUrl, `select id, total from public.${learner.table} order by id`)).toEqual([
      { id: 1, total: 40 },
      { id: 2, total: 2 },
    ]);
    expect(await queryOnce(pgUrl, `select id from ${learner.schema}.events`)).toEqual([{ id: 7 }]);
    expect(await redis.get(learner.key)).toBe('three apples');
    expect(await redis.hgetall(learner.hash)).toEqual({ name: 'Ada', plan: 'pro' });
    const channel = await rabbit.createChannel();
    expect((await channel.checkQueue(learner.queue)).messageCount).toBe(2);
    await channel.checkExchange(learner.exchange);
    await channel.close();
    await nats(async (connection) => {
      const manager = await jetstreamManager(connection);
      expect((await manager.streams.info(learner.stream)).state.messages).toBe(3);
      expect((await manager.consumers.info(learner.stream, 'learner-billing')).num_pending).toBe(3);
    });
  });
});

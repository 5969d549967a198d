/**
 * The rig of the transactional-outbox checks: a PostgreSQL schema and RabbitMQ names of the check's
 * own, the learner's tables in it, the exchange and queue declared, the learner's consumer running,
 * and a queue of the checks' own bound beside it that sees every message published. The checks' own
 * SQL and AMQP work runs untraced.
 */
import type { Channel, ConfirmChannel, ChannelModel, GetMessage } from 'amqplib';
import type { Pool } from 'pg';
import {
  afterCheck,
  fail,
  postgresSchema,
  rabbitmqNames,
  random,
  show,
  withoutTracing,
  type CheckRabbitmq,
  type CheckSchema,
  type SpanNode,
  type TraceHarness,
} from '#checks';
import type { migrate } from '#target/05-infrastructure/03-transactional-outbox/migrations.ts';
import type { declareTopology } from '#target/05-infrastructure/03-transactional-outbox/topology.ts';
import type { placeOrder } from '#target/05-infrastructure/03-transactional-outbox/orders.ts';
import type { relayOnce } from '#target/05-infrastructure/03-transactional-outbox/relay.ts';
import type { startConsumer } from '#target/05-infrastructure/03-transactional-outbox/consumer.ts';
import type { Order } from '#target/05-infrastructure/03-transactional-outbox/order.ts';

export interface Target {
  migrate: typeof migrate;
  declareTopology: typeof declareTopology;
  placeOrder: typeof placeOrder;
  relayOnce: typeof relayOnce;
  startConsumer: typeof startConsumer;
}

export const ROUTING_KEY = 'order.placed';
export const PLACE = 'place order';
export const ATTR_ORDER_ID = 'app.order.id';
export const ATTR_DUPLICATE = 'app.shipping.duplicate';

export interface Rig {
  target: Target;
  schema: CheckSchema;
  rabbit: CheckRabbitmq;
  /** The pool the learner's code gets (the consumer has one of its own). */
  pool: Pool;
  consumerPool: Pool;
  connection: ChannelModel;
  exchange: string;
  /** The shipping service's queue, consumed by the learner's consumer. */
  queue: string;
  /** A queue of the checks' own, bound like `queue`: it keeps a copy of every message published. */
  observed: string;
  /** A channel of the checks' own (declarations, reading `observed`, publishing copies). */
  admin: Channel;
  /** Every message taken from `observed` so far, in order. */
  seen: GetMessage[];
}

/**
 * A schema, the learner's tables, RabbitMQ names, the topology and the observer queue. The learner's
 * consumer is started later, with `startTheConsumer`, once the relay has run: on PGlite a relay's
 * query outside a transaction must not meet the consumer's (see postgres-turns.ts).
 */
export async function openRig(target: Target): Promise<Rig> {
  const [schema, rabbit] = await Promise.all([postgresSchema(), rabbitmqNames()]);
  const pool = schema.pool({ max: 4 });
  const consumerPool = schema.pool({ max: 4 });
  const exchange = rabbit.exchange('orders');
  const queue = rabbit.queue('shipping');
  const observed = rabbit.queue('observed');
  const setUp = await settle(
    withoutTracing(async () => {
      await target.migrate(pool);
      const connection = await rabbit.connect();
      const admin = await connection.createChannel();
      admin.on('error', () => undefined);
      await target.declareTopology(admin, exchange, queue);
      await admin.assertQueue(observed, { durable: false });
      await admin.bindQueue(observed, exchange, ROUTING_KEY);
      return { connection, admin };
    }),
  );
  if (!setUp.ok) fail(`the checks could not set up the tables and the broker (migrate, declareTopology): ${show(setUp.error)}`);
  // Registered last, so it runs first: no delivery reaches the consumer once its pool is ending.
  afterCheck(() => setUp.value.connection.close().catch(() => undefined));
  return { target, schema, rabbit, pool, consumerPool, ...setUp.value, exchange, queue, observed, seen: [] };
}

export async function startTheConsumer(r: Rig): Promise<void> {
  const channel = await r.connection.createChannel();
  channel.on('error', () => undefined);
  const started = await settle(r.target.startConsumer(channel, r.queue, r.consumerPool));
  if (!started.ok) fail(`startConsumer(channel, "${r.queue}", pool) rejected with ${show(started.error)}`);
}

/** A confirm channel for one run of the relay (a fresh relay process would open its own). */
export async function relayChannel(r: Rig): Promise<ConfirmChannel> {
  const channel = await r.connection.createConfirmChannel();
  // A refused publish closes the channel with an 'error' event; the relay sees it as a failed confirm.
  channel.on('error', () => undefined);
  afterCheck(() => channel.close().catch(() => undefined));
  return channel;
}

export function newOrder(): Order {
  return { id: random.id('order-'), sku: random.id('sku-'), quantity: random.int(1, 9) };
}

export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------------------------

export interface OutboxRow {
  message_id: string;
  topic: string;
  payload: unknown;
  trace_context: Record<string, unknown> | null;
  sent: boolean;
}

async function read<Row extends Record<string, unknown>>(r: Rig, sql: string, what: string, values: unknown[] = []): Promise<Row[]> {
  const got = await settle(r.schema.query<Row>(sql, values));
  if (!got.ok) fail(`the checks could not read ${what} (${sql}): ${show(got.error)}`);
  return got.value;
}

export function outboxRows(r: Rig): Promise<OutboxRow[]> {
  return read<OutboxRow & Record<string, unknown>>(
    r,
    'select message_id::text as message_id, topic, payload, trace_context, sent_at is not null as sent from outbox order by position',
    'the outbox table',
  );
}

export async function orderIds(r: Rig): Promise<string[]> {
  return (await read<{ id: string }>(r, 'select id from orders order by id', 'the orders table')).map((row) => row.id);
}

/** How many shipments each order has. */
export async function shipmentsByOrder(r: Rig): Promise<Map<string, number>> {
  const rows = await read<{ order_id: string; n: number }>(r, 'select order_id, count(*)::int as n from shipments group by order_id', 'the shipments table');
  return new Map(rows.map((row) => [row.order_id, Number(row.n)]));
}

/** Takes every message waiting in the observer queue into `r.seen`; returns the ones taken now. */
export async function takeObserved(r: Rig): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  await withoutTracing(async () => {
    for (;;) {
      const message = await r.admin.get(r.observed, { noAck: true });
      if (message === false) break;
      taken.push(message);
    }
  });
  r.seen.push(...taken);
  return taken;
}

/** Publishes a copy of a message the relay published (same body, id and headers), as a broker redelivering it would. */
export function publishCopy(r: Rig, message: GetMessage): void {
  withoutTracing(() => r.admin.publish(r.exchange, message.fields.routingKey, message.content, { ...message.properties, headers: { ...message.properties.headers } }));
}

/** Makes the database refuse every `op` (INSERT or UPDATE) on `table`, as a crash at that point would leave it. */
export async function refuse(r: Rig, op: 'INSERT' | 'UPDATE', table: string): Promise<() => Promise<void>> {
  const name = `tracecraft_refuse_${op.toLowerCase()}_${table}`;
  await r.schema.query(
    `create or replace function ${name}() returns trigger language plpgsql as $$
     begin raise exception 'the checks refuse this ${op} on ${table}' using errcode = 'check_violation'; end $$`,
  );
  await r.schema.query(`create trigger ${name} before ${op.toLowerCase()} on ${table} for each row execute function ${name}()`);
  return async () => {
    await r.schema.query(`drop trigger ${name} on ${table}`);
  };
}

// ---------------------------------------------------------------------------------------------
// Waiting for the consumer
// ---------------------------------------------------------------------------------------------

/** The consumer's spans of instrumentation-amqplib (`<queue> process`), ended ones only. */
export function consumerSpans(otel: TraceHarness, r: Rig): SpanNode[] {
  return otel.traces().flatMap((t) => t.spans).filter((s) => s.kind === 'consumer' && s.name === `${r.queue} process` && s.ended);
}

/** Polls `done` every 20 ms until it holds or `ms` passed; false on time out. */
export async function eventually(done: () => Promise<boolean> | boolean, ms = 1_500): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits until the consumer settled `deliveries` deliveries of the shipping queue: instrumentation-amqplib
 * ends each CONSUMER span when its message is acknowledged (or rejected).
 */
export async function waitForDeliveries(otel: TraceHarness, r: Rig, deliveries: number, what: string): Promise<void> {
  const done = await eventually(() => consumerSpans(otel, r).length >= deliveries);
  if (!done) {
    fail(
      `${what}: the consumer settled ${consumerSpans(otel, r).length} of the ${deliveries} deliveries of "${r.queue}" within 1.5 s ` +
        '(each delivery is acknowledged once its transaction committed)',
    );
  }
}

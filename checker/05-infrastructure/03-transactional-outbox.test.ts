import { beforeEach, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import {
  expectAllEnded,
  expectThat,
  expectTrace,
  fail,
  importTarget,
  random,
  show,
  useInstrumentations,
  useTracing,
  verify,
  type SpanNode,
  type SpanShape,
} from '#checks';
import {
  ATTR_DUPLICATE,
  ATTR_ORDER_ID,
  PLACE,
  ROUTING_KEY,
  consumerSpans,
  eventually,
  newOrder,
  openRig,
  orderIds,
  outboxRows,
  publishCopy,
  refuse,
  relayChannel,
  settle,
  shipmentsByOrder,
  startTheConsumer,
  takeObserved,
  waitForDeliveries,
  type Rig,
  type Target,
} from './03-transactional-outbox.rig.ts';
import { takePostgresTurn } from './postgres-turns.ts';
import type { Order } from '#target/05-infrastructure/03-transactional-outbox/order.ts';

const otel = useTracing();
// amqplib is patched only when it first loads: the instrumentations first, then the code under test.
useInstrumentations([new PgInstrumentation(), new AmqplibInstrumentation()]);
const DIR = '#target/05-infrastructure/03-transactional-outbox';
const [{ migrate }, { declareTopology }, { placeOrder }, { relayOnce }, { startConsumer }] = await Promise.all([
  importTarget<typeof import('#target/05-infrastructure/03-transactional-outbox/migrations.ts')>(`${DIR}/migrations.ts`, ['migrate']),
  importTarget<typeof import('#target/05-infrastructure/03-transactional-outbox/topology.ts')>(`${DIR}/topology.ts`, ['declareTopology']),
  importTarget<typeof import('#target/05-infrastructure/03-transactional-outbox/orders.ts')>(`${DIR}/orders.ts`, ['placeOrder']),
  importTarget<typeof import('#target/05-infrastructure/03-transactional-outbox/relay.ts')>(`${DIR}/relay.ts`, ['relayOnce']),
  importTarget<typeof import('#target/05-infrastructure/03-transactional-outbox/consumer.ts')>(`${DIR}/consumer.ts`, ['startConsumer']),
]);
const target: Target = { migrate, declareTopology, placeOrder, relayOnce, startConsumer };
// Every check on PostgreSQL waits for its turn here, outside its own time limit (see postgres-turns.ts).
beforeEach(takePostgresTurn);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Places the orders one after the other, each inside a request span of the checks' own (`POST /orders`, SERVER). */
async function placeAll(r: Rig, orders: readonly Order[], asRequest = true): Promise<string[]> {
  const ids: string[] = [];
  for (const order of orders) {
    const run = (): Promise<string> => r.target.placeOrder(r.pool, order);
    const placed = await settle(
      asRequest ? otel.tracer('tracecraft.checks').startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, (span) => run().finally(() => span.end())) : run(),
    );
    if (!placed.ok) fail(`placeOrder(pool, ${show(order)}) rejected with ${show(placed.error)}`);
    ids.push(placed.value);
  }
  return ids;
}

/** One run of the relay on a fresh confirm channel, inside a span of the checks' own (`relay poll`): a timer's tick in a real service. */
async function relay(r: Rig): Promise<{ ok: true; value: number } | { ok: false; error: unknown }> {
  const channel = await relayChannel(r);
  return settle(otel.tracer('tracecraft.checks').startActiveSpan('relay poll', (span) => r.target.relayOnce(r.pool, channel, r.exchange).finally(() => span.end())));
}

async function relayAll(r: Rig, what: string): Promise<number> {
  const ran = await relay(r);
  if (!ran.ok) fail(`relayOnce(pool, channel, "${r.exchange}") ${what} rejected with ${show(ran.error)}`);
  return ran.value;
}

async function expectEverySent(r: Rig, what: string): Promise<void> {
  const rows = await outboxRows(r);
  verify(rows.filter((row) => !row.sent).map((row) => row.message_id), `the outbox rows still unsent ${what}`).equals([]);
}

async function expectShippedOnce(r: Rig, orders: readonly Order[], what: string): Promise<void> {
  const shipped = await shipmentsByOrder(r);
  verify(
    orders.map((o) => ({ order: o.id, shipments: shipped.get(o.id) ?? 0 })),
    `the shipments of each order ${what} (every event arrives, and a duplicate ships nothing more)`,
  ).equals(orders.map((o) => ({ order: o.id, shipments: 1 })));
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('placeOrder writes the order and its outbox row in one transaction: the event, its trace context, not sent yet', async () => {
  const r = await openRig(target);
  const orders = [newOrder(), newOrder()];
  const ids = await placeAll(r, orders);
  verify((await orderIds(r)).sort(), 'the ids in the orders table').equals(orders.map((o) => o.id).sort());
  const rows = await outboxRows(r);
  verify(
    rows.map((row) => ({ topic: row.topic, payload: row.payload, sent: row.sent })),
    'the outbox rows, in the order they were written',
  ).equals(orders.map((o) => ({ topic: ROUTING_KEY, payload: { type: 'OrderPlaced', orderId: o.id, sku: o.sku, quantity: o.quantity }, sent: false })));
  verify(rows.map((row) => row.message_id), 'the message_id of the outbox rows (placeOrder resolves it)').equals(ids);
  for (const id of ids) verify(id, 'a message id').matches(UUID);
  for (const row of rows) {
    expectThat(
      typeof row.trace_context?.['traceparent'] === 'string',
      'each outbox row stores the propagation headers of the span that wrote it: trace_context holds a "traceparent"',
      `trace_context of the row ${row.message_id} is ${show(row.trace_context)}`,
    );
  }
  // The outbox INSERT fails: the order must not be written either.
  const allow = await refuse(r, 'INSERT', 'outbox');
  const order = newOrder();
  const refused = await settle(r.target.placeOrder(r.pool, order));
  expectThat(!refused.ok, `placeOrder(pool, ${show(order)}) rejects when the database refuses its outbox row`, refused.ok ? `it resolved ${show(refused.value)}` : undefined);
  await allow();
  verify(await orderIds(r), `the rows of the orders table after the outbox row of ${order.id} was refused (no order without its event)`).excludes(order.id);
});

it('the relay publishes every unsent row in order, with the row\'s message id, and marks each sent: a second run publishes nothing', async () => {
  const r = await openRig(target);
  const orders = Array.from({ length: random.int(2, 4) }, newOrder);
  const ids = await placeAll(r, orders);
  verify(await relayAll(r, 'with every row unsent'), `what relayOnce resolved with ${orders.length} unsent rows (how many it published)`).is(orders.length);
  await expectEverySent(r, 'after relayOnce');
  const taken = await takeObserved(r);
  verify(
    taken.map((m) => ({ routingKey: m.fields.routingKey, messageId: m.properties.messageId, body: JSON.parse(m.content.toString('utf8')) as unknown })),
    `the messages published to "${r.exchange}", in order`,
  ).equals(orders.map((o, i) => ({ routingKey: ROUTING_KEY, messageId: ids[i], body: { type: 'OrderPlaced', orderId: o.id, sku: o.sku, quantity: o.quantity } })));
  verify(await relayAll(r, 'with every row sent'), 'what a second relayOnce resolved (nothing is left to publish)').is(0);
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, orders.length, `${orders.length} orders relayed`);
  verify(await takeObserved(r), 'the messages the second relayOnce published').hasCount(0, 'message');
  await expectShippedOnce(r, orders, `after ${orders.length} orders were relayed`);
});

it('a relay killed between the commit and the publish loses nothing: a row whose publish the broker refused stays unsent, and the next relay publishes it', async () => {
  const r = await openRig(target);
  const orders = Array.from({ length: random.int(1, 3) }, newOrder);
  await placeAll(r, orders);
  // The broker refuses the publish: with the exchange gone, RabbitMQ closes the channel (404) and no confirm comes.
  await r.admin.deleteExchange(r.exchange);
  await relay(r);
  const rows = await outboxRows(r);
  verify(
    rows.filter((row) => row.sent).map((row) => row.message_id),
    'the outbox rows marked sent by a relayOnce whose publish the broker refused (a row is marked only after the broker confirmed it)',
  ).equals([]);
  await r.target.declareTopology(r.admin, r.exchange, r.queue);
  await r.admin.bindQueue(r.observed, r.exchange, ROUTING_KEY);
  verify(await relayAll(r, 'after the broker is back'), 'what the next relayOnce resolved (every row is still to publish)').is(orders.length);
  await expectEverySent(r, 'after the next relayOnce');
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, orders.length, 'the rows published by the next relay');
  await expectShippedOnce(r, orders, 'after the broker refused the first publish and the next relay published');
});

it('a relay killed between the publish and the mark publishes the row again, and the consumer ships it once', async () => {
  const r = await openRig(target);
  const orders = Array.from({ length: random.int(1, 3) }, newOrder);
  await placeAll(r, orders);
  // The crash comes after the broker confirmed and before the row is marked: the mark fails.
  const allow = await refuse(r, 'UPDATE', 'outbox');
  await relay(r);
  const published = await eventually(async () => (await takeObserved(r)).length > 0 || r.seen.length > 0);
  expectThat(published, 'the relay publishes before it marks the row sent: the broker got the first message although the mark failed', 'nothing was published');
  await allow();
  verify((await outboxRows(r)).filter((row) => row.sent), 'the outbox rows marked sent while the database refused the mark').hasCount(0, 'row');
  await relayAll(r, 'after the crash');
  await expectEverySent(r, 'after the next relayOnce');
  await takeObserved(r);
  const firstId = r.seen[0]?.properties.messageId as string;
  const copies = r.seen.filter((m) => m.properties.messageId === firstId);
  verify(copies.length, `the messages with the id ${firstId} (published before the crash, and again by the next relay)`).is(2);
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, r.seen.length, `${r.seen.length} messages published, one of them twice`);
  await expectShippedOnce(r, orders, 'after the row was published twice');
});

it('the consumer is idempotent: a message delivered again (the same message id) ships nothing more', async () => {
  const r = await openRig(target);
  const orders = Array.from({ length: random.int(2, 3) }, newOrder);
  await placeAll(r, orders);
  await relayAll(r, 'with every row unsent');
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, orders.length, `${orders.length} orders relayed`);
  const originals = await takeObserved(r);
  // Every message again, the first one twice more: at-least-once delivery, as after a lost ack.
  const again = [...random.shuffle(originals), ...originals.slice(0, 1)];
  for (const message of again) publishCopy(r, message);
  await waitForDeliveries(otel, r, orders.length + again.length, `${again.length} copies of delivered messages`);
  await expectShippedOnce(r, orders, `after ${again.length} more deliveries of the same messages`);
  const processed = await r.schema.query<{ n: number }>('select count(*)::int as n from processed_messages');
  verify(processed[0]?.n, 'the rows of processed_messages (one per message id)').is(orders.length);
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

/** The PRODUCER spans of instrumentation-amqplib for this rig's exchange. */
function producerSpans(r: Rig): SpanNode[] {
  return otel.traces().flatMap((t) => t.spans).filter((s) => s.kind === 'producer' && s.name === `publish ${r.exchange}`);
}

function producerShape(r: Rig, messageId: string, duplicate?: boolean): SpanShape {
  return {
    name: `publish ${r.exchange}`,
    kind: 'producer',
    attributes: { 'messaging.system': 'rabbitmq', 'messaging.destination': r.exchange, 'messaging.rabbitmq.routing_key': ROUTING_KEY, 'messaging.message_id': messageId },
    children: [
      {
        name: `${r.queue} process`,
        kind: 'consumer',
        attributes: { 'messaging.message_id': messageId, ...(duplicate === undefined ? {} : { [ATTR_DUPLICATE]: duplicate }) },
      },
    ],
  };
}

it('trace: the relay\'s PRODUCER span and the consumer\'s CONSUMER span continue the trace of the request that placed the order', async () => {
  const r = await openRig(target);
  const orders = Array.from({ length: random.int(2, 3) }, newOrder);
  const ids = await placeAll(r, orders);
  await relayAll(r, 'with every row unsent');
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, orders.length, `${orders.length} orders relayed`);
  await otel.settled();
  for (const [i, order] of orders.entries()) {
    const id = ids[i] ?? '';
    expectTrace(
      otel,
      {
        name: 'POST /orders',
        attributes: {},
        children: [{ name: PLACE, kind: 'internal', attributes: { [ATTR_ORDER_ID]: order.id }, children: [producerShape(r, id, false)] }],
      },
      `order ${order.id}: the relay published its row later, in the context stored in the row, so the PRODUCER span is a child of "${PLACE}" and the consumer's span a child of it`,
    );
  }
  const poll = otel.traces().flatMap((t) => t.spans).filter((s) => s.name === 'relay poll');
  verify(
    poll.flatMap((p) => p.children).filter((c) => c.kind === 'producer').map((c) => c.name),
    'the PRODUCER spans under the relay\'s own span "relay poll" (the relay must not start a trace of its own for an event)',
  ).equals([]);
  verify(producerSpans(r), 'the PRODUCER spans of the relay').hasCount(orders.length, 'PRODUCER span');
  expectAllEnded(otel);
});

it('trace: the outbox row stores the context of the place order span', async () => {
  const r = await openRig(target);
  const order = newOrder();
  await placeAll(r, [order]);
  await otel.settled();
  const place = otel.traces().flatMap((t) => t.spans).find((s) => s.name === PLACE);
  if (!place) fail(`placeOrder made no "${PLACE}" span`);
  const [row] = await outboxRows(r);
  verify(row?.trace_context?.['traceparent'], `the traceparent stored in the outbox row of ${order.id} (it names the "${PLACE}" span: 00-<its trace id>-<its span id>-01)`).is(
    `00-${place.traceId}-${place.spanId}-01`,
  );
});

it('trace: an order placed outside any request is a root place order span, and its PRODUCER span is still its child', async () => {
  const r = await openRig(target);
  const order = newOrder();
  const [id] = await placeAll(r, [order], false);
  await relayAll(r, 'with one row unsent');
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, 1, 'one order relayed');
  await otel.settled();
  expectTrace(otel, { name: PLACE, attributes: { [ATTR_ORDER_ID]: order.id }, children: [producerShape(r, id ?? '', false)] }, `order ${order.id}, placed with no span active`);
});

it('trace: a row published twice (a relay killed before its mark) is two PRODUCER spans under place order, and one of its two deliveries says it was a duplicate', async () => {
  const r = await openRig(target);
  const order = newOrder();
  const [id] = await placeAll(r, [order]);
  const allow = await refuse(r, 'UPDATE', 'outbox');
  await relay(r);
  await allow();
  await relayAll(r, 'after the crash');
  await startTheConsumer(r);
  await waitForDeliveries(otel, r, 2, 'the two publishes of the row');
  await otel.settled();
  const tree = expectTrace(
    otel,
    { name: 'POST /orders', children: [{ name: PLACE, children: [producerShape(r, id ?? '', false), producerShape(r, id ?? '', true)] }] },
    `order ${order.id}, whose row was published, not marked, and published again: both PRODUCER spans continue its trace, and the CONSUMER span of one delivery says ${ATTR_DUPLICATE}=false, of the other true`,
  );
  const consumers = tree.spans.filter((s) => s.kind === 'consumer');
  verify(consumers.map((s) => s.attributes[ATTR_DUPLICATE]).sort(), `${ATTR_DUPLICATE} of the two deliveries`).equals([false, true]);
  verify(consumerSpans(otel, r), 'the deliveries of the row').hasCount(2, 'delivery');
});

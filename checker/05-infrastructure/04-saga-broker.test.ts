import { it } from 'vitest';
import { counted, expectAllEnded, expectThat, expectTrace, fail, natsNames, random, show, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { CarrierUnavailableError, type ShopOperation } from '#kit';
import { openBroker } from '#target/05-infrastructure/04-saga-broker/broker.ts';
import { startShop } from '#target/05-infrastructure/04-saga-broker/shop-services.ts';
import type { Order, ShopTopic } from '#target/05-infrastructure/04-saga-broker/events.ts';
import { verifySequence } from '../03-architecture/sequences.ts';
import { bodyOf, ofOrder, randomOrder, startShop as startRig, unavailable, type Shop, type Stored } from './04-saga-broker.rig.ts';

const otel = useTracing();

const HAPPY: ShopTopic[] = ['OrderPlaced', 'InventoryReserved', 'PaymentSucceeded', 'OrderShipped'];
const DECLINED: ShopTopic[] = ['OrderPlaced', 'InventoryReserved', 'PaymentFailed'];

/** Who processes each topic, as consumer group names. */
const SUBSCRIBERS: Record<ShopTopic, string[]> = {
  OrderPlaced: ['inventory'],
  InventoryReserved: ['payment'],
  PaymentSucceeded: ['shipping'],
  PaymentFailed: ['inventory', 'order'],
  OrderShipped: ['order'],
};

const DELIVERY_COUNT = 'app.messaging.delivery_count';

const start = (options?: Parameters<typeof startRig>[2]): Promise<Shop> => startRig({ openBroker, startShop }, otel, options);

function decline(shop: Shop, order: Order): void {
  shop.backends.fail('charge', { orderId: order.id });
}

/** Every call of `operation` for the order, failed or not. */
const attempts = (shop: Shop, operation: ShopOperation, orderId: string): number =>
  shop.backends.journal.filter((e) => e.operation === operation && e.orderId === orderId).length;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('runs the saga to the end when the payment goes through: reserved, charged, shipped, status "shipped"', async () => {
  const shop = await start();
  const order = randomOrder();
  await shop.place(order);
  verify(shop.service.status(order.id), 'the status as soon as placeOrder resolves (the rest happens later, in the other services)').is('pending');
  await shop.settle('the order was placed');
  await expectEvents(shop, order, HAPPY, ['PaymentFailed'], 'the payment went through');
  verify(shop.service.status(order.id), 'the status once every consumer is done, after OrderShipped').is('shipped');
  const { backends } = shop;
  verify(backends.done('reserve', order.id).map((e) => ({ sku: e.sku, quantity: e.quantity })), 'the reservations made for the order').equals([{ sku: order.sku, quantity: order.quantity }]);
  verify(backends.done('charge', order.id).map((e) => e.amountCents), 'the amounts charged for the order').equals([order.amountCents]);
  verify(backends.done('ship', order.id).map((e) => e.address), 'the addresses the order was shipped to').equals([order.address]);
  verify(backends.done('release', order.id), 'the reservations released when the payment went through').hasCount(0, 'release');
});

it('when the payment is declined, PaymentFailed makes the inventory release the reservation and the order service cancel the order; a declined card is not charged again', async () => {
  const shop = await start();
  const order = randomOrder();
  decline(shop, order);
  await shop.place(order);
  await shop.settle('the order was placed');
  await expectEvents(shop, order, DECLINED, ['PaymentSucceeded', 'OrderShipped'], 'the payment was declined');
  verify(shop.service.status(order.id), 'the status once every consumer is done, after PaymentFailed').is('cancelled');
  verify(
    attempts(shop, 'charge', order.id),
    'the charges tried for an order whose card was declined (a declined card is an answer: publish PaymentFailed and acknowledge, do not throw for a redelivery)',
  ).hasCount(1, 'charge');
  const [reservation] = shop.backends.done('reserve', order.id);
  verify(shop.backends.done('release', order.id).map((e) => e.ref), 'the reservations released after PaymentFailed (the one made for this order, once)').equals([reservation?.ref]);
  verify(shop.backends.held(order.id), 'the stock still held for a cancelled order').is(0);
  verify(shop.backends.done('ship', order.id), 'the shipments of a cancelled order').hasCount(0, 'shipment');
});

it('keeps concurrent orders apart: each ends right, and each declined payment releases its own reservation', async () => {
  const shop = await start();
  const orders = Array.from({ length: random.int(3, 6) }, randomOrder);
  // The first order is declined every run, the second never; the others at random.
  const declined = new Set(orders.filter((_, i) => i === 0 || (i > 1 && random.int(0, 1) === 1)).map((o) => o.id));
  for (const order of orders) if (declined.has(order.id)) decline(shop, order);
  await Promise.all(orders.map((order) => shop.place(order)));
  await shop.settle(`${orders.length} orders were placed at once`);
  for (const order of orders) {
    const failed = declined.has(order.id);
    const what = `order ${order.id} (${failed ? 'payment declined' : 'payment accepted'}), placed with ${orders.length - 1} others`;
    verify(shop.service.status(order.id), `the status of ${what}`).is(failed ? 'cancelled' : 'shipped');
    verify(shop.backends.held(order.id), `the stock still held for ${what}`).is(failed ? 0 : order.quantity);
    const [reservation] = shop.backends.done('reserve', order.id);
    verify(shop.backends.done('release', order.id).map((e) => e.ref), `the reservations released for ${what}`).equals(failed ? [reservation?.ref] : []);
    verify(shop.backends.done('ship', order.id), `the shipments of ${what}`).hasCount(failed ? 0 : 1, 'shipment');
  }
});

it('redelivers a message whose handler failed until a delivery succeeds, up to the last allowed one, each consumer on its own', async () => {
  const shop = await start();
  const max = shop.config.maxDeliver;
  const [lastChance, chargeOutage, releaseOutage, reserveOutage] = [randomOrder(), randomOrder(), randomOrder(), randomOrder()];
  const releaseFailures = random.int(1, max - 1);
  const reserveFailures = random.int(1, max - 1);
  // Shipping fails on every delivery but the last allowed one.
  shop.backends.fail('ship', { orderId: lastChance.id, times: max - 1 });
  // The payment service is down once: that is not a declined card.
  shop.backends.fail('charge', { orderId: chargeOutage.id, times: 1, error: unavailable('payments') });
  decline(shop, releaseOutage);
  shop.backends.fail('release', { orderId: releaseOutage.id, times: releaseFailures });
  shop.backends.fail('reserve', { orderId: reserveOutage.id, times: reserveFailures, error: unavailable('inventory') });
  await Promise.all([lastChance, chargeOutage, releaseOutage, reserveOutage].map((o) => shop.place(o)));
  await shop.settle('four orders were placed, each with a backend that fails a few times');
  const of = `(maxDeliver ${max})`;

  verify(attempts(shop, 'ship', lastChance.id), `the shipments tried for order ${lastChance.id}, whose shipping fails ${max - 1} times ${of}: one per delivery of PaymentSucceeded, the last allowed one succeeds`).hasCount(max, 'shipment');
  verify(shop.service.status(lastChance.id), `the status of order ${lastChance.id}, shipped on the last allowed delivery ${of}`).is('shipped');

  verify(attempts(shop, 'charge', chargeOutage.id), `the charges tried for order ${chargeOutage.id}, whose payment service was down once (ServiceUnavailableError: throw it, so InventoryReserved is delivered again)`).hasCount(2, 'charge');
  verify(shop.service.status(chargeOutage.id), `the status of order ${chargeOutage.id}, whose payment service was down once and then charged it (an outage is not a declined card)`).is('shipped');
  verify(shop.backends.done('charge', chargeOutage.id), `the successful charges of order ${chargeOutage.id}`).hasCount(1, 'charge');

  verify(attempts(shop, 'release', releaseOutage.id), `the releases tried for declined order ${releaseOutage.id}, whose inventory fails to release it ${counted(releaseFailures, 'time')} ${of}`).hasCount(releaseFailures + 1, 'release');
  verify(shop.backends.held(releaseOutage.id), `the stock still held for declined order ${releaseOutage.id} once its release went through on a redelivery`).is(0);
  verify(shop.service.status(releaseOutage.id), `the status of declined order ${releaseOutage.id} (the order service processes its PaymentFailed on its own consumer, whatever the inventory's does)`).is('cancelled');

  verify(attempts(shop, 'reserve', reserveOutage.id), `the reservations tried for order ${reserveOutage.id}, whose inventory is down ${counted(reserveFailures, 'time')} ${of}`).hasCount(reserveFailures + 1, 'reservation');
  verify(shop.service.status(reserveOutage.id), `the status of order ${reserveOutage.id}, reserved on a redelivery`).is('shipped');
  verify(shop.backends.done('ship', reserveOutage.id), `the shipments of order ${reserveOutage.id}`).hasCount(1, 'shipment');
  const dead = (await shop.stored()).filter((m) => m.dead);
  verify(dead.map((m) => m.subject), `the dead letters, when every order succeeded within maxDeliver deliveries ${of}`).equals([]);
});

it('dead-letters a message whose every delivery failed: delivered exactly maxDeliver times, then stored on <prefix>.dead.<topic> with its body and headers, and never delivered again', async () => {
  const nats = await natsNames();
  for (const maxDeliver of [1, random.int(2, 5)]) {
    const shop = await start({ nats, maxDeliver, name: `shop${maxDeliver}` });
    const [poison, healthy] = [randomOrder(), randomOrder()];
    shop.backends.fail('ship', { orderId: poison.id });
    await Promise.all([poison, healthy].map((o) => shop.place(o)));
    await shop.settle('two orders were placed, one whose shipping fails every time');
    const of = `(maxDeliver ${maxDeliver})`;
    verify(attempts(shop, 'ship', poison.id), `the shipments tried for order ${poison.id}, whose carrier is unavailable every time: one per delivery of its PaymentSucceeded ${of}`).hasCount(maxDeliver, 'shipment');
    const stored = ofOrder(await shop.stored(), poison.id);
    const original = stored.find((m) => !m.dead && m.topic === 'PaymentSucceeded');
    if (!original) fail(`no PaymentSucceeded of order ${poison.id} was stored in the stream`);
    const dead = stored.filter((m) => m.dead);
    verify(dead.map((m) => m.subject), `the dead letters of order ${poison.id} once its last delivery failed ${of}`).equals([`${shop.config.subjectPrefix}.dead.PaymentSucceeded`]);
    const [letter] = dead as [Stored];
    verify(letter.data, 'the body of the dead letter (the message\'s data, unchanged)').is(original.data);
    verify(letter.traceparent, 'the traceparent header of the dead letter (the message\'s headers, unchanged: whoever replays it continues its trace)').is(original.traceparent);
    verify(ofOrder(await shop.stored(), poison.id).filter((m) => !m.dead && m.topic === 'OrderShipped'), `the OrderShipped messages of order ${poison.id}, never shipped`).hasCount(0, 'message');
    verify(shop.service.status(poison.id), `the status of order ${poison.id}, whose PaymentSucceeded waits in the dead letters`).is('pending');
    verify(shop.service.status(healthy.id), `the status of order ${healthy.id}, placed beside it (a poison message blocks nothing else)`).is('shipped');
    await new Promise((resolve) => setTimeout(resolve, 30));
    verify(attempts(shop, 'ship', poison.id), `the shipments tried for order ${poison.id} a while after it was dead-lettered (term() it: JetStream must not deliver it again) ${of}`).hasCount(maxDeliver, 'shipment');
  }
});

it('the consumers are durable, acknowledged explicitly, with max_deliver set: one per service and topic it processes', async () => {
  const shop = await start();
  const consumers = await shop.consumers();
  for (const [topic, services] of Object.entries(SUBSCRIBERS) as [ShopTopic, string[]][]) {
    const subject = `${shop.config.subjectPrefix}.${topic}`;
    const mine = consumers.filter((c) => c.config.filter_subject === subject || (c.config.filter_subjects ?? []).includes(subject));
    verify(mine, `the consumers of the stream reading ${subject} (one per service that processes ${topic}: ${services.join(', ')})`).hasCount(services.length, 'consumer');
  }
  for (const consumer of consumers) {
    const about = `consumer ${consumer.name} (filter ${show(consumer.config.filter_subject ?? consumer.config.filter_subjects)})`;
    expectThat(
      typeof consumer.config.durable_name === 'string' && consumer.config.durable_name !== '',
      'every consumer of the shop is durable (a durable_name), so the server keeps it and its position while the service is down',
      `${about} has no durable_name: it is an ordered or ephemeral consumer, made anew at every start`,
    );
    verify(consumer.config.ack_policy, `the ack_policy of ${about} (each delivery is acknowledged explicitly, after its work)`).is('explicit');
    verify(consumer.config.max_deliver, `the max_deliver of ${about} (the server's own limit, maxDeliver)`).is(shop.config.maxDeliver);
  }
});

it('a restarted shop resumes where its durable consumers left off: what was published while it was down is processed once, nothing earlier again', async () => {
  const shop = await start();
  const before = Array.from({ length: random.int(1, 3) }, randomOrder);
  await Promise.all(before.map((o) => shop.place(o)));
  await shop.settle(`${counted(before.length, 'order')} ${before.length === 1 ? 'was' : 'were'} placed`);
  const whileDown = Array.from({ length: random.int(1, 3) }, randomOrder);
  await shop.restart(async () => {
    for (const order of whileDown) await shop.publishAsAnotherInstance(order);
  });
  await shop.settle(`the shop was restarted, with ${counted(whileDown.length, 'order')} placed while it was down`);
  for (const order of before) {
    verify(attempts(shop, 'reserve', order.id), `the reservations tried for order ${order.id}, done before the restart (durable consumers resume after the last message they acknowledged; a new consumer at each start reads the stream from the beginning again)`).hasCount(1, 'reservation');
    verify(shop.backends.done('ship', order.id), `the shipments of order ${order.id}, done before the restart`).hasCount(1, 'shipment');
  }
  for (const order of whileDown) {
    const what = `order ${order.id}, published on ${shop.config.subjectPrefix}.OrderPlaced while the shop was down`;
    verify(attempts(shop, 'reserve', order.id), `the reservations tried for ${what} (the durable consumer kept it for the restarted service)`).hasCount(1, 'reservation');
    verify(shop.backends.done('ship', order.id), `the shipments of ${what}`).hasCount(1, 'shipment');
    verify(shop.service.status(order.id), `the status of ${what}, on the restarted shop`).is('shipped');
  }
});

// ---------------------------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------------------------

it('the whole saga is one trace across the broker: every span joins the trace of the request that placed the order', async () => {
  const shop = await start();
  for (const outcome of ['payment accepted', 'payment declined'] as const) {
    otel.reset();
    const order = randomOrder();
    if (outcome === 'payment declined') decline(shop, order);
    const request = await shop.placeWithin(order);
    await shop.settle('the order was placed');
    verifySequence(
      otel.spans().filter((s) => s.traceId !== request.traceId).map((s) => s.name),
      [],
      `the spans outside the request's trace (${outcome}; ${otel.traces().length} traces were recorded). JetStream delivers each message with nothing of the publisher's context: ` +
        'inject the context into the NATS headers when publishing (with a setter that calls headers.set), and start the CONSUMER span with the context extracted from them (with a getter that calls headers.get)',
    );
    expectAllEnded(otel, 'every span ends');
  }
});

it('every message carries a traceparent naming its PRODUCER span, and each CONSUMER span is a child of the PRODUCER named by the message it processes', async () => {
  const shop = await start();
  const [happy, declined, flaky] = [randomOrder(), randomOrder(), randomOrder()];
  decline(shop, declined);
  shop.backends.fail('ship', { orderId: flaky.id, times: 1 });
  await Promise.all([happy, declined, flaky].map((o) => shop.place(o)));
  await shop.settle('three orders were placed');
  const spans = otel.spans();
  const stored = (await shop.stored()).filter((m) => !m.dead);
  for (const message of stored) {
    if (message.traceparent === undefined) {
      fail(
        `message ${message.seq} on ${message.subject} was stored without a traceparent header: inject into NATS headers (headers()) while the PRODUCER span is active, ` +
          'with a setter that calls carrier.set(key, value) (the default setter writes a property, which never goes on the wire), and publish with { headers }',
      );
    }
    const producer = spans.find((s) => s.spanId === message.traceparent?.split('-')[2]);
    verify(producer && `${producer.name} ${producer.kind.toUpperCase()}`, `the span the traceparent of message ${message.seq} (${message.topic}) names (inject inside its PRODUCER span)`).is(`publish ${message.topic} PRODUCER`);
  }
  const consumers = spans.filter((s) => s.kind === 'consumer');
  verify(consumers.length, 'the CONSUMER spans "process <topic>" (every delivery of a message is processed in one)').isAtLeast(1);
  for (const consumer of consumers) {
    const message = stored.find((m) => m.traceparent?.split('-')[2] === consumer.parentSpanId);
    if (!message) {
      const parent = spans.find((s) => s.spanId === consumer.parentSpanId);
      fail(
        `the parent of "${consumer.name}" (service ${show(consumer.attributes['messaging.consumer.group.name'])}) is ${parent ? `"${parent.name}"` : consumer.parentSpanId === undefined ? 'none: it is a root' : 'a span that was not recorded'}, ` +
          'not the PRODUCER span named by the traceparent of any stored message: extract the context from message.headers (with a getter that calls carrier.get) and pass it as the parent when you start the CONSUMER span',
      );
    }
    verify(consumer.name, `the CONSUMER span of message ${message.seq}, stored on ${message.subject}`).is(`process ${message.topic}`);
  }
});

it('traces both sagas as chains: publish → process → publish …, each handler\'s work under its CONSUMER span, and PaymentFailed fanning out to two services', async () => {
  const shop = await start();
  const [accepted, declined] = [randomOrder(), randomOrder()];
  decline(shop, declined);
  await shop.placeWithin(accepted);
  await shop.place(declined);
  await shop.settle('two orders were placed');
  expectTrace(
    otel,
    { name: 'POST /orders', attributes: { 'app.order.id': accepted.id }, children: [happyTree(shop)] },
    'a publish made in a request or while processing a message is a child of that span; each CONSUMER span is a child of the PRODUCER of its message and is active while its handler runs',
  );
  expectTrace(
    otel,
    declinedTree(shop),
    'placed with no span active, the saga\'s root is "publish OrderPlaced"; one PaymentFailed message has two CONSUMER spans, one per service that processes it, and the release runs under the inventory\'s',
  );
  expectAllEnded(otel, 'every span ends');
});

it('each delivery is its own CONSUMER span in the message\'s trace: delivery counts 1, 2, …, the failed ones ERROR, a dead-lettered message\'s last one too', async () => {
  // Three deliveries at least, every run: a count that only says "redelivered or not" (1 or 2) is told apart.
  const shop = await start({ maxDeliver: random.int(3, 5) });
  const max = shop.config.maxDeliver;
  const [flaky, poison] = [randomOrder(), randomOrder()];
  const failures = random.int(1, max - 1);
  shop.backends.fail('ship', { orderId: flaky.id, times: failures });
  shop.backends.fail('ship', { orderId: poison.id });
  await Promise.all([flaky, poison].map((o) => shop.place(o)));
  await shop.settle('two orders were placed, one whose shipping fails a few times and one whose shipping always fails');
  for (const [order, failed, delivered] of [[flaky, failures, failures + 1], [poison, max, max]] as const) {
    const what =
      failed < delivered
        ? `order ${order.id}, whose shipping fails ${counted(failed, 'time')} and then succeeds (maxDeliver ${max})`
        : `order ${order.id}, whose shipping fails every time: dead-lettered after ${max} deliveries`;
    const producer = otel.spans().find((s) => s.kind === 'producer' && s.name === 'publish PaymentSucceeded' && inOrderTrace(s, order.id));
    if (!producer) fail(`no PRODUCER span "publish PaymentSucceeded" in the trace of ${what}`);
    const deliveries = producer.children.filter((s) => s.kind === 'consumer');
    verify(deliveries.map((s) => s.name), `the CONSUMER spans under "publish PaymentSucceeded" of ${what} (one per delivery, each a child of the PRODUCER span)`).equals(Array(delivered).fill('process PaymentSucceeded'));
    verify(deliveries.map((s) => s.attributes[DELIVERY_COUNT]), `${DELIVERY_COUNT} of those CONSUMER spans, in the order they started (message.info.deliveryCount)`).equals(Array.from({ length: delivered }, (_, i) => i + 1));
    deliveries.forEach((span, i) => {
      if (i < failed) {
        verify(span.status, `the status of delivery ${i + 1} of ${what} (its handler threw)`).is('error');
        verify(span.attributes['error.type'], `error.type on delivery ${i + 1} of ${what}`).is(new CarrierUnavailableError('').name);
      } else {
        verify(span.status, `the status of delivery ${i + 1} of ${what} (its handler succeeded)`).isNot('error');
      }
    });
  }
  expectAllEnded(otel, 'every span ends');
});

it('every PRODUCER and CONSUMER span carries the messaging attributes: messaging.system "nats", the subject, the operation type, the consumer group', async () => {
  const shop = await start();
  const [accepted, declined, flaky] = [randomOrder(), randomOrder(), randomOrder()];
  decline(shop, declined);
  shop.backends.fail('reserve', { orderId: flaky.id, times: 1, error: unavailable('inventory') });
  await Promise.all([accepted, declined, flaky].map((o) => shop.place(o)));
  await shop.settle('three orders were placed');
  const stored = (await shop.stored()).filter((m) => !m.dead);
  const producers = otel.spans().filter((s) => s.kind === 'producer');
  verifySequence(
    producers.map((s) => s.name).sort(),
    stored.map((m) => `publish ${m.topic}`).sort(),
    'the PRODUCER spans, sorted (one "publish <topic>" per message stored in the stream)',
  );
  for (const span of producers) {
    const topic = span.name.slice('publish '.length);
    verify(pick(span.attributes, ['messaging.system', 'messaging.destination.name', 'messaging.operation.type']), `the messaging attributes of "${span.name}"`).equals({
      'messaging.system': 'nats',
      'messaging.destination.name': `${shop.config.subjectPrefix}.${topic}`,
      'messaging.operation.type': 'send',
    });
  }
  for (const span of otel.spans().filter((s) => s.kind === 'consumer')) {
    const topic = span.name.slice('process '.length) as ShopTopic;
    verify(pick(span.attributes, ['messaging.system', 'messaging.destination.name', 'messaging.operation.type']), `the messaging attributes of "${span.name}"`).equals({
      'messaging.system': 'nats',
      'messaging.destination.name': `${shop.config.subjectPrefix}.${topic}`,
      'messaging.operation.type': 'process',
    });
    verify(span.attributes['messaging.consumer.group.name'], `messaging.consumer.group.name of "${span.name}" (the service that processes it)`).isOneOf(SUBSCRIBERS[topic] ?? []);
    const count = span.attributes[DELIVERY_COUNT];
    expectThat(typeof count === 'number' && Number.isInteger(count) && count >= 1, `${DELIVERY_COUNT} of "${span.name}" is the delivery's number (1, 2, …)`, `it is ${show(count)}`);
  }
});

it('two orders placed at the same time make two traces that do not mix', async () => {
  const shop = await start();
  const orders = random.shuffle([randomOrder(), randomOrder()]);
  const [first, second] = orders as [Order, Order];
  decline(shop, first);
  const requests = await Promise.all([shop.placeWithin(first), shop.placeWithin(second)]);
  await shop.settle('two orders were placed at once');
  const stored = (await shop.stored()).filter((m) => !m.dead);
  orders.forEach((order, i) => {
    const traceId = requests[i]?.traceId;
    const inTrace = otel.spans().filter((s) => s.traceId === traceId);
    const others = [...new Set(inTrace.map((s) => s.attributes['app.order.id']).filter((id) => id !== undefined && id !== order.id))];
    verify(others, `the other orders whose spans are in the trace of order ${order.id} (keep each message's context to itself, in its own headers)`).equals([]);
    verify(inTrace.filter((s) => s.kind === 'producer'), `the PRODUCER spans in the trace of order ${order.id} (every message of the order is published in it)`).hasCount(ofOrder(stored, order.id).length, 'PRODUCER span');
  });
});

// ---------------------------------------------------------------------------------------------
// The rig's reading of the stream and the shapes of the two sagas
// ---------------------------------------------------------------------------------------------

/** The saga's events of the order in this order in the stream (events of the learner's own may come between them), and `never` not at all. */
async function expectEvents(shop: Shop, order: Order, expected: ShopTopic[], never: ShopTopic[], what: string): Promise<void> {
  const topics = ofOrder(await shop.stored(), order.id).filter((m) => !m.dead).map((m) => m.topic);
  const inOrder: string[] = [];
  let from = 0;
  for (const topic of expected) {
    const at = topics.indexOf(topic, from);
    if (at < 0) break;
    inOrder.push(topic);
    from = at + 1;
  }
  verifySequence(inOrder, expected, `the saga's messages found in order in the stream when ${what} (stored: ${topics.join(', ') || 'nothing'})`);
  verifySequence(topics.filter((t) => (never as string[]).includes(t)), [], `the messages stored that must not be, when ${what}`);
  for (const topic of topics) {
    const body = bodyOf(ofOrder(await shop.stored(), order.id).find((m) => m.topic === topic) as Stored);
    verify(body?.order, `the order in the JSON body of its ${topic} message`).equals(order);
  }
}

/** True when the span's trace has a backend span of the order (the FakeShop puts app.order.id on each). */
function inOrderTrace(span: SpanNode, orderId: string): boolean {
  return otel.spans().some((s) => s.traceId === span.traceId && s.attributes['app.order.id'] === orderId);
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, record[key]]));
}

function producerShape(shop: Shop, topic: ShopTopic, children: SpanShape[]): SpanShape {
  return {
    name: `publish ${topic}`,
    kind: 'producer',
    attributes: { 'messaging.system': 'nats', 'messaging.destination.name': `${shop.config.subjectPrefix}.${topic}`, 'messaging.operation.type': 'send' },
    children,
  };
}

function consumerShape(shop: Shop, topic: ShopTopic, service: string, children: SpanShape[]): SpanShape {
  return {
    name: `process ${topic}`,
    kind: 'consumer',
    attributes: {
      'messaging.system': 'nats',
      'messaging.destination.name': `${shop.config.subjectPrefix}.${topic}`,
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': service,
      [DELIVERY_COUNT]: 1,
    },
    children,
  };
}

const client = (name: string, failed = false): SpanShape => ({ name, kind: 'client', ...(failed ? { status: 'error' as const } : {}) });

function happyTree(shop: Shop): SpanShape {
  return producerShape(shop, 'OrderPlaced', [
    consumerShape(shop, 'OrderPlaced', 'inventory', [
      client('inventory/reserve'),
      producerShape(shop, 'InventoryReserved', [
        consumerShape(shop, 'InventoryReserved', 'payment', [
          client('payments/charge'),
          producerShape(shop, 'PaymentSucceeded', [
            consumerShape(shop, 'PaymentSucceeded', 'shipping', [client('shipping/ship'), producerShape(shop, 'OrderShipped', [consumerShape(shop, 'OrderShipped', 'order', [])])]),
          ]),
        ]),
      ]),
    ]),
  ]);
}

function declinedTree(shop: Shop): SpanShape {
  return producerShape(shop, 'OrderPlaced', [
    consumerShape(shop, 'OrderPlaced', 'inventory', [
      client('inventory/reserve'),
      producerShape(shop, 'InventoryReserved', [
        consumerShape(shop, 'InventoryReserved', 'payment', [
          client('payments/charge', true),
          producerShape(shop, 'PaymentFailed', [consumerShape(shop, 'PaymentFailed', 'inventory', [client('inventory/release')]), consumerShape(shop, 'PaymentFailed', 'order', [])]),
        ]),
      ]),
    ]),
  ]);
}


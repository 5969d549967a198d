import { it } from 'vitest';
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import { expectAllEnded, expectThat, expectTrace, fail, present, random, show, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { FakeShop, MessageBus } from '#kit';
import { startShop, type OrderService } from '#target/03-architecture/06-saga-choreography/shop-services.ts';
import type { Order, ShopEvents, ShopTopic } from '#target/03-architecture/06-saga-choreography/events.ts';
import { verifySequence } from './sequences.ts';

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

/** Both ways a saga ends, every run. */
const OUTCOMES = ['payment accepted', 'payment declined'] as const;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('runs the saga to the end when the payment goes through: reserved, charged, shipped, status "shipped"', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  await shop.service.placeOrder(order);
  verify(shop.service.status(order.id), 'the status as soon as placeOrder resolves (the rest happens later, in the other services)').is('pending');
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  expectEvents(shop, HAPPY, ['PaymentFailed'], 'the payment went through');
  verify(shop.service.status(order.id), 'the status once the bus is drained, after OrderShipped').is('shipped');
  const { backends } = shop;
  verify(backends.done('reserve', order.id).map((e) => ({ sku: e.sku, quantity: e.quantity })), 'the reservations made for the order').equals([{ sku: order.sku, quantity: order.quantity }]);
  verify(backends.done('charge', order.id).map((e) => e.amountCents), 'the amounts charged for the order').equals([order.amountCents]);
  verify(backends.done('ship', order.id).map((e) => e.address), 'the addresses the order was shipped to').equals([order.address]);
  verify(backends.done('release', order.id), 'the reservations released when the payment went through').hasCount(0, 'release');
});

it('when the payment fails, PaymentFailed makes the inventory release the reservation and the order service cancel the order', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  decline(shop, order);
  await shop.service.placeOrder(order);
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  expectEvents(shop, DECLINED, ['PaymentSucceeded', 'OrderShipped'], 'the payment failed');
  verify(shop.service.status(order.id), 'the status once the bus is drained, after PaymentFailed').is('cancelled');
  const [reservation] = shop.backends.done('reserve', order.id);
  verify(shop.backends.done('release', order.id).map((e) => e.ref), 'the reservations released after PaymentFailed (the one made for this order, once)').equals([reservation?.ref]);
  verify(shop.backends.held(order.id), 'the stock still held for a cancelled order').is(0);
  verify(shop.backends.done('ship', order.id), 'the shipments of a cancelled order').hasCount(0, 'shipment');
});

it('keeps concurrent orders apart: each ends right, and each failed payment releases its own reservation', async () => {
  const shop = startRandomShop();
  const orders = Array.from({ length: random.int(3, 6) }, randomOrder);
  // The first order is declined every run, the second never; the others at random.
  const declined = new Set(orders.filter((_, i) => i === 0 || (i > 1 && random.int(0, 1) === 1)).map((o) => o.id));
  for (const order of orders) if (declined.has(order.id)) decline(shop, order);
  await Promise.all(orders.map((order) => shop.service.placeOrder(order)));
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
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

// ---------------------------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------------------------

it('the whole saga is one trace: every span joins the trace of the request that placed the order', async () => {
  for (const outcome of OUTCOMES) {
    otel.reset();
    const shop = startRandomShop();
    const order = randomOrder();
    if (outcome === 'payment declined') decline(shop, order);
    const request = await placeWithin(shop, order);
    await shop.bus.drain();
    verifySequence(
      otel.spans().filter((s) => s.traceId !== request.traceId).map((s) => s.name),
      [],
      `the spans outside the request's trace (${outcome}; ${otel.traces().length} traces were recorded). The bus calls every subscriber later, in the root context, ` +
        'so nothing of the publisher\'s span travels by itself: inject the context into the message headers when publishing, ' +
        'and start the CONSUMER span with the context extracted from them as its parent',
    );
    expectAllEnded(otel);
  }
});

it('each CONSUMER span is a child of the PRODUCER span named in the headers of the message it processes', async () => {
  for (const outcome of OUTCOMES) {
    otel.reset();
    const shop = startRandomShop();
    const order = randomOrder();
    if (outcome === 'payment declined') decline(shop, order);
    await shop.service.placeOrder(order);
    await shop.bus.drain();
    const spans = otel.spans();
    const consumers = byKind('consumer');
    verify(consumers.length, `the number of CONSUMER spans "process <topic>" (${outcome}: every delivery of a message is processed in one)`).isAtLeast(1);
    for (const message of shop.bus.published) {
      const traceparent = message.headers['traceparent'];
      if (traceparent === undefined) {
        fail(`message ${message.id} on ${message.topic} was published without a traceparent header: call propagation.inject(context.active(), headers) while the PRODUCER span is active, and publish those headers`);
      }
      const producer = spans.find((s) => s.spanId === traceparent.split('-')[2]);
      verify(
        producer && `${producer.name} ${producer.kind.toUpperCase()}`,
        `the span the traceparent of message ${message.id} (${message.topic}) names (inject inside its PRODUCER span)`,
      ).is(`publish ${message.topic} PRODUCER`);
    }
    for (const consumer of consumers) {
      const id = consumer.attributes['messaging.message.id'];
      const message = shop.bus.published.find((m) => m.id === id);
      if (!message) fail(`"${consumer.name}" has messaging.message.id ${show(id)}, the id of no published message: use message.id`);
      verify(consumer.name, `the CONSUMER span of message ${message.id}, published on ${message.topic}`).is(`process ${message.topic}`);
      verify(
        consumer.parentSpanId,
        `the parent of "${consumer.name}" (service ${show(consumer.attributes['messaging.consumer.group.name'])}): the "publish ${message.topic}" span its message's headers name ` +
          '(extract the context from message.headers and pass it as the parent when you start the CONSUMER span)',
      ).is(message.headers['traceparent']?.split('-')[2]);
    }
  }
});

it('each CONSUMER span is active while its handler runs, and ends once the handler is done', async () => {
  for (const outcome of OUTCOMES) {
    otel.reset();
    const shop = startRandomShop();
    const order = randomOrder();
    if (outcome === 'payment declined') decline(shop, order);
    await shop.service.placeOrder(order);
    await shop.bus.drain();
    await otel.settled();
    for (const consumer of byKind('consumer')) {
      const work = handlerWork(consumer);
      for (const span of work) {
        expectThat(
          consumer.end !== undefined && span.end !== undefined && span.end <= consumer.end + 0.001,
          `"${consumer.name}" (${String(consumer.attributes['messaging.consumer.group.name'])}) ends after the work its handler did: await the handler inside the span`,
          `its child "${span.name}" ended ${consumer.end === undefined || span.end === undefined ? 'with no end' : `${(span.end - consumer.end).toFixed(2)} ms after it`}`,
        );
      }
    }
  }
});

it('traces a successful saga as a chain: publish → process → publish …, each handler\'s work under its CONSUMER span', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  await placeWithin(shop, order);
  await shop.bus.drain();
  expectTrace(
    otel,
    { name: 'POST /orders', children: [happyTree()] },
    'a publish made in a request or while processing a message is a child of that span; each CONSUMER span is a child of the PRODUCER of its message and is active while its handler runs',
  );
  expectAllEnded(otel);
});

it('traces a failed payment: PaymentFailed fans out to the inventory (release) and the order service, in the same trace', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  decline(shop, order);
  await shop.service.placeOrder(order);
  await shop.bus.drain();
  expectTrace(
    otel,
    declinedTree(),
    'placed with no span active, the saga\'s root is "publish OrderPlaced"; one PaymentFailed message has two CONSUMER spans, one per service that processes it, and the release runs under the inventory\'s',
  );
  expectAllEnded(otel);
});

it('one PRODUCER span per message published, one CONSUMER span per delivery, with the messaging attributes', async () => {
  for (const outcome of OUTCOMES) {
    otel.reset();
    const shop = startRandomShop();
    const order = randomOrder();
    if (outcome === 'payment declined') decline(shop, order);
    await shop.service.placeOrder(order);
    await shop.bus.drain();
    const producers = byKind('producer');
    verifySequence(
      producers.map((s) => s.name).sort(),
      shop.bus.published.map((m) => `publish ${m.topic}`).sort(),
      `the PRODUCER spans, sorted (${outcome}: one "publish <topic>" per message published)`,
    );
    for (const span of producers) {
      verify(pick(span.attributes, ['messaging.system', 'messaging.destination.name', 'messaging.operation.type']), `the messaging attributes of "${span.name}"`).equals({
        'messaging.system': 'memory',
        'messaging.destination.name': span.name.slice('publish '.length),
        'messaging.operation.type': 'send',
      });
    }
    const consumers = byKind('consumer');
    const processed = consumers.map((s) => `${s.name} by ${String(s.attributes['messaging.consumer.group.name'])}`);
    for (const topic of outcome === 'payment declined' ? DECLINED : HAPPY) {
      for (const service of SUBSCRIBERS[topic]) {
        verify(processed, `the CONSUMER spans, as "<name> by <messaging.consumer.group.name>" (${outcome})`).includes(`process ${topic} by ${service}`);
      }
    }
    const deliveries = consumers.map((s) => `message ${String(s.attributes['messaging.message.id'])} by ${String(s.attributes['messaging.consumer.group.name'])}`);
    verifySequence(deliveries.filter((d, i) => deliveries.indexOf(d) !== i), [], 'the deliveries processed in more than one CONSUMER span (one span per delivery)');
    for (const span of consumers) {
      verify(pick(span.attributes, ['messaging.system', 'messaging.destination.name', 'messaging.operation.type']), `the messaging attributes of "${span.name}"`).equals({
        'messaging.system': 'memory',
        'messaging.destination.name': span.name.slice('process '.length),
        'messaging.operation.type': 'process',
      });
    }
  }
});

it('two orders placed at the same time make two traces that do not mix', async () => {
  const shop = startRandomShop();
  const orders = random.shuffle([randomOrder(), randomOrder()]);
  const [first, second] = orders as [Order, Order];
  decline(shop, first);
  const requests = await Promise.all([placeWithin(shop, first), placeWithin(shop, second)]);
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  orders.forEach((order, i) => {
    const traceId = requests[i]?.traceId;
    const inTrace = otel.spans().filter((s) => s.traceId === traceId);
    const others = [...new Set(inTrace.map((s) => s.attributes['app.order.id']).filter((id) => id !== undefined && id !== order.id))];
    verify(others, `the other orders whose spans are in the trace of order ${order.id} (keep each message's context to itself, in its own headers)`).equals([]);
    const expected = shop.bus.published.filter((m) => JSON.stringify(m.body).includes(order.id)).length;
    verify(inTrace.filter((s) => s.kind === 'producer'), `the PRODUCER spans in the trace of order ${order.id} (every message of the order is published in it)`).hasCount(expected, 'PRODUCER span');
  });
});

// ---------------------------------------------------------------------------------------------
// The rig: a bus and a FakeShop, the learner's four services, and the shapes of the two sagas
// ---------------------------------------------------------------------------------------------

interface Shop {
  bus: MessageBus<ShopEvents>;
  backends: FakeShop;
  service: OrderService;
}

function startRandomShop(): Shop {
  const bus = new MessageBus<ShopEvents>();
  const backends = new FakeShop();
  return { bus, backends, service: startShop(bus, backends) };
}

function randomOrder(): Order {
  return {
    id: random.id('order-'),
    sku: random.id('sku-'),
    quantity: random.int(1, 9),
    amountCents: random.int(100, 99_999),
    address: `${random.int(1, 999)} ${random.word(7)} street`,
  };
}

function decline(shop: Shop, order: Order): void {
  shop.backends.fail('charge', { orderId: order.id });
}

/** Places the order inside a request span of the checker's, as an HTTP handler would. */
function placeWithin(shop: Shop, order: Order): Promise<SpanContext> {
  const tracer = otel.tracer('tracecraft.checker');
  return tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER, attributes: { 'app.order.id': order.id } }, async (span) => {
    try {
      await shop.service.placeOrder(order);
      return span.spanContext();
    } finally {
      span.end();
    }
  });
}

function expectNoHandlerFailures(shop: Shop): void {
  const failures = shop.bus.failures.map((f) => `${f.handler} (message ${f.messageId} on ${f.topic}): ${show(f.error)}`);
  verify(failures, 'the handlers that threw while the saga ran (bus.failures)').equals([]);
}

/** The saga's events in this order (events of the learner's own may come between them), and `never` not at all. */
function expectEvents(shop: Shop, expected: ShopTopic[], never: ShopTopic[], what: string): void {
  const topics: string[] = shop.bus.published.map((m) => m.topic);
  const inOrder: ShopTopic[] = [];
  let from = 0;
  for (const topic of expected) {
    const at = topics.indexOf(topic, from);
    if (at < 0) break;
    inOrder.push(topic);
    from = at + 1;
  }
  verifySequence(inOrder, expected, `the saga's events found in order among those published when ${what} (published: ${topics.join(', ') || 'nothing'})`);
  verifySequence(topics.filter((t) => (never as string[]).includes(t)), [], `the events published that must not be, when ${what}`);
}

const byKind = (kind: SpanNode['kind']): SpanNode[] => otel.spans().filter((s) => s.kind === kind);

/** The spans a CONSUMER span's handler made directly: its backend calls and its publishes. */
function handlerWork(consumer: SpanNode): SpanNode[] {
  return otel.spans().filter((s) => s.parentSpanId === consumer.spanId);
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, record[key]]));
}

function producerShape(topic: ShopTopic, children: SpanShape[]): SpanShape {
  return {
    name: `publish ${topic}`,
    kind: 'producer',
    attributes: { 'messaging.system': 'memory', 'messaging.destination.name': topic, 'messaging.operation.type': 'send' },
    children,
  };
}

function consumerShape(topic: ShopTopic, service: string, children: SpanShape[]): SpanShape {
  return {
    name: `process ${topic}`,
    kind: 'consumer',
    attributes: {
      'messaging.system': 'memory',
      'messaging.destination.name': topic,
      'messaging.operation.type': 'process',
      'messaging.message.id': present(),
      'messaging.consumer.group.name': service,
    },
    children,
  };
}

const client = (name: string, failed = false): SpanShape => ({ name, kind: 'client', ...(failed ? { status: 'error' as const } : {}) });

function happyTree(): SpanShape {
  return producerShape('OrderPlaced', [
    consumerShape('OrderPlaced', 'inventory', [
      client('inventory/reserve'),
      producerShape('InventoryReserved', [
        consumerShape('InventoryReserved', 'payment', [
          client('payments/charge'),
          producerShape('PaymentSucceeded', [
            consumerShape('PaymentSucceeded', 'shipping', [client('shipping/ship'), producerShape('OrderShipped', [consumerShape('OrderShipped', 'order', [])])]),
          ]),
        ]),
      ]),
    ]),
  ]);
}

function declinedTree(): SpanShape {
  return producerShape('OrderPlaced', [
    consumerShape('OrderPlaced', 'inventory', [
      client('inventory/reserve'),
      producerShape('InventoryReserved', [
        consumerShape('InventoryReserved', 'payment', [
          client('payments/charge', true),
          producerShape('PaymentFailed', [consumerShape('PaymentFailed', 'inventory', [client('inventory/release')]), consumerShape('PaymentFailed', 'order', [])]),
        ]),
      ]),
    ]),
  ]);
}

import { expect, it } from 'vitest';
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import { expectAllEnded, expectTrace, present, random, useTracing, type SpanNode, type SpanShape } from '#checks';
import { FakeShop, MessageBus } from '#kit';
import { startShop, type OrderService } from '#target/03-architecture/06-saga-choreography/shop-services.ts';
import type { Order, ShopEvents, ShopTopic } from '#target/03-architecture/06-saga-choreography/events.ts';

const otel = useTracing();

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
  const failures = shop.bus.failures.map((f) => `${f.handler} (message ${f.messageId} on ${f.topic}): ${f.error instanceof Error ? f.error.message : String(f.error)}`);
  expect(failures, 'no handler may throw while the saga runs').toEqual([]);
}

/** The saga's events must be published in this order; other events of your own may come between them, and `never` must not be published. */
function expectEvents(shop: Shop, expected: ShopTopic[], never: ShopTopic[], what: string): void {
  const topics = shop.bus.published.map((m) => m.topic);
  let from = 0;
  for (const topic of expected) {
    const at = topics.indexOf(topic, from);
    expect(at, `${what}: ${expected.join(' → ')} are published in that order (published: ${topics.join(', ') || 'nothing'})`).toBeGreaterThanOrEqual(0);
    from = at + 1;
  }
  for (const topic of never) {
    expect(topics, `${what}: ${topic} is not published`).not.toContain(topic);
  }
}

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

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('runs the saga to the end when the payment goes through: reserved, charged, shipped, status "shipped"', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  await shop.service.placeOrder(order);
  expect(shop.service.status(order.id), 'as soon as placeOrder resolves, the order is "pending": the rest happens later, in the other services').toBe('pending');
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  expectEvents(shop, HAPPY, ['PaymentFailed'], 'the payment went through');
  expect(shop.service.status(order.id), 'OrderShipped: the order service marks the order "shipped"').toBe('shipped');
  const { backends } = shop;
  expect(backends.done('reserve', order.id), 'the inventory service reserves the order\'s sku and quantity, once').toMatchObject([{ sku: order.sku, quantity: order.quantity }]);
  expect(backends.done('charge', order.id), 'the payment service charges the order\'s amount, once').toMatchObject([{ amountCents: order.amountCents }]);
  expect(backends.done('ship', order.id), 'the shipping service ships to the order\'s address, once').toMatchObject([{ address: order.address }]);
  expect(backends.done('release', order.id), 'nothing is released when the payment went through').toEqual([]);
});

it('when the payment fails, PaymentFailed makes the inventory release the reservation and the order service cancel the order', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  decline(shop, order);
  await shop.service.placeOrder(order);
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  expectEvents(shop, DECLINED, ['PaymentSucceeded', 'OrderShipped'], 'the payment failed');
  expect(shop.service.status(order.id), 'PaymentFailed: the order service marks the order "cancelled"').toBe('cancelled');
  const [reservation] = shop.backends.done('reserve', order.id);
  expect(
    shop.backends.done('release', order.id).map((e) => e.ref),
    'PaymentFailed: the inventory service releases the reservation it made for this order, once',
  ).toEqual([reservation?.ref]);
  expect(shop.backends.held(order.id), 'no stock stays held for a cancelled order').toBe(0);
  expect(shop.backends.done('ship', order.id), 'a cancelled order is not shipped').toEqual([]);
});

it('keeps concurrent orders apart: each ends right, and each failed payment releases its own reservation', async () => {
  const shop = startRandomShop();
  const orders = Array.from({ length: random.int(3, 6) }, randomOrder);
  const declined = new Set(orders.filter((_, i) => i === 0 || (i > 1 && random.int(0, 1) === 1)).map((o) => o.id));
  for (const order of orders) if (declined.has(order.id)) decline(shop, order);
  await Promise.all(orders.map((order) => shop.service.placeOrder(order)));
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  for (const order of orders) {
    const failed = declined.has(order.id);
    const what = `order ${order.id} (${failed ? 'payment declined' : 'payment accepted'}), placed with ${orders.length - 1} others`;
    expect(shop.service.status(order.id), `${what}: its status`).toBe(failed ? 'cancelled' : 'shipped');
    expect(shop.backends.held(order.id), `${what}: stock still held for it`).toBe(failed ? 0 : order.quantity);
    const [reservation] = shop.backends.done('reserve', order.id);
    expect(shop.backends.done('release', order.id).map((e) => e.ref), `${what}: the reservations released for it`).toEqual(failed ? [reservation?.ref] : []);
    expect(shop.backends.done('ship', order.id), `${what}: its shipments`).toHaveLength(failed ? 0 : 1);
  }
});

// ---------------------------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------------------------

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
            consumerShape('PaymentSucceeded', 'shipping', [
              client('shipping/ship'),
              producerShape('OrderShipped', [consumerShape('OrderShipped', 'order', [])]),
            ]),
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
          producerShape('PaymentFailed', [
            consumerShape('PaymentFailed', 'inventory', [client('inventory/release')]),
            consumerShape('PaymentFailed', 'order', []),
          ]),
        ]),
      ]),
    ]),
  ]);
}

const byKind = (kind: SpanNode['kind']): SpanNode[] => otel.spans().filter((s) => s.kind === kind);

it('the whole saga is one trace: every span joins the trace of the request that placed the order', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  if (random.int(0, 1) === 1) decline(shop, order);
  const request = await placeWithin(shop, order);
  await shop.bus.drain();
  const traces = otel.traces();
  const strays = otel.spans().filter((s) => s.traceId !== request.traceId);
  expect(
    strays.map((s) => s.name),
    `one saga, one trace: ${traces.length} traces were recorded. The bus calls every subscriber later, in the root context, ` +
      'so nothing of the publisher\'s span travels by itself: inject the context into the message headers when publishing, ' +
      'and start the CONSUMER span with the context extracted from them as its parent. Spans outside the request\'s trace',
  ).toEqual([]);
  expectAllEnded(otel);
});

it('each CONSUMER span is a child of the PRODUCER span named in the headers of the message it processes', async () => {
  const shop = startRandomShop();
  const order = randomOrder();
  if (random.int(0, 1) === 1) decline(shop, order);
  await shop.service.placeOrder(order);
  await shop.bus.drain();
  const spans = otel.spans();
  const consumers = byKind('consumer');
  expect(consumers.length, 'every delivery of a message is processed in a CONSUMER span "process <topic>"').toBeGreaterThan(0);
  for (const consumer of consumers) {
    const id = consumer.attributes['messaging.message.id'];
    expect(id, `"${consumer.name}" needs messaging.message.id: the id of the message it processes (message.id)`).toBeTypeOf('string');
    const message = shop.bus.published.find((m) => m.id === id);
    expect(message, `"${consumer.name}" has messaging.message.id ${JSON.stringify(id)}, the id of no published message: use message.id`).toBeDefined();
    expect(consumer.name, `message ${String(id)} was published on ${message?.topic}: its CONSUMER span is "process ${message?.topic}"`).toBe(`process ${message?.topic}`);
    const traceparent = message?.headers['traceparent'];
    expect(
      traceparent,
      `message ${String(id)} on ${message?.topic} was published without a traceparent header: call propagation.inject(context.active(), headers) while the PRODUCER span is active, and publish those headers`,
    ).toBeDefined();
    const producerId = traceparent?.split('-')[2];
    const producer = spans.find((s) => s.spanId === producerId);
    expect(
      producer && `${producer.name} ${producer.kind.toUpperCase()}`,
      `the traceparent of message ${String(id)} must name its PRODUCER span "publish ${message?.topic}": inject inside that span`,
    ).toBe(`publish ${message?.topic} PRODUCER`);
    expect(
      consumer.parentSpanId,
      `"${consumer.name}" (service ${String(consumer.attributes['messaging.consumer.group.name'])}) must be a child of the "publish ${message?.topic}" span its message's headers name: ` +
        'extract the context from message.headers and pass it as the parent when you start the CONSUMER span',
    ).toBe(producerId);
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
  const shop = startRandomShop();
  const order = randomOrder();
  const failed = random.int(0, 1) === 1;
  if (failed) decline(shop, order);
  await shop.service.placeOrder(order);
  await shop.bus.drain();
  const producers = byKind('producer');
  expect(
    producers.map((s) => s.name).sort(),
    `one PRODUCER span "publish <topic>" per message published (${shop.bus.published.map((m) => m.topic).join(', ')})`,
  ).toEqual(shop.bus.published.map((m) => `publish ${m.topic}`).sort());
  for (const span of producers) {
    const topic = span.name.slice('publish '.length);
    expect(span.attributes['messaging.system'], `"${span.name}": messaging.system`).toBe('memory');
    expect(span.attributes['messaging.destination.name'], `"${span.name}": messaging.destination.name is the topic`).toBe(topic);
    expect(span.attributes['messaging.operation.type'], `"${span.name}": messaging.operation.type`).toBe('send');
  }
  const consumers = byKind('consumer');
  const processed = consumers.map((s) => `${s.name} by ${String(s.attributes['messaging.consumer.group.name'])}`);
  for (const topic of failed ? DECLINED : HAPPY) {
    for (const service of SUBSCRIBERS[topic]) {
      expect(
        processed,
        `the ${service} service processes ${topic} in a CONSUMER span "process ${topic}" with messaging.consumer.group.name = "${service}"`,
      ).toContain(`process ${topic} by ${service}`);
    }
  }
  const deliveries = consumers.map((s) => `message ${String(s.attributes['messaging.message.id'])} by ${String(s.attributes['messaging.consumer.group.name'])}`);
  expect(
    deliveries.filter((d, i) => deliveries.indexOf(d) !== i),
    'one CONSUMER span per delivery: no service processes the same message in two spans',
  ).toEqual([]);
  for (const span of consumers) {
    const topic = span.name.slice('process '.length);
    expect(span.attributes['messaging.system'], `"${span.name}": messaging.system`).toBe('memory');
    expect(span.attributes['messaging.destination.name'], `"${span.name}": messaging.destination.name is the topic`).toBe(topic);
    expect(span.attributes['messaging.operation.type'], `"${span.name}": messaging.operation.type`).toBe('process');
  }
});

it('two orders placed at the same time make two traces that do not mix', async () => {
  const shop = startRandomShop();
  const orders = [randomOrder(), randomOrder()];
  const [first, second] = orders as [Order, Order];
  decline(shop, random.pick(orders));
  const requests = await Promise.all([placeWithin(shop, first), placeWithin(shop, second)]);
  await shop.bus.drain();
  expectNoHandlerFailures(shop);
  orders.forEach((order, i) => {
    const traceId = requests[i]?.traceId;
    const inTrace = otel.spans().filter((s) => s.traceId === traceId);
    const others = [...new Set(inTrace.map((s) => s.attributes['app.order.id']).filter((id) => id !== undefined && id !== order.id))];
    expect(others, `the trace of order ${order.id} holds spans of other orders: keep each message's context to itself, in its own headers`).toEqual([]);
    const expected = shop.bus.published.filter((m) => JSON.stringify(m.body).includes(order.id)).length;
    expect(
      inTrace.filter((s) => s.kind === 'producer'),
      `every message of order ${order.id} is published in its trace (${expected} messages)`,
    ).toHaveLength(expected);
  });
});

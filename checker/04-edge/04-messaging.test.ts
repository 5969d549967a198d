import { it } from 'vitest';
import { SpanKind, type Span } from '@opentelemetry/api';
import {
  absent,
  afterCheck,
  expectAllEnded,
  expectThat,
  expectTrace,
  fail,
  random,
  show,
  spansNamed,
  useTracing,
  verify,
  type SpanShape,
} from '#checks';
import { deferred, InMemoryBroker, type BrokerChannel, type BrokerDelivery, type Deferred } from '#kit';
import { declareQueues } from '#target/04-edge/04-messaging/topology.ts';
import { publishOrder } from '#target/04-edge/04-messaging/producer.ts';
import { startConsumer } from '#target/04-edge/04-messaging/consumer.ts';
import type { Order } from '#target/04-edge/04-messaging/order.ts';

const otel = useTracing();

/** The span the checks' handler makes for each order it is given: it must be a child of the CONSUMER span. */
const HANDLER_SPAN = 'store order';
/** A poison message requeued without end halts the broker here, long before a check's time limit. */
const REDELIVERY_LIMIT = 25;
const DRAIN_MS = 1000;
const ERROR_NAMES = ['OutOfStockError', 'InvalidSkuError', 'WarehouseUnavailableError', 'PricingRuleError'];

type Plan = { kind: 'good' } | { kind: 'flaky'; failures: number } | { kind: 'poison' };

/** The business side, scripted by the check: which orders fail, how often, and which are held in flight. */
class Shop {
  readonly calls: string[] = [];
  readonly done: string[] = [];
  readonly received = new Map<string, Order>();
  readonly errorName = random.pick(ERROR_NAMES);
  private readonly plans = new Map<string, Plan>();
  private readonly failed = new Map<string, number>();
  private readonly gates = new Map<string, Deferred<void>>();

  plan(order: Order, plan: Plan): Order {
    this.plans.set(order.orderId, plan);
    return order;
  }

  /** The next call for this order waits until the gate opens. */
  hold(orderId: string): Deferred<void> {
    const gate = deferred<void>();
    this.gates.set(orderId, gate);
    return gate;
  }

  readonly handle = (order: Order): Promise<void> =>
    otel.tracer('tracecraft.checks').startActiveSpan(HANDLER_SPAN, async (span: Span) => {
      try {
        this.calls.push(order.orderId);
        this.received.set(order.orderId, order);
        const gate = this.gates.get(order.orderId);
        this.gates.delete(order.orderId);
        await (gate ? gate.promise : Promise.resolve());
        const plan = this.plans.get(order.orderId) ?? { kind: 'good' };
        const failed = this.failed.get(order.orderId) ?? 0;
        if (plan.kind === 'poison' || (plan.kind === 'flaky' && failed < plan.failures)) {
          this.failed.set(order.orderId, failed + 1);
          throw Object.assign(new Error(`order ${order.orderId} could not be stored`), { name: this.errorName });
        }
        this.done.push(order.orderId);
      } finally {
        span.end();
      }
    });

  callsOf(orderId: string): number {
    return this.calls.filter((id) => id === orderId).length;
  }
}

interface Rig {
  broker: InMemoryBroker;
  queue: string;
  deadLetters: string;
  producer: BrokerChannel;
  shop: Shop;
  maxDeliveries: number;
}

async function startRig(maxDeliveries: number): Promise<Rig> {
  const broker = new InMemoryBroker({ redeliveryLimit: REDELIVERY_LIMIT });
  afterCheck(() => broker.close());
  const queue = `orders-${random.word(5)}`;
  const producer = await broker.createChannel();
  const consumer = await broker.createChannel();
  const shop = new Shop();
  try {
    // Both sides declare, as real services do: the declarations must agree.
    await declareQueues(producer, queue);
    await declareQueues(consumer, queue);
  } catch (error) {
    fail(`declareQueues(channel, "${queue}") failed, called once by the producer and once by the consumer: ${show(error)}`);
  }
  await startConsumer(consumer, queue, shop.handle, { maxDeliveries });
  return { broker, queue, deadLetters: `${queue}.dead`, producer, shop, maxDeliveries };
}

function randomOrder(): Order {
  return { orderId: random.id('ord-'), sku: `SKU-${random.int(100, 99_999)}`, quantity: random.int(1, 9) };
}

/** Publishes each order and returns its message id, as publishOrder answered it. */
function publish(rig: Rig, orders: readonly Order[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const order of orders) ids.set(order.orderId, publishOrder(rig.producer, rig.queue, order));
  return ids;
}

/** Waits until every delivery that can happen has happened and been settled, then for the spans to end. */
async function drained(rig: Rig): Promise<void> {
  try {
    await rig.broker.drain({ timeoutMs: DRAIN_MS });
  } catch (error) {
    fail(`the queue never settled: ${error instanceof Error ? error.message : String(error)}`);
  }
  await otel.settled(1000);
  const [closed] = rig.broker.channelErrors;
  if (closed) {
    fail(
      `the broker closed a channel with "${closed.code} ${closed.message}"` +
        (/unknown delivery tag/.test(closed.message)
          ? ': a delivery was settled twice (acked and nacked, or acked twice). Every delivery is acked or nacked exactly once.'
          : '.'),
    );
  }
}

function deliveriesOf(rig: Rig, messageId: string | undefined): BrokerDelivery[] {
  return rig.broker.deliveries.filter((d) => d.messageId === messageId && d.queue === rig.queue);
}

function settlements(rig: Rig, messageId: string | undefined): string[] {
  return deliveriesOf(rig, messageId).map((d) => d.settlement);
}

function deadLettered(rig: Rig): { messageId: string | undefined; order: unknown }[] {
  return rig.broker.messages(rig.deadLetters).map((m) => {
    let order: unknown;
    try {
      order = JSON.parse(m.content.toString('utf8'));
    } catch {
      order = m.content.toString('utf8');
    }
    return { messageId: m.properties.messageId, order };
  });
}

function expectQueueEmpty(rig: Rig): void {
  const info = rig.broker.queueInfo(rig.queue);
  verify(info?.ready, `the messages still waiting in "${rig.queue}" once everything settled`).hasCount(0, 'message');
  verify(info?.unacked, `the deliveries of "${rig.queue}" never acknowledged nor rejected`).hasCount(0, 'delivery|deliveries');
}

/** `n` deliveries that fail and are put back, then the last one: the settlements a message should get. */
function retried(failures: number, last: 'ack' | 'dead_letter'): string[] {
  return [...Array.from({ length: failures }, () => 'requeue'), last];
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('every order is handled once, as it was sent, and acknowledged only after the handler finished', async () => {
  const rig = await startRig(random.int(2, 5));
  const orders = Array.from({ length: random.int(3, 7) }, randomOrder);
  const slow = random.pick(orders);
  const gate = rig.shop.hold(slow.orderId);
  const ids = publish(rig, orders);
  verify(new Set(ids.values()).size, 'the message ids publishOrder returned, one per order, all different').is(orders.length);
  verify(
    rig.broker.published.map((p) => p.messageId),
    'the messageId of each message sent, in order (publishOrder returns the id it sent the message with)',
  ).equals(orders.map((o) => ids.get(o.orderId)));

  for (let turn = 0; turn < 50 && !rig.shop.calls.includes(slow.orderId); turn++) await new Promise((resolve) => setImmediate(resolve));
  expectThat(rig.shop.calls.includes(slow.orderId), `order ${slow.orderId} reaches the handler`, 'it was never handed to the handler');
  verify(
    settlements(rig, ids.get(slow.orderId)),
    `the delivery of order ${slow.orderId} while its handler is still running: it stays unacknowledged ("pending") until the work is done, so a crash now would bring it back`,
  ).equals(['pending']);
  gate.resolve();
  await drained(rig);

  for (const order of orders) {
    verify(rig.shop.callsOf(order.orderId), `the handler calls for order ${order.orderId}, which succeeds`).hasCount(1, 'call');
    verify(rig.shop.received.get(order.orderId), `the order the handler was given for ${order.orderId} (the JSON that was sent, parsed back)`).equals(order);
    verify(settlements(rig, ids.get(order.orderId)), `how the deliveries of order ${order.orderId} were settled`).equals(['ack']);
  }
  expectQueueEmpty(rig);
  verify(deadLettered(rig), `the dead-letter queue "${rig.deadLetters}" after orders that all succeed`).hasCount(0, 'message');
});

it('a failed order is redelivered until it succeeds, within maxDeliveries, then acknowledged once', async () => {
  const maxDeliveries = random.int(2, 5);
  const rig = await startRig(maxDeliveries);
  // The edge every run: an order that succeeds on its very last allowed delivery.
  const failures = [maxDeliveries - 1, 1, random.int(1, maxDeliveries - 1)];
  const flaky = failures.map((n) => rig.shop.plan(randomOrder(), { kind: 'flaky', failures: n }));
  const good = randomOrder();
  const ids = publish(rig, random.shuffle([...flaky, good]));
  await drained(rig);

  flaky.forEach((order, i) => {
    const n = failures[i] as number;
    const what = `order ${order.orderId}, which fails ${n} time${n === 1 ? '' : 's'} and then succeeds (maxDeliveries ${maxDeliveries})`;
    verify(settlements(rig, ids.get(order.orderId)), `how the deliveries of ${what} were settled`).equals(retried(n, 'ack'));
    verify(rig.shop.callsOf(order.orderId), `the handler calls for ${what}`).hasCount(n + 1, 'call');
    verify(
      deliveriesOf(rig, ids.get(order.orderId)).map((d) => d.redelivered),
      `fields.redelivered on each delivery of ${what}`,
    ).equals([false, ...Array.from({ length: n }, () => true)]);
  });
  verify(settlements(rig, ids.get(good.orderId)), `how the delivery of order ${good.orderId}, which succeeds at once, was settled`).equals(['ack']);
  verify(deadLettered(rig), `the dead-letter queue "${rig.deadLetters}" after orders that all succeed in the end`).hasCount(0, 'message');
  expectQueueEmpty(rig);
});

it('a poison order is dead-lettered after exactly maxDeliveries deliveries, its body and message id intact', async () => {
  const maxDeliveries = random.int(2, 5);
  const rig = await startRig(maxDeliveries);
  const poison = Array.from({ length: random.int(1, 3) }, () => rig.shop.plan(randomOrder(), { kind: 'poison' }));
  const lastChance = rig.shop.plan(randomOrder(), { kind: 'flaky', failures: maxDeliveries - 1 });
  const good = randomOrder();
  const ids = publish(rig, random.shuffle([...poison, lastChance, good]));
  await drained(rig);

  for (const order of poison) {
    const what = `order ${order.orderId}, which always fails (maxDeliveries ${maxDeliveries})`;
    verify(settlements(rig, ids.get(order.orderId)), `how the deliveries of ${what} were settled`).equals(retried(maxDeliveries - 1, 'dead_letter'));
    verify(rig.shop.callsOf(order.orderId), `the handler calls for ${what}`).hasCount(maxDeliveries, 'call');
  }
  verify(
    settlements(rig, ids.get(lastChance.orderId)),
    `how the deliveries of order ${lastChance.orderId} were settled: it fails ${maxDeliveries - 1} times and succeeds on delivery ${maxDeliveries}, the last allowed`,
  ).equals(retried(maxDeliveries - 1, 'ack'));
  const byId = (a: { messageId: string | undefined }, b: { messageId: string | undefined }): number => String(a.messageId).localeCompare(String(b.messageId));
  verify(
    deadLettered(rig).sort(byId),
    `what waits in the dead-letter queue "${rig.deadLetters}": each poison order once, with the messageId and the JSON it was sent with`,
  ).equals(poison.map((order) => ({ messageId: ids.get(order.orderId), order })).sort(byId));
  expectQueueEmpty(rig);
});

it('with maxDeliveries 1 the first failure dead-letters the message: no redelivery at all', async () => {
  const rig = await startRig(1);
  const poison = rig.shop.plan(randomOrder(), { kind: 'poison' });
  const once = rig.shop.plan(randomOrder(), { kind: 'flaky', failures: 1 });
  const good = randomOrder();
  const ids = publish(rig, [poison, once, good]);
  await drained(rig);
  for (const order of [poison, once]) {
    verify(settlements(rig, ids.get(order.orderId)), `how the deliveries of order ${order.orderId}, which fails on its first delivery, were settled (maxDeliveries 1)`).equals(['dead_letter']);
  }
  verify(settlements(rig, ids.get(good.orderId)), `how the delivery of order ${good.orderId}, which succeeds, was settled`).equals(['ack']);
  verify(
    deadLettered(rig).map((m) => m.messageId).sort(),
    `the message ids in the dead-letter queue "${rig.deadLetters}"`,
  ).equals([ids.get(poison.orderId), ids.get(once.orderId)].sort());
});

it('a mixed stream from two producers: no order is lost, and none is handled again after its acknowledgement', async () => {
  const maxDeliveries = random.int(2, 5);
  const rig = await startRig(maxDeliveries);
  const second = await rig.broker.createChannel();
  const plans: Plan[] = [
    { kind: 'good' },
    { kind: 'poison' },
    { kind: 'flaky', failures: maxDeliveries - 1 },
    ...Array.from({ length: random.int(4, 10) }, (): Plan => random.pick<Plan>([{ kind: 'good' }, { kind: 'poison' }, { kind: 'flaky', failures: random.int(1, maxDeliveries - 1) }])),
  ];
  const orders = random.shuffle(plans).map((plan) => ({ order: rig.shop.plan(randomOrder(), plan), plan }));
  const ids = new Map<string, string>();
  for (const [i, { order }] of orders.entries()) {
    ids.set(order.orderId, publishOrder(i % 2 === 0 ? rig.producer : second, rig.queue, order));
    if (random.int(0, 2) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await drained(rig);

  const dead = new Set(deadLettered(rig).map((m) => m.messageId));
  for (const { order, plan } of orders) {
    const id = ids.get(order.orderId);
    const path = settlements(rig, id);
    const acked = path.indexOf('ack');
    expectThat(acked < 0 || acked === path.length - 1, `order ${order.orderId} is never delivered again once it was acknowledged`, `its deliveries were settled ${show(path)}`);
    verify(rig.shop.done.filter((d) => d === order.orderId).length, `the successful handler runs for order ${order.orderId}`).isAtMost(1);
    if (plan.kind === 'poison') {
      expectThat(dead.has(id), `order ${order.orderId}, which always fails, ends in the dead-letter queue: nothing is lost`, `it is not there (its deliveries were settled ${show(path)})`);
    } else {
      verify(rig.shop.done.filter((d) => d === order.orderId).length, `the successful handler runs for order ${order.orderId} (${plan.kind === 'good' ? 'it succeeds at once' : `it fails ${plan.failures} times first`})`).is(1);
      expectThat(!dead.has(id), `order ${order.orderId}, which succeeds within maxDeliveries (${maxDeliveries}), is not dead-lettered`, 'it is in the dead-letter queue');
    }
  }
  verify(dead.size, `the messages in the dead-letter queue "${rig.deadLetters}"`).is(orders.filter((o) => o.plan.kind === 'poison').length);
  expectQueueEmpty(rig);
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function producerShape(rig: Rig, messageId: string | undefined, children: SpanShape[]): SpanShape {
  return {
    name: `publish ${rig.queue}`,
    kind: 'producer',
    attributes: {
      'messaging.system': 'memory',
      'messaging.destination.name': rig.queue,
      'messaging.operation.type': 'send',
      'messaging.message.id': messageId ?? absent(),
    },
    ordered: true,
    children,
  };
}

function consumerShape(rig: Rig, messageId: string | undefined, deliveryCount: number, outcome: 'ack' | 'requeue' | 'dead_letter'): SpanShape {
  const failed = outcome !== 'ack';
  return {
    name: `process ${rig.queue}`,
    kind: 'consumer',
    status: failed ? 'error' : 'unset',
    attributes: {
      'messaging.system': 'memory',
      'messaging.destination.name': rig.queue,
      'messaging.operation.type': 'process',
      'messaging.message.id': messageId ?? absent(),
      'app.messaging.delivery_count': deliveryCount,
      'app.messaging.outcome': outcome,
      'error.type': failed ? rig.shop.errorName : absent(),
    },
    children: [{ name: HANDLER_SPAN }],
  };
}

it('publishing is a PRODUCER span under the caller\'s span, and the message carries its traceparent; the delivery continues that trace', async () => {
  const rig = await startRig(random.int(2, 5));
  const order = randomOrder();
  const messageId = otel.tracer('tracecraft.checks').startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, (span: Span) => {
    try {
      return publishOrder(rig.producer, rig.queue, order);
    } finally {
      span.end();
    }
  });
  await drained(rig);
  expectAllEnded(otel, 'every span ends: the PRODUCER span once the message is sent, each CONSUMER span once its delivery is settled');
  expectTrace(
    otel,
    { name: 'POST /orders', children: [producerShape(rig, messageId, [consumerShape(rig, messageId, 1, 'ack')])] },
    'the PRODUCER span is a child of the span active when publishOrder is called; the CONSUMER span is a child of the PRODUCER span, ' +
      'found through the message\'s traceparent header; the handler runs inside the CONSUMER span',
  );
  const producer = spansNamed(otel, `publish ${rig.queue}`)[0];
  const headers = rig.broker.published[0]?.headers ?? {};
  expectThat(
    typeof headers['traceparent'] === 'string' && producer !== undefined && headers['traceparent'].includes(`${producer.traceId}-${producer.spanId}`),
    'the message\'s traceparent header names the PRODUCER span (inject while it is active)',
    `the message was sent with headers ${show(headers)}`,
  );
});

it('each redelivery is its own CONSUMER span in the message\'s trace: failed deliveries are ERROR and requeued, the last one acknowledged', async () => {
  const maxDeliveries = random.int(2, 5);
  const rig = await startRig(maxDeliveries);
  const failures = maxDeliveries - 1;
  const order = rig.shop.plan(randomOrder(), { kind: 'flaky', failures });
  const [messageId] = publish(rig, [order]).values();
  await drained(rig);
  expectAllEnded(otel, 'every span ends, the failed deliveries\' too');
  const deliveries = Array.from({ length: failures + 1 }, (_, i) => consumerShape(rig, messageId, i + 1, i < failures ? 'requeue' : 'ack'));
  expectTrace(
    otel,
    producerShape(rig, messageId, deliveries),
    `an order that fails ${failures} time${failures === 1 ? '' : 's'} and then succeeds (maxDeliveries ${maxDeliveries}) makes ${failures + 1} CONSUMER spans, ` +
      'all children of its PRODUCER span, in delivery order: delivery_count 1, 2…; ERROR with error.type and outcome "requeue" for each failure, UNSET and "ack" for the success',
  );
  verify(spansNamed(otel, `process ${rig.queue}`), `the CONSUMER spans of a message delivered ${failures + 1} times`).hasCount(failures + 1, `"process ${rig.queue}" span`);
});

it('the dead-lettered message\'s last CONSUMER span is ERROR, with outcome "dead_letter"', async () => {
  const maxDeliveries = random.int(2, 5);
  const rig = await startRig(maxDeliveries);
  const order = rig.shop.plan(randomOrder(), { kind: 'poison' });
  const [messageId] = publish(rig, [order]).values();
  await drained(rig);
  expectAllEnded(otel, 'every span ends, the last delivery\'s too');
  const deliveries = Array.from({ length: maxDeliveries }, (_, i) => consumerShape(rig, messageId, i + 1, i < maxDeliveries - 1 ? 'requeue' : 'dead_letter'));
  expectTrace(
    otel,
    producerShape(rig, messageId, deliveries),
    `a message that always fails gets ${maxDeliveries} deliveries (maxDeliveries), each its own ERROR CONSUMER span under the PRODUCER span; ` +
      'the last one says where the message went: app.messaging.outcome="dead_letter"',
  );
  verify(spansNamed(otel, `process ${rig.queue}`), `the CONSUMER spans of a message dead-lettered after ${maxDeliveries} deliveries`).hasCount(maxDeliveries, `"process ${rig.queue}" span`);
});

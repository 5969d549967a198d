import { it } from 'vitest';
import { counted, expectAllEnded, expectThat, expectTrace, random, spansNamed, useTracing, verify, type SpanShape } from '#checks';
import { placeOrder, type Order } from '#target/01-foundations/08-async-context-pitfalls/orders.ts';

const otel = useTracing();

it('places orders: each gets the reservation the warehouse made for it, also when orders overlap', async () => {
  const orders = overlappingOrders();
  const receipts = await Promise.all(orders.map((order) => placeOrder(order)));
  receipts.forEach((receipt, i) => {
    const order = orders[i] as Order;
    verify(receipt.orderId, `the orderId of the receipt for ${order.id}`).is(order.id);
    verify(receipt.reservationId, `the reservation of ${order.id} (${order.quantity} × ${order.sku})`).matches(new RegExp(`^res-${order.sku}-${order.quantity}-\\d+$`));
  });
  verify(new Set(receipts.map((r) => r.reservationId)).size, `the distinct reservations of ${orders.length} orders (one each)`).is(orders.length);
});

it('the warehouse reply listener runs in its order\'s context (EventEmitter)', async () => {
  const order = randomOrder();
  await placeOrder(order);
  expectTrace(
    otel,
    orderShape(order, ['record-reservation']),
    'a listener runs in the context of whoever emits, here the connection\'s reader loop: bind it to the order\'s context with context.bind',
  );
});

it('a reminder on the shared timer runs in its own order\'s context, even when orders overlap (setTimeout)', async () => {
  const orders = overlappingOrders();
  await Promise.all(orders.map((order) => placeOrder(order)));
  verifyNoStrangers();
  for (const order of orders) {
    expectTrace(
      otel,
      orderShape(order, ['send-reminder']),
      `the reminder of order ${order.id} belongs under that order's "place-order" span. One shared timer runs every task in the context of the order that armed it: bind each task to its own context`,
    );
  }
});

it('the confirmation job on the queue runs in its order\'s context (hand-rolled queue)', async () => {
  const order = randomOrder();
  await placeOrder(order);
  expectTrace(
    otel,
    orderShape(order, ['send-confirmation']),
    'a queued job runs later in the worker\'s context, captured when the worker started: remember the context with the job and restore it with context.with (or bind the job)',
  );
});

it('overlapping orders each make one complete trace of their own, with no step of another order', async () => {
  const orders = overlappingOrders();
  await Promise.all(orders.map((order) => placeOrder(order)));
  verifyNoStrangers();
  for (const order of orders) {
    expectTrace(otel, orderShape(order, [...STEPS]), `order ${order.id}: its three steps under its own "place-order" span`);
  }
  const placed = spansNamed(otel, 'place-order');
  verify(placed, `${orders.length} overlapping orders`).hasCount(orders.length, '"place-order" span');
  for (const span of placed) {
    for (const step of STEPS) {
      verify(span.children.filter((child) => child.name === step), `the children of the "place-order" span of ${String(span.attributes['app.order.id'])}`).hasCount(1, `"${step}" span`);
    }
  }
  verify(otel.traces(), `${orders.length} overlapping orders (one trace each: no step may start a trace of its own)`).hasCount(orders.length, 'trace');
  expectAllEnded(otel);
});

// ---- the rig: orders that overlap on every shared resource, and the expected tree

const STEPS = ['record-reservation', 'send-reminder', 'send-confirmation'] as const;

function randomOrder(sku = random.id('sku-'), quantity = random.int(1, 9)): Order {
  return { id: random.id('ord-'), sku, quantity };
}

/**
 * Several orders placed at once, every run: they share the timer and the queue, and two of them
 * order the same sku (in different quantities), so a reply must be matched to its order, not its sku.
 */
function overlappingOrders(): Order[] {
  const sku = random.id('sku-');
  const [first = 1, second = 2] = random.sample([1, 2, 3, 4, 5, 6, 7, 8, 9], 2);
  return random.shuffle([randomOrder(sku, first), randomOrder(sku, second), ...Array.from({ length: random.int(2, 4) }, () => randomOrder())]);
}

/** The order's "place-order" span with the given steps under it, each carrying the same order id. */
function orderShape(order: Order, steps: readonly string[]): SpanShape {
  return {
    name: 'place-order',
    kind: 'internal',
    scope: 'tracecraft.orders',
    attributes: { 'app.order.id': order.id },
    linkCount: 0,
    children: steps.map((step) => ({ name: step, kind: 'internal' as const, attributes: { 'app.order.id': order.id }, linkCount: 0 })),
  };
}

/** No "place-order" span holds a step of another order: a callback that ran in a stranger's context. */
function verifyNoStrangers(): void {
  for (const span of spansNamed(otel, 'place-order')) {
    const own = String(span.attributes['app.order.id']);
    const strangers = span.children.filter((child) => child.attributes['app.order.id'] !== undefined && child.attributes['app.order.id'] !== own);
    const named = strangers.map((child) => `"${child.name}" of ${String(child.attributes['app.order.id'])}`);
    expectThat(
      strangers.length === 0,
      `the "place-order" span of ${own} holds only its own order's steps`,
      `it holds ${counted(strangers.length, 'step')} of other orders (${named.slice(0, 3).join(', ')}${named.length > 3 ? ', …' : ''}): their callbacks ran in this order's context, not in their own`,
    );
  }
}

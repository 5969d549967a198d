import { expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanShape } from '#checks';
import { placeOrder, type Order } from '#target/01-foundations/08-async-context-pitfalls/orders.ts';

const otel = useTracing();

function randomOrder(): Order {
  return { id: random.id('ord-'), sku: random.id('sku-'), quantity: random.int(1, 9) };
}

const randomOrders = (): Order[] => Array.from({ length: random.int(3, 6) }, randomOrder);

/** The order's "place-order" span with the given steps under it, each carrying the same order id. */
function orderShape(order: Order, steps: string[]): SpanShape {
  return {
    name: 'place-order',
    kind: 'internal',
    attributes: { 'app.order.id': order.id },
    children: steps.map((step) => ({ name: step, attributes: { 'app.order.id': order.id } })),
  };
}

it('places orders: each gets the reservation the warehouse made for it', async () => {
  const orders = randomOrders();
  const receipts = await Promise.all(orders.map((order) => placeOrder(order)));
  receipts.forEach((receipt, i) => {
    const order = orders[i] as Order;
    expect(receipt.orderId, 'the receipt names its order').toBe(order.id);
    expect(receipt.reservationId, `the reservation for ${order.quantity} × ${order.sku}`).toMatch(
      new RegExp(`^res-${order.sku}-${order.quantity}-\\d+$`),
    );
  });
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
  const orders = randomOrders();
  await Promise.all(orders.map((order) => placeOrder(order)));
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
  const orders = randomOrders();
  await Promise.all(orders.map((order) => placeOrder(order)));
  for (const order of orders) {
    expectTrace(
      otel,
      orderShape(order, ['record-reservation', 'send-reminder', 'send-confirmation']),
      `order ${order.id}: its three steps under its own "place-order" span`,
    );
  }
  for (const placed of spansNamed(otel, 'place-order')) {
    const own = placed.attributes['app.order.id'];
    const strangers = placed.children.filter((child) => {
      const id = child.attributes['app.order.id'];
      return id !== undefined && id !== own;
    });
    expect(
      strangers.map((child) => `${child.name} of ${String(child.attributes['app.order.id'])}`),
      `the "place-order" span of ${String(own)} holds steps of other orders: their callbacks ran in this order's context`,
    ).toEqual([]);
  }
  expect(spansNamed(otel, 'place-order'), 'one "place-order" span per order').toHaveLength(orders.length);
  expect(otel.traces(), 'one trace per order: no step may start a trace of its own').toHaveLength(orders.length);
  expectAllEnded(otel);
});

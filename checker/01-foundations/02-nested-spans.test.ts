import { expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanShape } from '#checks';
import { SpanKind } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkout, type CartLine, type Inventory } from '#target/01-foundations/02-nested-spans/checkout.ts';

const otel = useTracing();

function randomCart(): CartLine[] {
  return Array.from({ length: random.int(1, 4) }, () => ({
    sku: random.id('sku-'),
    quantity: random.int(1, 5),
    unitPriceCents: random.int(100, 9999),
  }));
}

/** An inventory client instrumented the way a library would be: each call makes its own CLIENT span. */
function fakeInventory(outOfStock?: string): Inventory {
  const client = otel.tracer('tracecraft.inventory-client');
  return {
    reserve: (sku, quantity) =>
      client.startActiveSpan('inventory reserve', { kind: SpanKind.CLIENT, attributes: { 'app.sku': sku } }, async (span) => {
        try {
          await sleep(random.int(0, 3));
          if (sku === outOfStock) throw new Error(`${sku} is out of stock`);
          return `rsv-${sku}-${quantity}`;
        } finally {
          span.end();
        }
      }),
  };
}

function checkoutShape(cart: CartLine[]): SpanShape {
  return {
    name: 'checkout',
    kind: 'internal',
    scope: 'tracecraft.shop',
    children: [
      { name: 'price-cart', kind: 'internal' },
      {
        name: 'reserve-stock',
        kind: 'internal',
        children: cart.map((line) => ({ name: 'inventory reserve', kind: 'client' as const, attributes: { 'app.sku': line.sku } })),
        exact: true,
      },
    ],
  };
}

it('prices the cart and reserves every line', async () => {
  const cart = randomCart();
  const receipt = await checkout(cart, fakeInventory());
  const total = cart.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  expect(receipt.totalCents, 'the total is the sum of quantity × unit price').toBe(total);
  expect(receipt.reservations, 'one reservation per line, in cart order').toEqual(cart.map((l) => `rsv-${l.sku}-${l.quantity}`));
});

it('records "price-cart" and "reserve-stock" as children of one "checkout" span', async () => {
  await checkout(randomCart(), fakeInventory());
  expectTrace(
    otel,
    {
      name: 'checkout',
      kind: 'internal',
      scope: 'tracecraft.shop',
      children: [
        { name: 'price-cart', kind: 'internal' },
        { name: 'reserve-stock', kind: 'internal' },
      ],
    },
    'a span started while another is active becomes its child',
  );
  expect(spansNamed(otel, 'checkout'), 'one checkout makes exactly one "checkout" span').toHaveLength(1);
});

it('keeps "reserve-stock" active across await, so every inventory call nests under it', async () => {
  const cart = randomCart();
  await checkout(cart, fakeInventory());
  expectTrace(otel, checkoutShape(cart), 'the active span survives await: calls made inside it join the trace');
});

it('keeps concurrent checkouts in separate traces', async () => {
  const carts = Array.from({ length: random.int(3, 5) }, randomCart);
  await Promise.all(carts.map((cart) => checkout(cart, fakeInventory())));
  for (const cart of carts) {
    expectTrace(otel, checkoutShape(cart), 'each checkout carries its own context, even while others are awaiting');
  }
  const traces = otel.traces();
  expect(traces.length, `${carts.length} concurrent checkouts should make ${carts.length} traces`).toBe(carts.length);
  for (const t of traces) {
    expect(t.roots.map((r) => r.name), 'each trace has a single root, "checkout"').toEqual(['checkout']);
    const steps = t.roots[0]?.children.map((c) => c.name).filter((n) => n === 'price-cart' || n === 'reserve-stock');
    expect(steps?.sort(), 'each "checkout" has its own steps: one "price-cart" and one "reserve-stock", no one else\'s').toEqual([
      'price-cart',
      'reserve-stock',
    ]);
  }
});

it('ends "checkout" only after its steps have ended', async () => {
  await checkout(randomCart(), fakeInventory());
  // The order in which spans ended, read from the exporter: exact, unlike timestamps.
  const ended = otel.finishedSpans().map((s) => s.name);
  expect(ended, 'checkout should make and end a "checkout" span').toContain('checkout');
  expect(ended, 'checkout should make and end a "reserve-stock" span').toContain('reserve-stock');
  expect(
    ended.indexOf('checkout') > ended.indexOf('reserve-stock'),
    'a parent span covers the time of its children: end "checkout" after the awaited steps have finished, not when their promise is created',
  ).toBe(true);
  expect(
    ended.indexOf('reserve-stock') > ended.lastIndexOf('inventory reserve'),
    '"reserve-stock" should end after the inventory calls it awaited',
  ).toBe(true);
});

it('ends every span, even when a reservation fails', async () => {
  const cart = randomCart();
  const failing = random.pick(cart);
  await expect(checkout(cart, fakeInventory(failing.sku)), 'checkout rejects when an item is out of stock').rejects.toThrow(
    /out of stock/,
  );
  expect(spansNamed(otel, 'checkout'), 'a failed checkout still makes a "checkout" span').toHaveLength(1);
  expect(spansNamed(otel, 'reserve-stock'), 'a failed checkout still makes a "reserve-stock" span').toHaveLength(1);
  expectAllEnded(otel, 'spans must end, also when the work throws');
});

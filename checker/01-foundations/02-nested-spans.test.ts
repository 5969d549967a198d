import { it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectAllEnded, expectThat, expectTrace, fail, random, show, spansNamed, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { checkout, type CartLine, type Inventory } from '#target/01-foundations/02-nested-spans/checkout.ts';

const otel = useTracing();

it('prices the cart and reserves every line, one after the other, in cart order', async () => {
  for (const cart of [[randomLine()], randomCart(2, 5)]) {
    const inventory = fakeInventory();
    const receipt = await checkout(cart, inventory);
    const total = cart.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
    verify(receipt.totalCents, `the total of a cart of ${cart.length} (the sum of quantity × unit price)`).is(total);
    verify(receipt.reservations, 'the reservation ids, one per line, in cart order').equals(cart.map(reservationId));
    verify(inventory.calls, 'the lines reserved, in the order the inventory was called').equals(cart.map((line) => line.sku));
    expectThat(
      inventory.overlapped.length === 0,
      'the lines are reserved one after the other: the next reservation starts only once the previous one is done',
      `the inventory was asked for ${show(inventory.overlapped[0])} while another reservation was still running`,
    );
  }
});

it('rejects with the inventory\'s error when an item is out of stock', async () => {
  for (const at of failingPositions()) {
    const cart = randomCart(at.size, at.size);
    const failing = cart[at.index] as CartLine;
    const inventory = fakeInventory(failing.sku);
    const error = await rejection(checkout(cart, inventory), `checkout of a cart whose line ${at.index + 1} of ${cart.length} is out of stock`);
    expectThat(
      error === inventory.error,
      `checkout rejects with the inventory's own error (${show(inventory.error)})`,
      `it rejected with ${show(error)}`,
    );
  }
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
  verify(spansNamed(otel, 'checkout'), 'one checkout').hasCount(1, '"checkout" span');
  verifyOneStepEach(otel.spans().filter((span) => span.name === 'checkout'));
});

it('keeps "reserve-stock" active across await, so every inventory call nests under it', async () => {
  const cart = randomCart(2, 4);
  await checkout(cart, fakeInventory());
  expectTrace(otel, checkoutShape(cart), 'the active span survives await: calls made inside it join the trace');
});

it('keeps concurrent checkouts in separate traces', async () => {
  const carts = Array.from({ length: random.int(3, 5) }, () => randomCart(2, 4));
  await Promise.all(carts.map((cart) => checkout(cart, fakeInventory())));
  for (const cart of carts) {
    expectTrace(otel, checkoutShape(cart), 'each checkout carries its own context, even while others are awaiting');
  }
  const checkouts = spansNamed(otel, 'checkout');
  verify(checkouts, `${carts.length} concurrent checkouts`).hasCount(carts.length, '"checkout" span');
  verify(otel.traces(), `${carts.length} concurrent checkouts (one trace each)`).hasCount(carts.length, 'trace');
  for (const t of otel.traces()) {
    verify(t.roots.map((root) => root.name), 'the root spans of each trace').equals(['checkout']);
  }
  verifyOneStepEach(checkouts);
});

it('ends each parent after its children: "reserve-stock" after the inventory calls, "checkout" after its steps', async () => {
  await checkout(randomCart(1, 4), fakeInventory());
  verify(spansNamed(otel, 'checkout'), 'one checkout').hasCount(1, '"checkout" span');
  verify(spansNamed(otel, 'reserve-stock'), 'one checkout').hasCount(1, '"reserve-stock" span');
  verifyParentsEndLast();
});

it('ends every span, even when a reservation fails', async () => {
  for (const at of failingPositions()) {
    otel.reset();
    const cart = randomCart(at.size, at.size);
    await rejection(checkout(cart, fakeInventory(cart[at.index]?.sku)), `checkout of a cart whose line ${at.index + 1} of ${cart.length} is out of stock`);
    const when = `a checkout whose line ${at.index + 1} of ${cart.length} is out of stock`;
    verify(spansNamed(otel, 'checkout'), when).hasCount(1, '"checkout" span');
    verify(spansNamed(otel, 'reserve-stock'), when).hasCount(1, '"reserve-stock" span');
    expectAllEnded(otel, `spans must end, also when the work throws (${when})`);
    verifyParentsEndLast();
  }
});

// ---- the rig: carts, an instrumented inventory client, and the expected tree

/** The spans the README draws under each other: a parent must end after each of these children. */
const CONTRACT_CHILDREN = ['price-cart', 'reserve-stock', 'inventory reserve'];

function randomLine(): CartLine {
  return { sku: random.id('sku-'), quantity: random.int(1, 5), unitPriceCents: random.int(100, 9999) };
}

function randomCart(min = 1, max = 4): CartLine[] {
  return Array.from({ length: random.int(min, max) }, randomLine);
}

const reservationId = (line: CartLine): string => `rsv-${line.sku}-${line.quantity}`;

/** Where the out-of-stock line sits, every run: the only line, the first of several, the last of several. */
function failingPositions(): { size: number; index: number }[] {
  const size = random.int(2, 4);
  return [
    { size: 1, index: 0 },
    { size, index: 0 },
    { size, index: size - 1 },
  ];
}

interface FakeInventory extends Inventory {
  /** The skus asked for, in call order. */
  calls: string[];
  /** Skus asked for while another reservation was still running. */
  overlapped: string[];
  /** The error the out-of-stock reservation rejects with. */
  error: Error | undefined;
}

/** An inventory client instrumented the way a library would be: each call makes its own CLIENT span. */
function fakeInventory(outOfStock?: string): FakeInventory {
  const client = otel.tracer('tracecraft.inventory-client');
  let running = 0;
  const inventory: FakeInventory = {
    calls: [],
    overlapped: [],
    error: outOfStock === undefined ? undefined : new Error(`${outOfStock} is out of stock`),
    reserve: (sku, quantity) =>
      client.startActiveSpan('inventory reserve', { kind: SpanKind.CLIENT, attributes: { 'app.sku': sku } }, async (span) => {
        inventory.calls.push(sku);
        if (running > 0) inventory.overlapped.push(sku);
        running += 1;
        try {
          await sleep(random.int(0, 3));
          if (sku === outOfStock) throw inventory.error;
          return `rsv-${sku}-${quantity}`;
        } finally {
          running -= 1;
          span.end();
        }
      }),
  };
  return inventory;
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

/** Each "checkout" span has exactly one "price-cart" and one "reserve-stock" child: its own, no other checkout's. */
function verifyOneStepEach(checkouts: readonly SpanNode[]): void {
  for (const placed of checkouts) {
    for (const step of ['price-cart', 'reserve-stock']) {
      verify(placed.children.filter((child) => child.name === step), `the children of a "checkout" span`).hasCount(1, `"${step}" span`);
    }
  }
}

/** A parent covers the time of its children: read from the order spans ended in, which is exact. */
function verifyParentsEndLast(): void {
  const finished = otel.finishedSpans();
  const endOrder = new Map(finished.map((span, i) => [span.spanContext().spanId, i]));
  const byId = new Map(otel.spans().map((span) => [span.spanId, span]));
  for (const child of otel.spans().filter((span) => CONTRACT_CHILDREN.includes(span.name))) {
    const parent = child.parentSpanId === undefined ? undefined : byId.get(child.parentSpanId);
    const childEnd = endOrder.get(child.spanId);
    const parentEnd = parent && endOrder.get(parent.spanId);
    if (!parent || childEnd === undefined || parentEnd === undefined) continue;
    expectThat(
      parentEnd > childEnd,
      `a parent covers the time of its children: "${parent.name}" ends after its child "${child.name}" (end it in finally, inside the callback, once the work it awaits is done)`,
      `"${parent.name}" ended before "${child.name}" did`,
    );
  }
}

/** The error a promise rejects with; fails the check when it resolves instead. */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) fail(`${what} must reject with the inventory's error, but it resolved with ${show(outcome.value)}`);
  return outcome.error;
}

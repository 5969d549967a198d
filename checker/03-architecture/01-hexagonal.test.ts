import { it } from 'vitest';
import {
  absent,
  closeAfter,
  expectAllEnded,
  expectNoViolations,
  expectThat,
  expectTrace,
  fail,
  forbidImports,
  matchesGlob,
  random,
  readImportGraph,
  show,
  targetFolder,
  useTracing,
  verify,
  type SpanShape,
  type TraceTree,
} from '#checks';
import { httpRequest, startHttpServer } from '#kit';
import { buildOrderService } from '#target/03-architecture/01-hexagonal/app.ts';

const otel = useTracing();

const EXERCISE = '03-architecture/01-hexagonal';
const SERVER = 'POST /orders';
const USE_CASE = 'PlaceOrder';
const SAVE = 'OrderRepository.save';
const CHARGE = 'PaymentGateway.charge';
const SHIPPING_CENTS = 499;
const FREE_SHIPPING_FROM_CENTS = 5000;
const ANSWER_MS = 1500;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('places an order: answers 201 and saves it as paid, with the total the pricing rules give (the free-shipping threshold included)', async () => {
  const { url, service } = await startService();
  // The edges of the shipping rule every run, beside random carts of every size.
  const carts = [cartOf(FREE_SHIPPING_FROM_CENTS), cartOf(FREE_SHIPPING_FROM_CENTS - 1), cartOf(FREE_SHIPPING_FROM_CENTS + 1), randomCart('small'), randomCart('large'), randomCart()];
  const ids = new Set<string>();
  for (const lines of carts) {
    const order = randomOrder(lines);
    const total = expectedTotal(lines);
    const cart = describeCart(lines);
    const reply = await postOrder(url, order);
    verify(reply.status, `the status of the answer to a paid order (${cart})`).is(201);
    verify(reply.body['status'], `the "status" in the answer to a paid order (${cart})`).is('paid');
    verify(reply.body['totalCents'], `the "totalCents" in the answer for ${cart} (shipping ${SHIPPING_CENTS} below a subtotal of ${FREE_SHIPPING_FROM_CENTS}, free from ${FREE_SHIPPING_FROM_CENTS} on)`).is(total);
    const orderId = reply.body['orderId'];
    expectThat(typeof orderId === 'string' && orderId !== '', 'the answer carries the new order\'s id as "orderId", a string', `"orderId" is ${show(orderId)}`);
    ids.add(orderId);
    const saved = await service.orders.findById(orderId);
    verify(saved && pick(saved, ['id', 'customerId', 'lines', 'status', 'totalCents']), `the order the repository holds under "${orderId}"`).equals({
      id: orderId,
      customerId: order.customerId,
      lines,
      status: 'paid',
      totalCents: total,
    });
  }
  verify(ids.size, `the ids of ${carts.length} orders`).hasCount(carts.length, 'different id');
});

it('a declined payment answers 402 with the reason, and leaves the order saved as payment_declined', async () => {
  const { url, service } = await startService();
  const lines = randomCart();
  const reason = declineReason();
  const order = randomOrder(lines, `decline:${reason}`);
  const reply = await postOrder(url, order);
  verify(reply.status, `the status of the answer when the payment is declined (${reason})`).is(402);
  verify(pick(reply.body, ['status', 'reason', 'totalCents']), 'the answer to a declined payment').equals({
    status: 'payment_declined',
    reason,
    totalCents: expectedTotal(lines),
  });
  const orderId = String(reply.body['orderId']);
  const saved = await service.orders.findById(orderId);
  verify(saved && pick(saved, ['id', 'customerId', 'status', 'totalCents']), `the declined order the repository holds under "${orderId}" (it is kept, so support can see the failed attempt)`).equals({
    id: orderId,
    customerId: order.customerId,
    status: 'payment_declined',
    totalCents: expectedTotal(lines),
  });
});

it('rejects an order that breaks a rule with 400, and a payment provider that fails with 500', async () => {
  const { url } = await startService();
  const broken = [
    { what: 'no lines', lines: [] },
    { what: 'a quantity of 0', lines: [...randomCart(), { sku: 'SKU-1', quantity: 0, unitPriceCents: random.int(1, 999) }] },
    { what: 'a negative price', lines: [{ sku: 'SKU-2', quantity: random.int(1, 3), unitPriceCents: -random.int(1, 999) }] },
  ];
  for (const { what, lines } of broken) {
    const reply = await postOrder(url, randomOrder(lines));
    verify(reply.status, `the status of the answer to an order with ${what}`).is(400);
  }
  const errorName = providerError();
  const reply = await postOrder(url, randomOrder(randomCart(), `error:${errorName}`));
  verify(reply.status, `the status of the answer when the payment provider fails (${errorName})`).is(500);
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('the domain never imports OpenTelemetry, not even its types', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  verify(graph.files.filter((file) => matchesGlob(file, 'domain/**')), 'the files of the core, in domain/').isNot([]);
  expectNoViolations(
    forbidImports(graph, {
      from: 'domain/**',
      to: '@opentelemetry/*',
      because: 'the core knows nothing of tracing; trace its ports with decorators in adapters/',
    }),
    'the domain core must not depend on OpenTelemetry',
  );
});

it('the domain depends on nothing outside domain/: no adapter, not the composition root', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  const outside = graph.files.filter((file) => !matchesGlob(file, 'domain/**'));
  verify(graph.files.filter((file) => matchesGlob(file, 'adapters/**')), 'the files of the adapters, in adapters/').isNot([]);
  expectNoViolations(
    forbidImports(graph, {
      from: 'domain/**',
      to: [...outside, '../**'],
      because: 'the core depends on its own ports only; adapters depend on the core, never the other way round',
    }),
    'every dependency points into the core',
  );
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('traces a paid order: POST /orders parents PlaceOrder, which parents one span per port call, in order', async () => {
  const { url } = await startService();
  // Below the threshold, so the total (what is charged) is never the subtotal.
  const lines = randomCart('small');
  const reply = await postOrder(url, randomOrder(lines));
  await otel.settled();
  const orderId = String(reply.body['orderId']);
  expectAllEnded(otel, 'every span ends, the request\'s included');
  expectTrace(
    otel,
    serverShape(201, 'unset', {
      name: USE_CASE,
      kind: 'internal',
      status: 'unset',
      attributes: { 'app.order.id': orderId, 'app.order.status': 'paid', 'error.type': absent() },
      ordered: true,
      children: [saveShape(orderId, 'pending'), chargeShape(orderId, expectedTotal(lines), 'unset', absent()), saveShape(orderId, 'paid')],
    }),
    'the driving adapter\'s SERVER span parents the use case span, which parents a span for every call through a port: save (pending), charge, save (paid)',
  );
  verify(spanCounts(requestTrace()), 'the spans of one placed order (one request, one use case, two saves, one charge)').equals({
    [SERVER]: 1,
    [USE_CASE]: 1,
    [SAVE]: 2,
    [CHARGE]: 1,
  });
});

it('traces a declined payment where it happens: the charge span is ERROR, its parents are not', async () => {
  const { url } = await startService();
  const lines = randomCart('small');
  const reason = declineReason();
  const reply = await postOrder(url, randomOrder(lines, `decline:${reason}`));
  await otel.settled();
  const orderId = String(reply.body['orderId']);
  expectAllEnded(otel, 'every span ends, also when the payment is declined');
  expectTrace(
    otel,
    serverShape(402, 'unset', {
      name: USE_CASE,
      kind: 'internal',
      status: 'unset',
      attributes: { 'app.order.id': orderId, 'app.order.status': 'payment_declined', 'error.type': absent() },
      ordered: true,
      children: [saveShape(orderId, 'pending'), chargeShape(orderId, expectedTotal(lines), 'error', reason), saveShape(orderId, 'payment_declined')],
    }),
    'the failed call is the charge: its span is ERROR with error.type = the decline reason; the use case did its job ' +
      '(app.order.status="payment_declined") and the server answered correctly (402), so neither is ERROR',
  );
  verify(spanCounts(requestTrace()), 'the spans of one declined order').equals({ [SERVER]: 1, [USE_CASE]: 1, [SAVE]: 2, [CHARGE]: 1 });
});

it('traces an order that breaks a rule: PlaceOrder records the exception, no port is called', async () => {
  const { url } = await startService();
  await postOrder(url, randomOrder([]));
  await otel.settled();
  expectAllEnded(otel, 'every span ends, also when the use case rejects');
  expectTrace(
    otel,
    serverShape(400, 'unset', {
      name: USE_CASE,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': 'InvalidOrderError' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'InvalidOrderError' } }],
    }),
    'the use case rejected the order: its span is ERROR with error.type and the exception; the SERVER span answered 400, the caller\'s mistake, so it stays UNSET',
  );
  const counts = spanCounts(requestTrace());
  verify((counts[SAVE] ?? 0) + (counts[CHARGE] ?? 0), 'an order that breaks a rule is neither saved nor charged: the port spans in its trace').hasCount(0, 'port span');
});

it('traces a payment provider that fails: ERROR from the charge span up to the SERVER span that answered 500', async () => {
  const { url } = await startService();
  const lines = randomCart('small');
  const errorName = providerError();
  await postOrder(url, randomOrder(lines, `error:${errorName}`));
  await otel.settled();
  expectAllEnded(otel, 'every span ends, also when a port call rejects');
  expectTrace(
    otel,
    serverShape(500, 'error', {
      name: USE_CASE,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': errorName },
      events: [{ name: 'exception', attributes: { 'exception.type': errorName } }],
      children: [{ name: CHARGE, kind: 'client', status: 'error', attributes: { 'app.payment.amount_cents': expectedTotal(lines), 'error.type': errorName } }],
    }),
    `the provider failed (${errorName}): the charge span is ERROR with error.type = the error's name, the use case that rejected is ERROR with the exception, ` +
      'and the SERVER span that answered 500 is ERROR with error.type "500"',
  );
});

// ---------------------------------------------------------------------------------------------
// The rig: the learner's service on a loopback server, random carts, and the README's rules
// ---------------------------------------------------------------------------------------------

interface Line {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function startService(): Promise<{ url: string; service: ReturnType<typeof buildOrderService> }> {
  const service = buildOrderService();
  const server = closeAfter(await startHttpServer(service.handler));
  return { url: server.url, service };
}

async function postOrder(url: string, order: unknown): Promise<Reply> {
  const response = await httpRequest(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
    timeoutMs: ANSWER_MS,
  }).catch((error: unknown) => fail(`POST /orders got no answer (${(error as Error).message}): does the handler end every response?`));
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // not JSON: the checks that read the body say what they miss
  }
  return { status: response.status, body };
}

function sku(): string {
  return `SKU-${random.int(100, 99_999)}`;
}

function randomCart(size: 'small' | 'large' | 'any' = 'any'): Line[] {
  const count = random.int(1, 5);
  return Array.from({ length: count }, () => {
    const quantity = size === 'small' ? 1 : random.int(1, 6);
    const unitPriceCents =
      size === 'small' ? random.int(1, Math.floor(4999 / count)) : size === 'large' ? random.int(5000, 20_000) : random.int(50, 4_000);
    return { sku: sku(), quantity, unitPriceCents };
  });
}

/** A random cart whose subtotal is exactly `subtotal`: 1 to 4 lines, quantities that divide their share. */
function cartOf(subtotal: number): Line[] {
  const count = random.int(1, 4);
  const cuts = [...new Set(Array.from({ length: count - 1 }, () => random.int(1, subtotal - 1)))].sort((a, b) => a - b);
  const shares = [...cuts, subtotal].map((cut, i, all) => cut - (i === 0 ? 0 : (all[i - 1] ?? 0)));
  return shares.map((share) => {
    const quantity = random.pick([1, 2, 3, 4, 5, 6].filter((q) => share % q === 0));
    return { sku: sku(), quantity, unitPriceCents: share / quantity };
  });
}

/** The README's pricing rules. */
function expectedTotal(lines: readonly Line[]): number {
  const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  return subtotal + (subtotal >= FREE_SHIPPING_FROM_CENTS ? 0 : SHIPPING_CENTS);
}

function describeCart(lines: readonly Line[]): string {
  const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  return `cart ${lines.map((line) => `${line.quantity} × ${line.unitPriceCents}`).join(' + ')} = ${subtotal}`;
}

function randomOrder(lines: Line[], paymentToken = `tok_${random.id()}`) {
  return { customerId: random.id('cust-'), paymentToken, lines };
}

function declineReason(): string {
  return random.pick(['insufficient_funds', 'card_declined', 'expired_card', `do_not_honor_${random.int(1, 99)}`]);
}

function providerError(): string {
  return random.pick(['ProviderUnavailableError', 'GatewayTimeoutError', 'ConnectionResetError']);
}

function pick(record: object, keys: readonly string[]): Record<string, unknown> {
  const source = record as Record<string, unknown>;
  return Object.fromEntries(keys.filter((key) => key in source).map((key) => [key, source[key]]));
}

/** The trace a request made: the one whose root is the SERVER span. */
function requestTrace(): TraceTree | undefined {
  return otel.traces().find((t) => t.roots.some((root) => root.name === SERVER));
}

function spanCounts(trace: TraceTree | undefined): Record<string, number> {
  const count = (name: string): number => trace?.spans.filter((span) => span.name === name).length ?? 0;
  return { [SERVER]: count(SERVER), [USE_CASE]: count(USE_CASE), [SAVE]: count(SAVE), [CHARGE]: count(CHARGE) };
}

function serverShape(status: number, spanStatus: 'unset' | 'error', useCase: SpanShape): SpanShape {
  return {
    name: SERVER,
    kind: 'server',
    status: spanStatus,
    attributes: {
      'http.request.method': 'POST',
      'http.route': '/orders',
      'http.response.status_code': status,
      'error.type': spanStatus === 'error' ? String(status) : absent(),
    },
    children: [useCase],
  };
}

function saveShape(orderId: string, status: string): SpanShape {
  return { name: SAVE, kind: 'client', status: 'unset', attributes: { 'app.order.id': orderId, 'app.order.status': status } };
}

function chargeShape(orderId: string, amountCents: number, status: 'unset' | 'error', errorType: string | ReturnType<typeof absent>): SpanShape {
  return { name: CHARGE, kind: 'client', status, attributes: { 'app.order.id': orderId, 'app.payment.amount_cents': amountCents, 'error.type': errorType } };
}

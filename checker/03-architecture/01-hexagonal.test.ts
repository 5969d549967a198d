import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import {
  absent,
  expectAllEnded,
  expectNoViolations,
  expectTrace,
  forbidImports,
  matchesGlob,
  random,
  readImportGraph,
  targetFolder,
  CheckFailure,
  useTracing,
  type SpanNode,
  type SpanShape,
  type TraceTree,
} from '#checks';
import { httpRequest, startHttpServer, type LoopbackServer } from '#kit';
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

const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

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
  const server = await startHttpServer(service.handler);
  servers.push(server);
  return { url: server.url, service };
}

async function postOrder(url: string, order: unknown): Promise<Reply> {
  const response = await httpRequest(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
    timeoutMs: ANSWER_MS,
  }).catch((error: unknown) => {
    throw new CheckFailure(`POST /orders got no answer (${(error as Error).message}): does the handler end every response?`);
  });
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // not JSON: the checks that read the body say so
  }
  return { status: response.status, body };
}

/** The server may end its span just after the answer left: give open spans a moment to end. */
async function spansSettled(): Promise<void> {
  const deadline = Date.now() + 500;
  while (otel.openSpans().length > 0 && Date.now() < deadline) await sleep(5);
}

function randomLines(size: 'small' | 'large' | 'any' = 'any'): Line[] {
  const count = random.int(1, 5);
  return Array.from({ length: count }, () => {
    const quantity = size === 'small' ? 1 : random.int(1, 6);
    const unitPriceCents = size === 'small' ? random.int(1, Math.floor(4999 / count)) : size === 'large' ? random.int(5000, 20_000) : random.int(50, 4_000);
    return { sku: `SKU-${random.int(100, 99_999)}`, quantity, unitPriceCents };
  });
}

/** The README's pricing rules. */
function expectedTotal(lines: readonly Line[]): number {
  const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  return subtotal + (subtotal >= FREE_SHIPPING_FROM_CENTS ? 0 : SHIPPING_CENTS);
}

function describeCart(lines: readonly Line[]): string {
  return lines.map((line) => `${line.quantity} × ${line.unitPriceCents}`).join(' + ');
}

function randomOrder(lines: Line[], paymentToken = `tok_${random.id()}`) {
  return { customerId: random.id('cust-'), paymentToken, lines };
}

function declineReason(): string {
  return random.pick(['insufficient_funds', 'card_declined', 'expired_card', `do_not_honor_${random.int(1, 99)}`]);
}

/** The trace a request made: the one whose root is the SERVER span. */
function requestTrace(): TraceTree | undefined {
  return otel.traces().find((t) => t.roots.some((root) => root.name === SERVER));
}

function countIn(trace: TraceTree | undefined, name: string): number {
  return trace?.spans.filter((span: SpanNode) => span.name === name).length ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('places an order: answers 201 and saves it as paid, with the total the pricing rules give', async () => {
  const { url, service } = await startService();
  const carts = [randomLines('small'), randomLines('large'), randomLines(), randomLines()];
  const ids = new Set<string>();
  for (const lines of carts) {
    const order = randomOrder(lines);
    const total = expectedTotal(lines);
    const reply = await postOrder(url, order);
    expect(reply.status, `an order that is paid is answered 201 (cart ${describeCart(lines)})`).toBe(201);
    expect(reply.body, `the answer says the order is paid, for ${total} cents (cart ${describeCart(lines)}, shipping ${SHIPPING_CENTS} below ${FREE_SHIPPING_FROM_CENTS})`).toMatchObject({
      status: 'paid',
      totalCents: total,
    });
    const orderId = reply.body['orderId'];
    expect(typeof orderId, 'the answer carries the new order\'s id as orderId').toBe('string');
    ids.add(String(orderId));
    const saved = await service.orders.findById(String(orderId));
    expect(saved, 'the order is saved in the repository, under its id').toMatchObject({
      id: orderId,
      customerId: order.customerId,
      status: 'paid',
      totalCents: total,
      lines,
    });
  }
  expect(ids.size, 'every order gets its own id').toBe(carts.length);
});

it('a declined payment answers 402 and leaves the order saved as payment_declined', async () => {
  const { url, service } = await startService();
  const lines = randomLines();
  const reason = declineReason();
  const reply = await postOrder(url, randomOrder(lines, `decline:${reason}`));
  expect(reply.status, 'a declined payment is answered 402 Payment Required').toBe(402);
  expect(reply.body, 'the answer says why').toMatchObject({ status: 'payment_declined', reason, totalCents: expectedTotal(lines) });
  const saved = await service.orders.findById(String(reply.body['orderId']));
  expect(saved, 'the declined order is kept, with its total, as payment_declined').toMatchObject({
    status: 'payment_declined',
    totalCents: expectedTotal(lines),
  });
});

it('rejects an order that breaks a rule with 400', async () => {
  const { url } = await startService();
  const broken = [
    { what: 'no lines', lines: [] },
    { what: 'a quantity of 0', lines: [...randomLines(), { sku: 'SKU-1', quantity: 0, unitPriceCents: random.int(1, 999) }] },
    { what: 'a negative price', lines: [{ sku: 'SKU-2', quantity: random.int(1, 3), unitPriceCents: -random.int(1, 999) }] },
  ];
  for (const { what, lines } of broken) {
    const reply = await postOrder(url, randomOrder(lines));
    expect(reply.status, `an order with ${what} is answered 400`).toBe(400);
  }
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('the domain never imports OpenTelemetry, not even its types', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  expect(graph.files.filter((file) => matchesGlob(file, 'domain/**')), 'the core lives in domain/').not.toEqual([]);
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
  expect(graph.files.filter((file) => matchesGlob(file, 'adapters/**')), 'the adapters live in adapters/').not.toEqual([]);
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

function serverShape(status: number, useCase: SpanShape): SpanShape {
  return {
    name: SERVER,
    kind: 'server',
    status: 'unset',
    attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': status, 'error.type': absent() },
    children: [useCase],
  };
}

function saveShape(orderId: string, status: string): SpanShape {
  return { name: SAVE, kind: 'client', status: 'unset', attributes: { 'app.order.id': orderId, 'app.order.status': status } };
}

it('traces a paid order: POST /orders parents PlaceOrder, which parents one span per port call', async () => {
  const { url } = await startService();
  const lines = randomLines();
  const reply = await postOrder(url, randomOrder(lines));
  await spansSettled();
  const orderId = String(reply.body['orderId']);
  expectAllEnded(otel, 'every span ends, the request\'s included');
  expectTrace(
    otel,
    serverShape(201, {
      name: USE_CASE,
      kind: 'internal',
      status: 'unset',
      attributes: { 'app.order.id': orderId, 'app.order.status': 'paid' },
      ordered: true,
      children: [
        saveShape(orderId, 'pending'),
        {
          name: CHARGE,
          kind: 'client',
          status: 'unset',
          attributes: { 'app.order.id': orderId, 'app.payment.amount_cents': expectedTotal(lines), 'error.type': absent() },
        },
        saveShape(orderId, 'paid'),
      ],
    }),
    'the driving adapter\'s SERVER span parents the use case span, which parents a span for every call through a port: save (pending), charge, save (paid)',
  );
  const trace = requestTrace();
  expect(
    [SERVER, USE_CASE, SAVE, CHARGE].map((name) => `${name} ×${countIn(trace, name)}`),
    'one span per call: one request, one use case, two saves and one charge',
  ).toEqual([`${SERVER} ×1`, `${USE_CASE} ×1`, `${SAVE} ×2`, `${CHARGE} ×1`]);
});

it('traces a declined payment where it happens: the charge span is ERROR, its parents are not', async () => {
  const { url } = await startService();
  const lines = randomLines();
  const reason = declineReason();
  const reply = await postOrder(url, randomOrder(lines, `decline:${reason}`));
  await spansSettled();
  const orderId = String(reply.body['orderId']);
  expectTrace(
    otel,
    serverShape(402, {
      name: USE_CASE,
      kind: 'internal',
      status: 'unset',
      attributes: { 'app.order.id': orderId, 'app.order.status': 'payment_declined', 'error.type': absent() },
      ordered: true,
      children: [
        saveShape(orderId, 'pending'),
        {
          name: CHARGE,
          kind: 'client',
          status: 'error',
          attributes: { 'app.order.id': orderId, 'app.payment.amount_cents': expectedTotal(lines), 'error.type': reason },
        },
        saveShape(orderId, 'payment_declined'),
      ],
    }),
    'the failed call is the charge: its span is ERROR with error.type = the decline reason; the use case did its job ' +
      '(app.order.status="payment_declined") and the server answered correctly (402), so neither is ERROR',
  );
});

it('traces an order that breaks a rule: PlaceOrder records the exception, no port is called', async () => {
  const { url } = await startService();
  await postOrder(url, randomOrder([]));
  await spansSettled();
  expectAllEnded(otel, 'every span ends, also when the use case rejects');
  expectTrace(
    otel,
    serverShape(400, {
      name: USE_CASE,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': 'InvalidOrderError' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'InvalidOrderError' } }],
    }),
    'the use case rejected the order: its span is ERROR with error.type and the exception; the SERVER span answered 400, the caller\'s mistake, so it stays UNSET',
  );
  const trace = requestTrace();
  expect(countIn(trace, SAVE) + countIn(trace, CHARGE), 'an invalid order is neither saved nor charged: no port span').toBe(0);
});

import { it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, TraceFlags } from '@opentelemetry/api';
import { afterCheck, expectThat, expectTrace, fail, random, useSpanRecorder, useTracing, verify, type SpanShape, type TraceTree } from '#checks';
import { startShop } from '#target/06-pipeline/02-sampling/shop.ts';
import { startStock } from '#target/06-pipeline/02-sampling/stock.ts';
import { createTracerProvider } from '#target/06-pipeline/02-sampling/telemetry.ts';
import {
  CHECKOUT,
  checkouts,
  describeHalves,
  halves,
  keptWindow,
  LOOKUP,
  pathOf,
  PRODUCT,
  productPages,
  RESERVE,
  sendAll,
  startServices,
  upstreamTraceparent,
  wholeOf,
  type ServiceNames,
  type Services,
  type ShopRequest,
  type StockCall,
} from './02-sampling.rig.ts';

const otel = useTracing();
const recorder = useSpanRecorder();
const learner = { createTracerProvider, startShop, startStock };

/** The ratios a run draws from (the README's table of "near r" has a line for each). */
const RATIOS = [0.1, 0.2, 0.25, 0.3];
/** Traces started at the shop's provider to measure the share kept: enough for a range of a few points around r. */
const PROBES = 20_000;
const CRITICAL =
  'the critical route is kept at any ratio: the sampler must find http.route="/checkout" among the attributes given when the span starts, and answer RECORD_AND_SAMPLED';
const AT_THE_RATIO = 'a trace that starts at the shop outside the critical route is kept at the ratio the provider is given: none at 0, every one at 1';
const PARENT_BASED = 'ParentBased: a span with a parent does what its parent did, and only a span that starts a trace asks the ratio';

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('the shop answers product pages and checkouts with what the stock service says', async () => {
  const services = await startServices(learner, recorder.exporter, random.pick(RATIOS));
  const sku = `sku-${random.id()}`;
  const level = random.int(3, 9);
  services.levels.set(sku, level);
  const quantity = random.int(1, level - 1);
  const [page] = await sendAll(services, [{ route: PRODUCT, sku }]);
  verify(page && { status: page.status, body: page.body }, `the answer to GET /products/${sku} (the stock service holds ${level})`).equals({
    status: 200,
    body: { sku, available: level },
  });
  const [reserved] = await sendAll(services, [{ route: CHECKOUT, sku, quantity }]);
  verify(reserved && { status: reserved.status, body: reserved.body }, `the answer to a checkout of ${quantity} × ${sku} (${level} in stock)`).equals({
    status: 201,
    body: { sku, reserved: quantity, left: level - quantity },
  });
  const [refused] = await sendAll(services, [{ route: CHECKOUT, sku, quantity: level - quantity + 1 }]);
  verify(refused?.status, `the status of a checkout of ${level - quantity + 1} × ${sku} with ${level - quantity} left`).is(409);
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it("a kept trace is whole: the shop's SERVER and CLIENT spans, then the stock service's SERVER span, each with its service.name", async () => {
  const services = await startServices(learner, recorder.exporter, 1);
  const [page] = productPages(1) as [ShopRequest];
  const [order] = checkouts(services, 1) as [ShopRequest];
  await sendAll(services, [page, order]);
  const traces = keptTraces();
  const concept = (route: string): string =>
    `at ratio 1 every trace is kept: the trace of ${route} is the shop's SERVER span (http.route given at its start), its CLIENT span, ` +
    'and under it the stock service\'s SERVER span, each span with the service.name of the provider that made it';
  expectTrace(traces, requestShape(services.names, page), concept(`GET /products/${page.sku}`));
  expectTrace(traces, requestShape(services.names, order), concept('POST /checkout'));
});

it('the critical route is always kept, whole: at ratio 0, every checkout and no product page', async () => {
  const services = await startServices(learner, recorder.exporter, 0);
  const orders = checkouts(services, random.int(8, 14));
  const pages = productPages(random.int(8, 14));
  await sendAll(services, random.shuffle([...orders, ...pages]));
  const traces = keptTraces();
  expectNoHalves(traces, services.calls, `at ratio 0 (${orders.length} checkouts, ${pages.length} product pages)`);
  verify(wholeOf(traces, CHECKOUT).length, `the traces kept of ${orders.length} checkouts at ratio 0 (${CRITICAL})`).is(orders.length);
  const keptPages = wholeOf(traces, PRODUCT);
  if (keptPages.length > 0) recorder.draw(keptPages.slice(0, 2));
  verify(keptPages.length, `the traces kept of ${pages.length} product pages at ratio 0 (${AT_THE_RATIO})`).is(0);
});

it('at ratio 1 every trace is kept, whole, on every route', async () => {
  const services = await startServices(learner, recorder.exporter, 1);
  const pages = productPages(random.int(25, 35));
  const orders = checkouts(services, random.int(3, 6));
  await sendAll(services, random.shuffle([...pages, ...orders]));
  const traces = keptTraces();
  expectNoHalves(traces, services.calls, `at ratio 1 (${pages.length} product pages, ${orders.length} checkouts)`);
  verify(wholeOf(traces, PRODUCT).length, `the traces kept of ${pages.length} product pages at ratio 1 (${AT_THE_RATIO})`).is(pages.length);
  verify(wholeOf(traces, CHECKOUT).length, `the traces kept of ${orders.length} checkouts at ratio 1`).is(orders.length);
});

it(`between 0 and 1, the shop keeps near r of the traces that start there: ${PROBES} root spans from its provider, at ${RATIOS.slice(0, -1).join(', ')} or ${RATIOS.at(-1)}`, () => {
  const ratio = random.pick(RATIOS);
  const provider = createTracerProvider({ serviceName: `shop-${random.word(4)}`, ratio, exporter: recorder.exporter });
  afterCheck(() => provider.shutdown());
  const tracer = provider.getTracer('tracecraft.shop');
  let kept = 0;
  // The shop's SERVER span of a product page, as shop.ts starts it; a span that starts a trace, so the root sampler decides.
  // Not ended: nothing is exported, the decision is in the span context's flags.
  for (let i = 0; i < PROBES; i++) {
    const path = `/products/probe-${i}`;
    const attributes = { 'http.request.method': 'GET', 'http.route': '/products/:id', 'url.path': path };
    const span = tracer.startSpan(PRODUCT, { kind: SpanKind.SERVER, attributes }, ROOT_CONTEXT);
    if (span.spanContext().traceFlags & TraceFlags.SAMPLED) kept++;
  }
  const { low, high } = keptWindow(PROBES, ratio);
  verify(
    kept,
    `the product-page traces kept of ${PROBES} started at ratio ${ratio} (about ${Math.round(PROBES * ratio)}; ` +
      `${low} to ${high} is where a correct sampler lands on all but one run in a billion)`,
  ).isBetween(low, high);
});

it('a trace is kept or dropped whole: no service keeps a span whose trace the other dropped, and every call to stock carries the decision', async () => {
  const services = await startServices(learner, recorder.exporter, random.pick(RATIOS.filter((r) => r >= 0.2)), { proxy: true });
  const orders = checkouts(services, random.int(25, 35));
  const pages = productPages(random.int(90, 120));
  await sendAll(services, random.shuffle([...orders, ...pages]));
  const traces = keptTraces();
  const bare = services.calls.filter((call) => call.traceparent === undefined);
  verify(bare.length, `the calls from the shop to stock without a traceparent header, of ${services.calls.length} (inject it into every call, for dropped traces too: its flags, 01 or 00, are the decision)`).hasCount(0, 'call');
  expectNoHalves(traces, services.calls, `at ratio ${services.ratio} (${orders.length} checkouts, ${pages.length} product pages)`);
  verify(wholeOf(traces, CHECKOUT).length, `the traces kept of ${orders.length} checkouts at ratio ${services.ratio} (${CRITICAL})`).is(orders.length);
  const { low, high } = keptWindow(pages.length, services.ratio);
  verify(
    wholeOf(traces, PRODUCT).length,
    `the traces kept of ${pages.length} product pages at ratio ${services.ratio} (${low} to ${high} is where a correct sampler lands on all but one run in a billion)`,
  ).isBetween(low, high);
});

it("a caller's traceparent decides, on every route: kept with flags 01 even at ratio 0, dropped with flags 00 even at ratio 1", async () => {
  const none = await startServices(learner, recorder.exporter, 0);
  const all = await startServices(learner, recorder.exporter, 1);
  const plan = (services: Services, sampled: boolean) =>
    [...productPages(random.int(4, 7)), ...checkouts(services, random.int(4, 7))].map((request) => ({ ...request, ...upstreamTraceparent(sampled) }));
  const kept = plan(none, true);
  const dropped = plan(all, false);
  await sendAll(none, random.shuffle(kept));
  await sendAll(all, random.shuffle(dropped));
  const traces = keptTraces();
  for (const request of dropped) {
    const spans = traces.filter((trace) => trace.traceId === request.traceId).flatMap((trace) => trace.spans);
    expectThat(
      spans.length === 0,
      `${request.route} arrived with traceparent ${request.traceparent}: the caller dropped the trace, so no span of it is kept, even at ratio 1 and on the critical route (${PARENT_BASED})`,
      `${spans.length} were kept: ${spans.map((span) => `${span.name} ${span.kind.toUpperCase()}`).join(', ')}`,
    );
  }
  for (const request of kept) {
    const trace = traces.find((t) => t.traceId === request.traceId);
    if (!trace) {
      fail(
        `${request.route} arrived with traceparent ${request.traceparent}: the caller kept the trace, so its spans are kept, even at ratio 0 (${PARENT_BASED}), ` +
          'but no span of that trace was exported. The shop must start its SERVER span in the context it extracted from the request.',
      );
    }
    recorder.draw([trace]);
    expectTrace(
      [trace],
      requestShape(none.names, request),
      `a request that arrives with a kept traceparent continues the caller's trace whole: its trace id, the shop's SERVER span a child of the caller's span (${request.spanId})`,
    );
    const root = trace.roots[0];
    verify(root?.parentSpanId, `the parent of the shop's SERVER span for traceparent ${request.traceparent} (the caller's span id)`).is(request.spanId);
  }
});

// ---------------------------------------------------------------------------------------------
// The rules, as the checks read them
// ---------------------------------------------------------------------------------------------

/**
 * What the learner's providers exported in this check. A span made with the global tracer
 * (trace.getTracer) went to the workbook's own provider, which keeps everything: that is said first.
 */
function keptTraces(): TraceTree[] {
  const global = otel.spans();
  if (global.length > 0) {
    const names = [...new Set(global.map((span) => `"${span.name}"`))].join(', ');
    fail(
      `${global.length} spans (${names}) were made by the global tracer provider (trace.getTracer), which keeps every trace. ` +
        "Each service makes its spans with the tracer it is given (options.tracer), from the provider createTracerProvider built: that provider's sampler decides.",
    );
  }
  return recorder.traces();
}

function expectNoHalves(traces: readonly TraceTree[], calls: readonly StockCall[], when: string): void {
  const broken = halves(traces);
  if (broken.length === 0) return;
  recorder.draw(broken.slice(0, 2));
  fail(
    `a trace is kept or dropped whole, in both services: ${broken.length} of the ${traces.length} traces kept ${when} ${broken.length === 1 ? 'is' : 'are'} not whole:\n` +
      describeHalves(broken, calls).map((line) => `  - ${line}`).join('\n'),
  );
}

/** The trace of one request, as the README draws it. */
function requestShape(names: ServiceNames, request: ShopRequest): SpanShape {
  const product = request.route === PRODUCT;
  const hop = product ? LOOKUP : RESERVE;
  const shop = { 'service.name': names.shop };
  return {
    name: request.route,
    kind: 'server',
    attributes: { 'http.route': product ? '/products/:id' : '/checkout', ...(product ? { 'url.path': pathOf(request) } : {}) },
    resource: shop,
    children: [{ name: hop, kind: 'client', resource: shop, children: [{ name: hop, kind: 'server', resource: { 'service.name': names.stock } }] }],
  };
}

/*
 * The rig of the sampling checks: the learner's two services on loopback, each with a tracer
 * provider the learner's createTracerProvider builds around the checks' exporter; a keep-alive
 * client for the traffic; a proxy between the shop and the stock service that records each hop's
 * traceparent; what a trace kept whole is (and, for one that is not, why, in words); and the
 * statistical bound of "near the ratio".
 */
import http from 'node:http';
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterCheck, closeAfter, fail, random, type SpanNode, type TraceTree } from '#checks';
import { httpRequest, readBody, startHttpServer, type LoopbackServer } from '#kit';
import type { ShopOptions } from '#target/06-pipeline/02-sampling/shop.ts';
import type { StockOptions } from '#target/06-pipeline/02-sampling/stock.ts';
import type { TracingOptions } from '#target/06-pipeline/02-sampling/telemetry.ts';

export const PRODUCT = 'GET /products/:id';
export const CHECKOUT = 'POST /checkout';
export const LOOKUP = 'GET /stock/:sku';
export const RESERVE = 'POST /reservations';
/** How long one answer may take: two loopback hops. */
const ANSWER_MS = 2000;
/** Requests in flight at once: enough to keep both services busy, few enough for two cores. */
const CONCURRENCY = 12;

/** What the checker imports from the learner's files. */
export interface Learner {
  createTracerProvider(options: TracingOptions): BasicTracerProvider;
  startShop(options: ShopOptions): Promise<LoopbackServer>;
  startStock(options: StockOptions): Promise<LoopbackServer>;
}

export interface ServiceNames {
  shop: string;
  stock: string;
}

/** One call from the shop to the stock service, as the proxy between them saw it. */
export interface StockCall {
  method: string;
  path: string;
  traceparent: string | undefined;
}

export interface Services {
  ratio: number;
  names: ServiceNames;
  shopUrl: string;
  /** The stock service's units by sku (reservations take from it). */
  levels: Map<string, number>;
  /** Every call the shop made to the stock service (only with `proxy: true`). */
  calls: StockCall[];
  /** Sends every span the two providers still buffer to the checks' exporter. */
  flush(): Promise<void>;
}

/**
 * Both services, each with its own provider at `ratio`, exporting to `exporter`; stopped, and their
 * providers shut down, when the check ends. With `proxy`, the shop calls the stock service through
 * a proxy that records each call's traceparent.
 */
export async function startServices(learner: Learner, exporter: SpanExporter, ratio: number, options: { proxy?: boolean } = {}): Promise<Services> {
  const suffix = random.word(4);
  const names = { shop: `shop-${suffix}`, stock: `stock-${suffix}` };
  const shopProvider = learner.createTracerProvider({ serviceName: names.shop, ratio, exporter });
  const stockProvider = learner.createTracerProvider({ serviceName: names.stock, ratio, exporter });
  afterCheck(() => Promise.all([shopProvider.shutdown(), stockProvider.shutdown()]));
  const levels = new Map<string, number>();
  const stock = closeAfter(await learner.startStock({ tracer: stockProvider.getTracer('tracecraft.stock'), levels }));
  const calls: StockCall[] = [];
  const stockUrl = options.proxy ? closeAfter(await startProxy(stock.url, calls)).url : stock.url;
  const shop = closeAfter(await learner.startShop({ tracer: shopProvider.getTracer('tracecraft.shop'), stockUrl }));
  return {
    ratio,
    names,
    shopUrl: shop.url,
    levels,
    calls,
    flush: async () => {
      await Promise.all([shopProvider.forceFlush(), stockProvider.forceFlush()]);
    },
  };
}

/** A proxy in front of the stock service that remembers what each call carried. */
function startProxy(target: string, calls: StockCall[]): Promise<LoopbackServer> {
  return startHttpServer(async (request, response) => {
    const traceparent = request.headers['traceparent'];
    calls.push({ method: request.method ?? 'GET', path: request.url ?? '/', traceparent: typeof traceparent === 'string' ? traceparent : undefined });
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([key]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(key)),
    ) as Record<string, string>;
    const answer = await httpRequest(`${target}${request.url ?? '/'}`, { method: request.method ?? 'GET', headers, body: await readBody(request), timeoutMs: ANSWER_MS });
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Traffic
// ---------------------------------------------------------------------------------------------

export interface ShopRequest {
  route: typeof PRODUCT | typeof CHECKOUT;
  /** The product page's id, or the sku a checkout reserves: unique per request, so its trace can be found by url.path. */
  sku: string;
  quantity?: number;
  /** A traceparent from a caller in front of the shop (a gateway), when there is one. */
  traceparent?: string;
}

export interface ShopReply {
  status: number;
  body: Record<string, unknown>;
}

export function productPages(count: number): ShopRequest[] {
  return Array.from({ length: count }, (_, i) => ({ route: PRODUCT, sku: `p${i}-${random.id()}` }));
}

/** Checkouts of one unit each, of skus the stock service holds enough of. */
export function checkouts(services: Services, count: number): ShopRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const sku = `c${i}-${random.id()}`;
    services.levels.set(sku, random.int(1, 9));
    return { route: CHECKOUT, sku, quantity: 1 };
  });
}

/** A caller's traceparent: a random trace id and span id, and the caller's decision in the flags. */
export function upstreamTraceparent(sampled: boolean): { traceparent: string; traceId: string; spanId: string } {
  const hex = (length: number): string => Array.from({ length }, () => random.int(0, 15).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`, traceId, spanId };
}

/** The shop's url.path for a request: how its trace is found. */
export function pathOf(request: ShopRequest): string {
  return request.route === PRODUCT ? `/products/${request.sku}` : '/checkout';
}

/** Sends every request to the shop, a few at a time, on kept-alive connections; the answers in the requests' order. */
export async function sendAll(services: Services, requests: readonly ShopRequest[]): Promise<ShopReply[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  afterCheck(() => agent.destroy());
  const replies: ShopReply[] = new Array(requests.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const index = next++;
      const request = requests[index] as ShopRequest;
      replies[index] = await send(agent, services.shopUrl, request);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, requests.length) }, worker));
  await services.flush();
  return replies;
}

function send(agent: http.Agent, base: string, request: ShopRequest): Promise<ShopReply> {
  const product = request.route === PRODUCT;
  const body = product ? undefined : JSON.stringify({ sku: request.sku, quantity: request.quantity ?? 1 });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (request.traceparent) headers['traceparent'] = request.traceparent;
  const method = product ? 'GET' : 'POST';
  const url = `${base}${product ? `/products/${request.sku}` : '/checkout'}`;
  return new Promise<ShopReply>((resolve, reject) => {
    const outgoing = http.request(url, { method, headers, agent, timeout: ANSWER_MS }, (response) => {
      readBody(response).then((text) => resolve({ status: response.statusCode ?? 0, body: parse(text) }), reject);
    });
    outgoing.once('timeout', () => outgoing.destroy(new Error(`no answer within ${ANSWER_MS} ms`)));
    outgoing.once('error', reject);
    outgoing.end(body);
  }).catch((error: unknown) => fail(`${method} ${new URL(url).pathname} on the shop got no answer (${(error as Error).message}): do both services still answer every request?`));
}

function parse(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Whole traces, and why one is not
// ---------------------------------------------------------------------------------------------

const is = (span: SpanNode, name: string, kind: SpanNode['kind']): boolean => span.name === name && span.kind === kind;
const isShopServer = (span: SpanNode): boolean => is(span, PRODUCT, 'server') || is(span, CHECKOUT, 'server');
const hop = (server: SpanNode): string => (server.name === PRODUCT ? LOOKUP : RESERVE);

/** A kept trace of one request: the shop's SERVER span at the root, its CLIENT span, and the stock service's SERVER span under that. */
export function isWhole(trace: TraceTree): boolean {
  const [root, ...others] = trace.roots;
  if (!root || others.length > 0 || !isShopServer(root)) return false;
  const client = root.children.find((child) => is(child, hop(root), 'client'));
  return client !== undefined && client.children.some((child) => is(child, hop(root), 'server'));
}

/** The kept, whole traces of a route (the shop's SERVER span at the root). */
export function wholeOf(traces: readonly TraceTree[], route: string): TraceTree[] {
  return traces.filter((trace) => isWhole(trace) && trace.roots[0]?.name === route);
}

/** Kept traces that are not whole. */
export function halves(traces: readonly TraceTree[]): TraceTree[] {
  return traces.filter((trace) => !isWhole(trace));
}

/**
 * What is wrong with a trace that is not whole, in words (the same words for every trace broken
 * the same way), with the hop's traceparent when the proxy saw it.
 */
export function whyHalf(trace: TraceTree, calls: readonly StockCall[]): string {
  const call = calls.find((c) => c.traceparent?.split('-')[1] === trace.traceId);
  const root = trace.roots[0];
  const server = trace.spans.find(isShopServer);
  if (!server) {
    if (root && root.kind === 'server' && !call && root.parentSpanId === undefined) {
      return 'the stock service kept a trace of its own, without the shop\'s spans: it started the trace itself, so it decided alone. ' +
        'Every call to it must carry the shop\'s traceparent (injected for dropped traces too), and it must start its span in the context it extracts';
    }
    return `the stock service kept its span of a trace the shop dropped${call ? ` (the call carried traceparent ...-${call.traceparent?.split('-')[3] ?? '?'})` : ''}. ` +
      'A span whose parent was dropped must be dropped too (ParentBased)';
  }
  const client = trace.spans.find((span) => is(span, hop(server), 'client'));
  if (!client) {
    return `the shop kept its ${server.name} SERVER span and dropped the CLIENT span under it. ` +
      'A span with a local parent must follow it too (ParentBased decides for every span, not only the first)';
  }
  return `the shop kept its spans of ${server.name} and the stock service dropped its own${call ? ` (the call carried traceparent ...-${call.traceparent?.split('-')[3] ?? '?'})` : ''}. ` +
    'A span whose parent, in the traceparent, was kept must be kept (ParentBased, in the stock service too)';
}

/** Traces that are not whole, grouped by what is wrong with them: one line per mistake, with how many and an example. */
export function describeHalves(broken: readonly TraceTree[], calls: readonly StockCall[]): string[] {
  const groups = new Map<string, TraceTree[]>();
  for (const trace of broken) {
    const reason = whyHalf(trace, calls);
    groups.set(reason, [...(groups.get(reason) ?? []), trace]);
  }
  return [...groups.entries()].map(([reason, traces]) => {
    const example = traces[0] as TraceTree;
    const spans = example.spans.map((span) => `${span.name} ${span.kind.toUpperCase()}`).join(', ');
    return `${traces.length} × ${reason}. (For example trace ${example.traceId}: ${spans}.)`;
  });
}

// ---------------------------------------------------------------------------------------------
// "Near the ratio"
// ---------------------------------------------------------------------------------------------

/**
 * The counts, out of `n` traces each kept with probability `ratio`, that a correct sampler lands in
 * on all but one run in a billion: the exact binomial distribution, with at most `tail` of it cut on
 * each side. (TraceIdRatioBased keeps a trace when a number read from its random trace id falls
 * below ratio × 2³²: for random trace ids, one Bernoulli trial per trace.)
 */
export function keptWindow(n: number, ratio: number, tail = 5e-10): { low: number; high: number } {
  // In logarithms: (1 − r)ⁿ alone is below the smallest double for the large counts.
  const logOdds = Math.log(ratio / (1 - ratio));
  let log = n * Math.log(1 - ratio);
  const pmf: number[] = [Math.exp(log)];
  for (let k = 0; k < n; k++) {
    log += Math.log((n - k) / (k + 1)) + logOdds;
    pmf.push(Math.exp(log));
  }
  let low = 0;
  for (let below = 0; below + (pmf[low] as number) < tail; low++) below += pmf[low] as number;
  let high = n;
  for (let above = 0; above + (pmf[high] as number) < tail; high--) above += pmf[high] as number;
  return { low, high };
}

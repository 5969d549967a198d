/*
 * The stock service, called by the shop for every request. It never starts a trace of its own:
 * every request it serves comes with the shop's traceparent, and its spans follow that decision.
 *   GET /stock/:sku      → 200 { sku, available }
 *   POST /reservations   { sku, quantity } → 201 { sku, reserved, left }, or 409 when there is not enough
 */
import { context, propagation, SpanKind, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { readBody, startHttpServer, type LoopbackServer } from '#kit';

export interface StockOptions {
  /** The tracer of the stock service's own provider (telemetry.ts). */
  tracer: Tracer;
  /** Units in stock, by sku; reservations take from it. */
  levels: Map<string, number>;
}

interface Answer {
  status: number;
  body: unknown;
}

export function startStock({ tracer, levels }: StockOptions): Promise<LoopbackServer> {
  return startHttpServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://stock.invalid').pathname;
    const sku = request.method === 'GET' ? /^\/stock\/([^/]+)$/.exec(path)?.[1] : undefined;
    const route = sku !== undefined ? '/stock/:sku' : request.method === 'POST' && path === '/reservations' ? '/reservations' : undefined;
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_HTTP_ROUTE]: route, [ATTR_URL_PATH]: path };
    // The shop's traceparent: its span is the parent, and its flags are the decision to follow.
    const parent = propagation.extract(context.active(), request.headers);
    await tracer.startActiveSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        const answer = sku !== undefined ? available(levels, sku) : reserve(levels, JSON.parse(await readBody(request)) as Reservation);
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      } finally {
        span.end();
      }
    });
  });
}

interface Reservation {
  sku: string;
  quantity: number;
}

function available(levels: Map<string, number>, sku: string): Answer {
  return { status: 200, body: { sku, available: levels.get(sku) ?? 0 } };
}

function reserve(levels: Map<string, number>, { sku, quantity }: Reservation): Answer {
  const available = levels.get(sku) ?? 0;
  if (quantity > available) return { status: 409, body: { error: 'not enough stock', sku, available } };
  levels.set(sku, available - quantity);
  return { status: 201, body: { sku, reserved: quantity, left: available - quantity } };
}

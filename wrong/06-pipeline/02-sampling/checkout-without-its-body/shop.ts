/*
 * The shop, where traces start. Each route calls the stock service over HTTP:
 *   GET /products/:id   → GET /stock/:sku      the product page: kept at the sampling ratio
 *   POST /checkout      → POST /reservations   the critical route: every trace kept
 * The shop answers with the stock service's status and body.
 */
import { context, propagation, SpanKind, type Tracer } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { httpRequest, startHttpServer, type HttpResponse, type LoopbackServer } from '#kit';

export interface ShopOptions {
  /** The tracer of the shop's own provider (telemetry.ts). */
  tracer: Tracer;
  /** Where the stock service listens: `http://127.0.0.1:54321`. */
  stockUrl: string;
}

export function startShop({ tracer, stockUrl }: ShopOptions): Promise<LoopbackServer> {
  return startHttpServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://shop.invalid').pathname;
    const productId = request.method === 'GET' ? /^\/products\/([^/]+)$/.exec(path)?.[1] : undefined;
    const route = productId !== undefined ? '/products/:id' : request.method === 'POST' && path === '/checkout' ? '/checkout' : undefined;
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    // The sampler decides inside startActiveSpan, before the span exists: it sees the name and the
    // attributes given here, and nothing set later. So the route is matched first, and given at start.
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_HTTP_ROUTE]: route, [ATTR_URL_PATH]: path };
    // A gateway in front may have started the trace: then its traceparent carries the decision.
    const parent = propagation.extract(context.active(), request.headers);
    await tracer.startActiveSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        const answer =
          productId !== undefined
            ? await callStock(tracer, 'GET', new URL(`/stock/${productId}`, stockUrl), '/stock/:sku')
            : await callStock(tracer, 'POST', new URL('/reservations', stockUrl), '/reservations');
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      } finally {
        span.end();
      }
    });
  });
}

function callStock(tracer: Tracer, method: string, url: URL, route: string, body?: string): Promise<HttpResponse> {
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_FULL]: url.href };
  return tracer.startActiveSpan(`${method} ${route}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      // Also for a dropped trace: the traceparent's flags (01 kept, 00 dropped) are how the stock
      // service learns the decision. Without a traceparent it would start a trace, and decide, itself.
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      propagation.inject(context.active(), headers);
      const answer = await httpRequest(url, { method, headers, body });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      return answer;
    } finally {
      span.end();
    }
  });
}

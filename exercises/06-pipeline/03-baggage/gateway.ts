/*
 * The gateway, where requests enter. The authentication proxy in front of it has checked the caller
 * and says who it is in two headers, `x-tenant-id` and `x-user-id`. The gateway puts both in the
 * baggage, where every service behind it can read them, without a change to any service's API.
 *   POST /checkout { sku, quantity }  → orders: POST /orders, same body → the orders service's answer
 */
import type { IncomingMessage } from 'node:http';
import { context, propagation, SpanKind, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';
import { httpRequest, readBody, startHttpServer, type HttpResponse, type LoopbackServer } from '#kit';
import { TENANT_ID, USER_ID } from './baggage-keys.ts';

export interface GatewayOptions {
  /** The tracer of the gateway's own provider (telemetry.ts). */
  tracer: Tracer;
  /** Where the orders service listens: `http://127.0.0.1:54321`. */
  ordersUrl: string;
}

export function startGateway({ tracer, ordersUrl }: GatewayOptions): Promise<LoopbackServer> {
  return startHttpServer(async (request, response) => {
    if (request.method !== 'POST' || request.url !== '/checkout') {
      response.writeHead(404).end();
      return;
    }
    const tenant = header(request, 'x-tenant-id');
    const user = header(request, 'x-user-id');
    if (tenant === undefined || user === undefined) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'who is this? no x-tenant-id or x-user-id' }));
      return;
    }
    // TODO: put the tenant (TENANT_ID) and the user (USER_ID) in the baggage of the context this request is served in.
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_HTTP_ROUTE]: '/checkout' };
    await tracer.startActiveSpan('POST /checkout', { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const answer = await callOrders(tracer, new URL('/orders', ordersUrl), await readBody(request));
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      } finally {
        span.end();
      }
    });
  });
}

function callOrders(tracer: Tracer, url: URL, body: string): Promise<HttpResponse> {
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_URL_FULL]: url.href };
  return tracer.startActiveSpan('POST /orders', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      // Our own service: the traceparent and the baggage header both go.
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      propagation.inject(context.active(), headers);
      const answer = await httpRequest(url, { method: 'POST', headers, body });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      return answer;
    } finally {
      span.end();
    }
  });
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

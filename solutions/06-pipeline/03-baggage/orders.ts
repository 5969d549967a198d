/*
 * The orders service, behind the gateway. It learns the tenant and the user from the baggage, and
 * charges each order with a payment provider: a third party, outside the trust boundary.
 *   POST /orders { sku, quantity } → 201 { orderId, tenant, placedBy, sku, quantity, chargeId }
 *   (400 when the baggage names no tenant or no user; 502 when the payment provider fails)
 */
import { randomUUID } from 'node:crypto';
import { context, propagation, SpanKind, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';
import { httpRequest, readBody, startHttpServer, type HttpResponse, type LoopbackServer } from '#kit';
import { TENANT_ID, USER_ID } from './baggage-keys.ts';

export interface OrdersOptions {
  /** The tracer of the orders service's own provider (telemetry.ts). */
  tracer: Tracer;
  /** The payment provider's base URL: a host of another company. */
  paymentsUrl: string;
}

interface Answer {
  status: number;
  body: unknown;
}

export function startOrders({ tracer, paymentsUrl }: OrdersOptions): Promise<LoopbackServer> {
  return startHttpServer(async (request, response) => {
    if (request.method !== 'POST' || request.url !== '/orders') {
      response.writeHead(404).end();
      return;
    }
    // The gateway's traceparent and baggage, both read into the context the SERVER span starts in.
    const parent = propagation.extract(context.active(), request.headers);
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_HTTP_ROUTE]: '/orders' };
    await tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        const answer = await placeOrder(tracer, paymentsUrl, JSON.parse(await readBody(request)) as NewOrder);
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      } finally {
        span.end();
      }
    });
  });
}

interface NewOrder {
  sku: string;
  quantity: number;
}

async function placeOrder(tracer: Tracer, paymentsUrl: string, { sku, quantity }: NewOrder): Promise<Answer> {
  const baggage = propagation.getActiveBaggage();
  const tenant = baggage?.getEntry(TENANT_ID)?.value;
  const user = baggage?.getEntry(USER_ID)?.value;
  if (tenant === undefined || user === undefined) return { status: 400, body: { error: `the baggage names no ${TENANT_ID} or no ${USER_ID}` } };
  const orderId = `ord-${randomUUID().slice(0, 8)}`;
  const charged = await charge(tracer, new URL('/charges', paymentsUrl), JSON.stringify({ orderId, sku, quantity }));
  if (charged.status !== 201) return { status: 502, body: { error: `the payment provider answered ${charged.status}` } };
  const { chargeId } = JSON.parse(charged.body) as { chargeId: string };
  return { status: 201, body: { orderId, tenant, placedBy: user, sku, quantity, chargeId } };
}

function charge(tracer: Tracer, url: URL, body: string): Promise<HttpResponse> {
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'POST', [ATTR_URL_FULL]: url.href };
  // Started in the context that holds the baggage, so this span gets the tenant like every other.
  return tracer.startActiveSpan('POST /charges', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      // A third party: the baggage stays inside the trust boundary. The traceparent may go: it names a
      // trace and nothing more, and lets the provider's support match its traces with ours.
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      propagation.inject(propagation.deleteBaggage(context.active()), headers);
      const answer = await httpRequest(url, { method: 'POST', headers, body });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      return answer;
    } finally {
      span.end();
    }
  });
}

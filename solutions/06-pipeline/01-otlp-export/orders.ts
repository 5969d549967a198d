/*
 * The orders service's one route, traced through the OpenTelemetry API. The API alone records
 * nothing: until an SDK is registered (telemetry.ts), every span made here goes nowhere.
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.orders');

export const ATTR_ORDER_ID = 'app.order.id';

export interface Answer {
  status: number;
  body: unknown;
}

export interface Order {
  id: string;
  status: string;
}

/**
 * `GET /orders/:id` answers the order; anything else is a 404 (left untraced to keep this short).
 * `?delay=<ms>` makes the lookup take that long: the checks use it to keep a request in flight.
 */
export function handleOrders(request: IncomingMessage): Promise<Answer> {
  const url = new URL(request.url ?? '/', 'http://orders.invalid');
  const id = request.method === 'GET' ? /^\/orders\/([^/]+)$/.exec(url.pathname)?.[1] : undefined;
  if (id === undefined) return Promise.resolve({ status: 404, body: { error: 'not found' } });
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'GET', [ATTR_HTTP_ROUTE]: '/orders/:id', [ATTR_URL_PATH]: url.pathname };
  return tracer.startActiveSpan('GET /orders/:id', { kind: SpanKind.SERVER, attributes }, async (span) => {
    try {
      const order = await loadOrder(id, Number(url.searchParams.get('delay') ?? 0));
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
      return { status: 200, body: order };
    } finally {
      span.end();
    }
  });
}

function loadOrder(id: string, delayMs: number): Promise<Order> {
  return tracer.startActiveSpan('load order', { attributes: { [ATTR_ORDER_ID]: id } }, async (span) => {
    try {
      await sleep(delayMs);
      return { id, status: 'shipped' };
    } finally {
      span.end();
    }
  });
}

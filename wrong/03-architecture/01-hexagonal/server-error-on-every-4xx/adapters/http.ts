import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { readBody, type HttpHandler } from '#kit';
import { InvalidOrderError, type OrderLine } from '../domain/order.ts';
import type { PlaceOrderCommand, PlaceOrderUseCase } from '../domain/ports.ts';

const tracer = trace.getTracer('tracecraft.orders');

interface Answer {
  status: number;
  body: unknown;
}

/** The request body does not have the shape of an order: the adapter's business, not the domain's. */
class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** The driving adapter: HTTP in, a call of the driving port, HTTP out. */
export function ordersHttpHandler(orders: PlaceOrderUseCase): HttpHandler {
  return (request, response) => {
    if (request.method !== 'POST' || request.url !== '/orders') {
      response.writeHead(404).end();
      return;
    }
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_HTTP_ROUTE]: '/orders',
      [ATTR_URL_PATH]: '/orders',
    };
    return tracer.startActiveSpan('POST /orders', { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const answer = await placeOrder(request, orders);
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        if (answer.status >= 400) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, String(answer.status));
        }
        send(response, answer);
      } finally {
        span.end();
      }
    });
  };
}

async function placeOrder(request: IncomingMessage, orders: PlaceOrderUseCase): Promise<Answer> {
  try {
    const result = await orders.placeOrder(toCommand(await readBody(request)));
    return { status: result.status === 'paid' ? 201 : 402, body: result };
  } catch (error) {
    if (error instanceof BadRequestError || error instanceof InvalidOrderError) return { status: 400, body: { error: error.message } };
    return { status: 500, body: { error: 'the order could not be placed' } };
  }
}

function toCommand(text: string): PlaceOrderCommand {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestError('the body is not JSON');
  }
  const { customerId, paymentToken, lines } = (body ?? {}) as Record<string, unknown>;
  if (typeof customerId !== 'string' || typeof paymentToken !== 'string' || !Array.isArray(lines)) {
    throw new BadRequestError('expected { customerId, paymentToken, lines: [...] }');
  }
  return { customerId, paymentToken, lines: lines.map(toLine) };
}

function toLine(value: unknown): OrderLine {
  const { sku, quantity, unitPriceCents } = (value ?? {}) as Record<string, unknown>;
  if (typeof sku !== 'string' || typeof quantity !== 'number' || typeof unitPriceCents !== 'number') {
    throw new BadRequestError('every line is { sku, quantity, unitPriceCents }');
  }
  return { sku, quantity, unitPriceCents };
}

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
}

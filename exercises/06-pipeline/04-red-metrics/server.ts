/*
 * The orders API: four routes over an order store, a SERVER span per request (as in the
 * foundations track), and the request's metrics, measured by `measureRequest` in metrics.ts.
 * You don't need to change this file.
 */
import type { IncomingMessage } from 'node:http';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { readBody, type Clock, type HttpHandler } from '#kit';
import { measureRequest } from './metrics.ts';

const tracer = trace.getTracer('tracecraft.orders-api');

export interface Order {
  id: string;
  customerId: string;
  item: string;
  quantity: number;
}

export type NewOrder = Omit<Order, 'id'>;

/** Where the orders live. Any method may reject (the database is down): the API answers 500. */
export interface OrderStore {
  list(): Promise<Order[]>;
  find(id: string): Promise<Order | undefined>;
  forCustomer(customerId: string): Promise<Order[]>;
  create(order: NewOrder): Promise<Order>;
}

export interface OrdersApiOptions {
  /** The time the request metrics are measured on. */
  clock: Clock;
  store: OrderStore;
}

export interface Answer {
  status: number;
  body: unknown;
}

interface Route {
  method: string;
  /** The route template: one value for every order, where the path has one per order. */
  route: string;
  pattern: RegExp;
  serve(params: string[], request: IncomingMessage, store: OrderStore): Promise<Answer>;
}

const ORDER_ID = /^ord-[a-z0-9]+$/;

const notFound: Answer = { status: 404, body: { error: 'not found' } };
const internalError: Answer = { status: 500, body: { error: 'internal error' } };

const routes: Route[] = [
  {
    method: 'GET',
    route: '/orders',
    pattern: /^\/orders$/,
    serve: async (_params, _request, store) => ({ status: 200, body: await store.list() }),
  },
  {
    method: 'GET',
    route: '/orders/:id',
    pattern: /^\/orders\/([^/]+)$/,
    serve: async ([id = ''], _request, store) => {
      if (!ORDER_ID.test(id)) return { status: 400, body: { error: 'an order id is "ord-" followed by letters and digits' } };
      const order = await store.find(id);
      return order ? { status: 200, body: order } : notFound;
    },
  },
  {
    method: 'GET',
    route: '/customers/:customerId/orders',
    pattern: /^\/customers\/([^/]+)\/orders$/,
    serve: async ([customerId = ''], _request, store) => ({ status: 200, body: await store.forCustomer(customerId) }),
  },
  {
    method: 'POST',
    route: '/orders',
    pattern: /^\/orders$/,
    serve: async (_params, request, store) => {
      const order = parseNewOrder(await readBody(request));
      if (!order) return { status: 400, body: { error: 'an order needs a customerId, an item and a quantity of at least 1' } };
      return { status: 201, body: await store.create(order) };
    },
  },
];

function matchRoute(method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    const match = method === route.method ? route.pattern.exec(path) : null;
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}

function parseNewOrder(body: string): NewOrder | undefined {
  try {
    const { customerId, item, quantity } = JSON.parse(body) as Partial<NewOrder>;
    const valid = typeof customerId === 'string' && typeof item === 'string' && Number.isInteger(quantity) && (quantity ?? 0) >= 1;
    return valid ? { customerId, item, quantity: quantity as number } : undefined;
  } catch {
    return undefined;
  }
}

/** The API as a node:http handler. */
export function createOrdersApi({ clock, store }: OrdersApiOptions): HttpHandler {
  return (request, response) => {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const matched = matchRoute(method, path);
    const name = matched ? `${method} ${matched.route.route}` : method;
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path };
    return tracer.startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        if (matched) span.setAttribute(ATTR_HTTP_ROUTE, matched.route.route);
        const answer = await measureRequest(clock, { method, path, route: matched?.route.route }, () =>
          matched ? matched.route.serve(matched.params, request, store) : Promise.resolve(notFound),
        ).catch((error: unknown) => {
          span.recordException(error instanceof Error ? error : String(error));
          return internalError;
        });
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        if (answer.status >= 500) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, String(answer.status));
        }
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      } finally {
        span.end();
      }
    });
  };
}

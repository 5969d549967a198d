import { SpanKind, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.orders-api');

export interface HttpRequest {
  method: string;
  /** The path only, without a query string: `/orders/42`. */
  path: string;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
}

export interface Order {
  id: string;
  item: string;
  quantity: number;
}

interface Route {
  method: string;
  /** The route template, as the router knows it: `/orders/:id`. */
  route: string;
  pattern: RegExp;
  handle(params: string[], orders: Map<string, Order>): HttpResponse;
}

const notFound: HttpResponse = { status: 404, body: { error: 'not found' } };

const routes: Route[] = [
  {
    method: 'GET',
    route: '/orders',
    pattern: /^\/orders$/,
    handle: (_params, orders) => ({ status: 200, body: [...orders.values()] }),
  },
  {
    method: 'GET',
    route: '/orders/:id',
    pattern: /^\/orders\/([^/]+)$/,
    handle: ([id = ''], orders) => {
      const order = orders.get(id);
      return order ? { status: 200, body: order } : notFound;
    },
  },
  {
    method: 'DELETE',
    route: '/orders/:id',
    pattern: /^\/orders\/([^/]+)$/,
    handle: ([id = ''], orders) => (orders.delete(id) ? { status: 204 } : notFound),
  },
];

/** Finds the route for a request, with the values of its `:params`, or undefined when none matches. */
function matchRoute(request: HttpRequest): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    const match = request.method === route.method ? route.pattern.exec(request.path) : null;
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}
/** Serves one request against the order store. */
export function handleRequest(request: HttpRequest, orders: Map<string, Order>): HttpResponse {
  const matched = matchRoute(request);
  const name = matched ? `${request.method} ${matched.route.route}` : request.method;
  const span = tracer.startSpan(name, {
    kind: SpanKind.SERVER,
    attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: request.path },
  });
  try {
    if (matched) span.setAttribute(ATTR_HTTP_ROUTE, matched.route.route);
    // Runs the route once for the attribute and once more for the answer: a DELETE happens twice.
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, (matched ? matched.route.handle(matched.params, orders) : notFound).status);
    return matched ? matched.route.handle(matched.params, orders) : notFound;
  } finally {
    span.end();
  }
}

import { trace } from '@opentelemetry/api';

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
  // TODO: this is a SERVER span, and its name must not change with the order id: use the route template.
  const span = tracer.startSpan(`${request.method} ${request.path}`);
  // TODO: use the semantic-convention constants for these keys, and add the route.
  span.setAttribute('http.method', request.method);
  span.setAttribute('http.url', request.path);
  try {
    const matched = matchRoute(request);
    const response = matched ? matched.route.handle(matched.params, orders) : notFound;
    // TODO: the status code, under its semantic-convention key, as a number.
    span.setAttribute('http.status_code', String(response.status));
    return response;
  } finally {
    span.end();
  }
}

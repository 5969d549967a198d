import { expect, it } from 'vitest';
import { absent, expectAllEnded, expectTrace, random, useTracing } from '#checks';
import { handleRequest, type Order } from '#target/01-foundations/03-attributes-and-semconv/orders-api.ts';

const otel = useTracing();

/** Numeric ids, like most databases hand out: a span name that contains one is easy to spot. */
function randomId(): string {
  return String(random.int(100, 999_999));
}

function randomStore(): { orders: Map<string, Order>; ids: string[] } {
  const ids = Array.from({ length: random.int(2, 5) }, randomId).filter((id, i, all) => all.indexOf(id) === i);
  const orders = new Map(ids.map((id) => [id, { id, item: random.word(), quantity: random.int(1, 9) }]));
  return { orders, ids };
}

function missingId(orders: Map<string, Order>): string {
  let id = randomId();
  while (orders.has(id)) id = randomId();
  return id;
}

it('answers every route: the list, one order, a delete, and 404 for what does not exist', () => {
  const { orders, ids } = randomStore();
  const id = random.pick(ids);
  const expected = orders.get(id);
  expect(handleRequest({ method: 'GET', path: '/orders' }, orders), 'GET /orders lists the orders').toEqual({
    status: 200,
    body: [...orders.values()],
  });
  expect(handleRequest({ method: 'GET', path: `/orders/${id}` }, orders), `GET /orders/${id} returns that order`).toEqual({
    status: 200,
    body: expected,
  });
  expect(handleRequest({ method: 'DELETE', path: `/orders/${id}` }, orders).status, `DELETE /orders/${id} answers 204`).toBe(204);
  expect(orders.has(id), 'DELETE removes the order').toBe(false);
  expect(handleRequest({ method: 'GET', path: `/orders/${id}` }, orders).status, 'a deleted order is not found').toBe(404);
  expect(handleRequest({ method: 'GET', path: `/invoices/${id}` }, orders).status, 'a path no route matches answers 404').toBe(404);
});

it('makes one SERVER span per request, named after the route: the same name for every order id', () => {
  const { orders, ids } = randomStore();
  const requested = [...ids, missingId(orders)];
  for (const id of requested) handleRequest({ method: 'GET', path: `/orders/${id}` }, orders);
  expect(otel.spans().length, `${requested.length} requests should make ${requested.length} spans`).toBe(requested.length);
  for (const id of requested) {
    expectTrace(
      otel,
      { name: 'GET /orders/:id', kind: 'server', attributes: { 'url.path': `/orders/${id}` } },
      'a server span is named "{method} {route}": the template keeps the name low-cardinality, the raw path goes in url.path',
    );
  }
  expectAllEnded(otel);
});

it('records the request and the response with the semantic-convention attributes', () => {
  const { orders, ids } = randomStore();
  const id = random.pick(ids);
  handleRequest({ method: 'GET', path: `/orders/${id}` }, orders);
  expectTrace(
    otel,
    {
      name: 'GET /orders/:id',
      kind: 'server',
      attributes: {
        'http.request.method': 'GET',
        'url.path': `/orders/${id}`,
        'http.route': '/orders/:id',
        'http.response.status_code': 200,
      },
    },
    'standard keys (from @opentelemetry/semantic-conventions) let every tool read your spans; the status code is a number',
  );
});

it('records the status code of every answer, whatever the route', () => {
  const { orders, ids } = randomStore();
  const id = random.pick(ids);
  const missing = missingId(orders);
  handleRequest({ method: 'GET', path: '/orders' }, orders);
  handleRequest({ method: 'DELETE', path: `/orders/${id}` }, orders);
  handleRequest({ method: 'DELETE', path: `/orders/${missing}` }, orders);
  const concept = 'each route has its own span name, http.route and status code';
  expectTrace(
    otel,
    { name: 'GET /orders', kind: 'server', attributes: { 'http.route': '/orders', 'url.path': '/orders', 'http.response.status_code': 200 } },
    concept,
  );
  expectTrace(
    otel,
    {
      name: 'DELETE /orders/:id',
      kind: 'server',
      attributes: { 'http.request.method': 'DELETE', 'http.route': '/orders/:id', 'url.path': `/orders/${id}`, 'http.response.status_code': 204 },
    },
    concept,
  );
  expectTrace(
    otel,
    {
      name: 'DELETE /orders/:id',
      kind: 'server',
      attributes: { 'http.route': '/orders/:id', 'url.path': `/orders/${missing}`, 'http.response.status_code': 404 },
    },
    concept,
  );
});

it('names a request that matches no route by its method alone, without http.route', () => {
  const { orders } = randomStore();
  const method = random.pick(['GET', 'POST', 'PUT', 'PATCH']);
  const path = `/${random.pick(['invoices', 'customers', 'carts'])}/${randomId()}`;
  handleRequest({ method, path }, orders);
  expectTrace(
    otel,
    {
      name: method,
      kind: 'server',
      attributes: { 'http.request.method': method, 'url.path': path, 'http.route': absent(), 'http.response.status_code': 404 },
    },
    'with no route, any path a client sends would become a span name: name the span by the method only',
  );
});

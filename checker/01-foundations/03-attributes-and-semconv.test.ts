import { it } from 'vitest';
import { absent, expectAllEnded, expectTrace, fail, random, show, useTracing, verify, type SpanShape } from '#checks';
import { handleRequest, type HttpRequest, type HttpResponse, type Order } from '#target/01-foundations/03-attributes-and-semconv/orders-api.ts';

const otel = useTracing();

it('answers every route: the list, one order, a delete, and 404 for what does not exist', () => {
  const { orders, ids } = randomStore();
  const id = random.pick(ids);
  const order = orders.get(id);
  verify(answer({ method: 'GET', path: '/orders' }, orders), 'the answer to GET /orders').equals({ status: 200, body: [...orders.values()] });
  verify(answer({ method: 'GET', path: `/orders/${id}` }, orders), `the answer to GET /orders/${id}`).equals({ status: 200, body: order });
  verify(answer({ method: 'DELETE', path: `/orders/${id}` }, orders).status, `the status of the answer to DELETE /orders/${id}`).is(204);
  verify([...orders.keys()], 'the order ids left after that DELETE').excludes(id);
  verify(answer({ method: 'GET', path: `/orders/${id}` }, orders).status, `the status of GET /orders/${id} once it is deleted`).is(404);
  verify(answer({ method: 'DELETE', path: `/orders/${id}` }, orders).status, `the status of a second DELETE /orders/${id}`).is(404);
  for (const request of unmatchedRequests()) {
    verify(answer(request, orders).status, `the status of the answer to ${request.method} ${request.path}, which no route matches`).is(404);
  }
});

it('makes one SERVER span per request, named after the route: the same name for every order id', () => {
  const { orders, ids } = randomStore();
  const requested = [...ids, missingId(orders)];
  for (const id of requested) answer({ method: 'GET', path: `/orders/${id}` }, orders);
  verify(otel.spans(), `${requested.length} requests`).hasCount(requested.length, 'span');
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
  answer({ method: 'GET', path: `/orders/${id}` }, orders);
  expectTrace(
    otel,
    serverShape('GET', '/orders/:id', `/orders/${id}`, 200),
    'standard keys (from @opentelemetry/semantic-conventions) let every tool read your spans; the status code is a number',
  );
});

it('records the status code of every answer, whatever the route', () => {
  const { orders, ids } = randomStore();
  const id = random.pick(ids);
  const missing = missingId(orders);
  answer({ method: 'GET', path: '/orders' }, orders);
  answer({ method: 'DELETE', path: `/orders/${id}` }, orders);
  answer({ method: 'DELETE', path: `/orders/${missing}` }, orders);
  answer({ method: 'GET', path: `/orders/${missing}` }, orders);
  const concept = 'each route has its own span name and http.route, and every answer its status code, a 404 too';
  expectTrace(otel, serverShape('GET', '/orders', '/orders', 200), concept);
  expectTrace(otel, serverShape('DELETE', '/orders/:id', `/orders/${id}`, 204), concept);
  expectTrace(otel, serverShape('DELETE', '/orders/:id', `/orders/${missing}`, 404), concept);
  expectTrace(otel, serverShape('GET', '/orders/:id', `/orders/${missing}`, 404), concept);
});

it('names a request that matches no route by its method alone, without http.route', () => {
  const { orders } = randomStore();
  const requests = unmatchedRequests();
  for (const request of requests) answer(request, orders);
  verify(otel.spans(), `${requests.length} requests that match no route`).hasCount(requests.length, 'span');
  for (const { method, path } of requests) {
    expectTrace(
      otel,
      {
        name: method,
        kind: 'server',
        attributes: { 'http.request.method': method, 'url.path': path, 'http.route': absent(), 'http.response.status_code': 404 },
      },
      `with no route, any path a client sends would become a span name: name the span by the method only (${method} ${path})`,
    );
  }
});

// ---- the rig: an order store with ids of both kinds, requests no route matches, and the span shape

function serverShape(method: string, route: string, path: string, status: number): SpanShape {
  return {
    name: `${method} ${route}`,
    kind: 'server',
    attributes: { 'http.request.method': method, 'url.path': path, 'http.route': route, 'http.response.status_code': status },
  };
}

/** Serves one request; a throw is a wrong answer too, worded as such. */
function answer(request: HttpRequest, orders: Map<string, Order>): HttpResponse {
  try {
    return handleRequest(request, orders);
  } catch (error) {
    fail(`${request.method} ${request.path} must be answered (404 when no route matches), but handleRequest threw ${show(error)}`);
  }
}

/** Numeric ids, like most databases hand out, and opaque ones: a span name that contains either is easy to spot. */
function randomId(kind: 'numeric' | 'opaque' = random.pick(['numeric', 'opaque'])): string {
  return kind === 'numeric' ? String(random.int(100, 999_999)) : `${random.word(2)}${random.int(1, 9)}-${random.word(4)}`;
}

/** A store that always holds ids of both kinds. */
function randomStore(): { orders: Map<string, Order>; ids: string[] } {
  const drawn = [randomId('numeric'), randomId('opaque'), ...Array.from({ length: random.int(0, 3) }, () => randomId())];
  const ids = random.shuffle(drawn.filter((id, i, all) => all.indexOf(id) === i));
  const orders = new Map(ids.map((id) => [id, { id, item: random.word(), quantity: random.int(1, 9) }]));
  return { orders, ids };
}

function missingId(orders: Map<string, Order>): string {
  let id = randomId();
  while (orders.has(id)) id = randomId();
  return id;
}

/** Every way of matching no route, every run: an unknown resource, a known path with the wrong method, a deeper path. */
function unmatchedRequests(): HttpRequest[] {
  const id = randomId();
  return [
    { method: random.pick(['GET', 'POST', 'PATCH']), path: `/${random.pick(['invoices', 'customers', 'carts'])}/${randomId('numeric')}` },
    { method: random.pick(['PUT', 'PATCH']), path: `/orders/${id}` },
    { method: 'POST', path: '/orders' },
    { method: 'GET', path: `/orders/${id}/items` },
  ];
}

import { describe, expect, it } from 'vitest';
import { find, span, trace } from './build.ts';
import { diagnose, rawValueInName } from '../../src/trace/diagnose.ts';
import { matchSpan, matchTraces, type MatchResult, type Mismatch, type SpanShape } from '../../src/trace/match.ts';
import { anyString } from '../../src/trace/expect-values.ts';
import type { TraceTree } from '../../src/trace/model.ts';

function mismatchOf(result: MatchResult): Mismatch {
  if (result.ok) throw new Error('expected a mismatch, the shape matched');
  return result.mismatch;
}

/** The findings for traces checked against a shape, as the failure output shows them. */
function findingsFor(traces: TraceTree[], shape: SpanShape): string[] {
  return diagnose(traces, mismatchOf(matchTraces(traces, shape)));
}

const CHECKOUT: SpanShape = { name: 'POST /checkout', kind: 'server', children: [{ name: 'charge card', kind: 'client' }] };

/** A healthy trace with names that look a little like raw values but are not. */
function healthy(): TraceTree {
  return trace(
    span(
      'GET /orders/:id',
      { kind: 'server', status: 'unset', attributes: { 'http.route': '/orders/:id', 'http.response.status_code': 404 } },
      span('retry attempt 2', { start: 1 }),
      span('publish orders', { kind: 'producer', start: 2 }),
      span('GET /v2/orders', { kind: 'client', start: 3, status: 'error', attributes: { 'http.response.status_code': 503 } }),
      span('SELECT shop.orders', { kind: 'client', start: 4 }),
      span('step 3 of 5', { start: 5 }),
      span('orders.created process', { kind: 'consumer', start: 6 }),
    ),
  );
}

describe('diagnose', () => {
  it('finds nothing wrong in a healthy trace', () => {
    expect(diagnose([healthy()])).toEqual([]);
  });

  it('names a span that was started and never ended', () => {
    const tree = trace(span('POST /checkout', { kind: 'server' }, span('charge card', { kind: 'client', ended: false })));
    expect(diagnose([tree])).toEqual([
      'span "charge card" was started but never ended: call span.end(), in a finally block so errors end it too.',
    ]);
  });

  it('finds a child that became the root of its own trace (context lost)', () => {
    const traces = [trace(span('POST /checkout', { kind: 'server' })), trace(span('charge card', { kind: 'client', start: 5 }))];
    expect(findingsFor(traces, CHECKOUT)).toEqual([
      'span "charge card" is the root of a trace of its own: it was started outside the active context of "POST /checkout" ' +
        '(context lost across a callback, a timer or an emitter?). Start it inside the parent\'s context: startActiveSpan, or context.with / context.bind.',
    ]);
  });

  it('finds a child whose parent was not recorded, in the same trace as the expected parent', () => {
    const traces = [trace(span('POST /checkout', { kind: 'server' }), span('charge card', { kind: 'client', parent: 'ffffffffffffffff' }))];
    expect(findingsFor(traces, CHECKOUT)).toEqual([
      'span "charge card" has no parent: it was started outside the active context of "POST /checkout".',
    ]);
  });

  it('tells a lost SERVER span from the CLIENT span of the same name, and points at inject and extract', () => {
    const traces = [
      trace(span('GET /greet', { kind: 'client' })),
      trace(span('GET /greet', { kind: 'server', start: 1 })),
    ];
    const shape: SpanShape = { name: 'GET /greet', kind: 'client', children: [{ name: 'GET /greet', kind: 'server' }] };
    expect(findingsFor(traces, shape)).toEqual([
      'span "GET /greet" (SERVER) is the root of a trace of its own instead of continuing "GET /greet": across a process boundary ' +
        "the context travels only in the message's headers. Inject it where the request or message is sent (propagation.inject into the headers) " +
        'and extract it where it is received (propagation.extract, then start the span in the extracted context).',
    ]);
  });

  it('says a lost CONSUMER span under a PRODUCER lost its context in the message headers', () => {
    const traces = [trace(span('publish orders', { kind: 'producer' })), trace(span('process orders', { kind: 'consumer', start: 1 }))];
    const shape: SpanShape = { name: 'publish orders', kind: 'producer', children: [{ name: 'process orders', kind: 'consumer' }] };
    expect(findingsFor(traces, shape)[0]).toContain('propagation.inject');
  });

  it('keeps the in-process advice for an INTERNAL span that lost its parent', () => {
    const traces = [trace(span('POST /checkout', { kind: 'server' })), trace(span('reserve stock', { start: 1 }))];
    const shape: SpanShape = { name: 'POST /checkout', kind: 'server', children: [{ name: 'reserve stock' }] };
    expect(findingsFor(traces, shape)[0]).toContain('startActiveSpan, or context.with / context.bind');
  });

  it('finds the right span under the wrong parent', () => {
    const traces = [trace(span('POST /checkout', { kind: 'server' }, span('reserve stock', {}, span('charge card', { kind: 'client' }))))];
    expect(findingsFor(traces, CHECKOUT)).toEqual([
      'span "charge card" is a child of "reserve stock", but it belongs under "POST /checkout": start it while "POST /checkout" is the active span.',
    ]);
  });

  it('finds a misplaced child named by a pattern', () => {
    const traces = [trace(span('POST /checkout', { kind: 'server' }, span('reserve stock', {}, span('charge card', { kind: 'client' }))))];
    const shape: SpanShape = { name: 'POST /checkout', children: [{ name: /^charge/ }] };
    expect(findingsFor(traces, shape)).toEqual([
      'span "charge card" is a child of "reserve stock", but it belongs under "POST /checkout": start it while "POST /checkout" is the active span.',
    ]);
  });

  it('says nothing about placement when the span differs in a detail', () => {
    const traces = [trace(span('POST /checkout', { kind: 'server' }, span('charge card', { kind: 'internal' })))];
    expect(findingsFor(traces, CHECKOUT)).toEqual([]);
  });

  it('finds an attribute set on another span of the same trace', () => {
    const tree = trace(span('POST /checkout', { kind: 'server' }, span('save order', { attributes: { 'app.order.id': 'o-1' } })));
    const shape: SpanShape = { name: 'POST /checkout', attributes: { 'app.order.id': anyString() } };
    expect(findingsFor([tree], shape)).toEqual([
      'attribute app.order.id is set on span "save order", not on "POST /checkout": set it on the span that describes that operation.',
    ]);
  });

  it('does not point at the same span of another trace as the wrong span', () => {
    const withIt = trace(span('POST /checkout', { attributes: { 'app.order.id': 'o-1' } }));
    const without = trace(span('POST /checkout'));
    const mismatch = mismatchOf(matchSpan(find(without, 'POST /checkout'), { name: 'POST /checkout', attributes: { 'app.order.id': anyString() } }));
    expect(mismatch.message).toBe('attribute app.order.id is missing (expected a string)');
    expect(diagnose([withIt, without], mismatch)).toEqual([]);
  });

  it('finds an ERROR status on a SERVER span that answered 4xx', () => {
    const tree = trace(
      span('GET /orders/:id', { kind: 'server', status: 'error', attributes: { 'http.response.status_code': 404 } }),
      span('POST /orders', { kind: 'server', status: 'error', parent: 'ffffffffffffffff', attributes: { 'http.status_code': '422' } }),
    );
    expect(diagnose([tree])).toEqual([
      'SERVER span "GET /orders/:id" answered 404 and is marked ERROR: a 4xx is the client\'s mistake, so a server span leaves its status unset.',
      'SERVER span "POST /orders" answered 422 and is marked ERROR: a 4xx is the client\'s mistake, so a server span leaves its status unset.',
    ]);
  });

  it('accepts ERROR on a 5xx server span and on a 4xx client span', () => {
    const tree = trace(
      span('GET /orders/:id', { kind: 'server', status: 'error', attributes: { 'http.response.status_code': 500 } }),
      span('GET', { kind: 'client', status: 'error', parent: 'ffffffffffffffff', attributes: { 'http.response.status_code': 404 } }),
    );
    expect(diagnose([tree])).toEqual([]);
  });

  it('finds a raw id, UUID, URL or query string in a span name', () => {
    const tree = trace(span('GET /orders/42', {}, span('GET https://api.example.com/orders', { start: 1 })));
    expect(diagnose([tree])).toEqual([
      'span name "GET /orders/42" contains a raw id: span names must be low-cardinality (a route like /orders/:id, not the id itself).',
      'span name "GET https://api.example.com/orders" contains a full URL: span names must be low-cardinality (a route like /orders/:id, not the id itself).',
    ]);
  });

  it('names the spans of one kind of raw value in one finding', () => {
    const traces = ['486473', '418238', '134044', '100001'].map((id) => trace(span(`GET /orders/${id}`, { kind: 'server' })));
    expect(diagnose(traces)).toEqual([
      'span names "GET /orders/486473", "GET /orders/418238", "GET /orders/134044" contain a raw id: ' +
        'span names must be low-cardinality (a route like /orders/:id, not the id itself).',
    ]);
  });

  it('says each finding once', () => {
    const tree = trace(span('GET /orders/7', {}, span('GET /orders/7', { start: 1 })));
    expect(diagnose([tree])).toHaveLength(1);
  });
});

describe('rawValueInName', () => {
  it.each([
    ['GET /orders/42', 'a raw id'],
    ['GET /orders/7/items', 'a raw id'],
    ['load order 12345', 'a raw id'],
    ['order:981', 'a raw id'],
    ['process 4bf92f3577b34da6', 'a raw id'],
    ['GET /users/550e8400-e29b-41d4-a716-446655440000', 'a UUID'],
    ['GET http://localhost:3000/orders', 'a full URL'],
    ['GET /orders?id=5', 'a query string'],
  ])('finds a raw value in %j', (name, what) => {
    expect(rawValueInName(name)).toBe(what);
  });

  it.each([
    'GET /orders/:id',
    'retry attempt 2',
    'publish orders',
    'GET /v2/orders',
    'POST /checkout',
    'SELECT shop.orders',
    'orders.created process',
    'charge card',
    'step 3 of 5',
    'GET /orders/{orderId}',
    'cafe deadbeef',
  ])('finds nothing in %j', (name) => {
    expect(rawValueInName(name)).toBeUndefined();
  });
});

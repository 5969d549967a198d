import { describe, expect, it } from 'vitest';
import { find, span, trace } from './build.ts';
import { matchSpan, matchTraces, type MatchResult, type Mismatch, type SpanShape } from '../../src/trace/match.ts';
import { absent, anyNumber, anyString, between, oneOf, present, where } from '../../src/trace/expect-values.ts';
import type { SpanNode } from '../../src/trace/model.ts';

function mismatchOf(result: MatchResult): Mismatch {
  if (result.ok) throw new Error('expected a mismatch, the shape matched');
  return result.mismatch;
}

/** The sentence a learner reads when `node` does not have the shape. */
function messageOf(node: SpanNode, shape: SpanShape): string {
  return mismatchOf(matchSpan(node, shape)).message;
}

function passes(node: SpanNode, shape: SpanShape): boolean {
  return matchSpan(node, shape).ok;
}

describe('a span’s own fields', () => {
  it('matches the name as a string or a pattern', () => {
    const node = span('GET /orders/:id');
    expect(passes(node, { name: 'GET /orders/:id' })).toBe(true);
    expect(passes(node, { name: /^GET / })).toBe(true);
    expect(messageOf(node, { name: 'GET /orders' })).toBe('name is "GET /orders/:id", expected "GET /orders"');
    expect(messageOf(node, { name: /^POST / })).toBe('name is "GET /orders/:id", expected /^POST /');
  });

  it('matches a global pattern every time (no lastIndex left over between spans)', () => {
    const shape: SpanShape = { name: /orders/g, attributes: { 'http.route': /orders/g } };
    const results = [1, 2, 3].map(() => passes(span('list orders', { attributes: { 'http.route': '/orders' } }), shape));
    expect(results).toEqual([true, true, true]);
  });

  it('checks the kind', () => {
    const node = span('charge', { kind: 'client' });
    expect(passes(node, { name: 'charge', kind: 'client' })).toBe(true);
    expect(messageOf(node, { name: 'charge', kind: 'server' })).toBe('kind is CLIENT, expected SERVER');
  });

  it('checks the status', () => {
    const node = span('charge', { status: 'error', statusMessage: 'card declined' });
    expect(passes(node, { name: 'charge', status: 'error' })).toBe(true);
    expect(messageOf(span('charge'), { name: 'charge', status: 'error' })).toBe('status is UNSET, expected ERROR');
    expect(messageOf(node, { name: 'charge', status: 'ok' })).toBe('status is ERROR, expected OK');
  });

  it('checks the status message, as a string or a pattern, only together with the status', () => {
    const node = span('charge', { status: 'error', statusMessage: 'card declined' });
    expect(passes(node, { name: 'charge', status: 'error', statusMessage: 'card declined' })).toBe(true);
    expect(passes(node, { name: 'charge', status: 'error', statusMessage: /declined/ })).toBe(true);
    expect(passes(node, { name: 'charge', statusMessage: 'something else' })).toBe(true);
    expect(messageOf(node, { name: 'charge', status: 'error', statusMessage: 'timeout' })).toBe(
      'status message is "card declined", expected "timeout"',
    );
    expect(messageOf(span('charge', { status: 'error' }), { name: 'charge', status: 'error', statusMessage: /declined/ })).toBe(
      'status message is "", expected /declined/',
    );
  });

  it('checks the tracer name (instrumentation scope)', () => {
    const node = span('count-words', { scope: 'tracecraft.text' });
    expect(passes(node, { name: 'count-words', scope: 'tracecraft.text' })).toBe(true);
    expect(messageOf(node, { name: 'count-words', scope: 'tracecraft.words' })).toBe(
      'tracer name (instrumentation scope) is "tracecraft.text", expected "tracecraft.words"',
    );
  });

  it('reports a span that was never ended before its other fields', () => {
    const node = span('charge', { kind: 'client', ended: false });
    expect(node.end).toBeUndefined();
    expect(messageOf(node, { name: 'charge' })).toBe('span "charge" was started but never ended');
    expect(messageOf(node, { name: 'charge', kind: 'server' })).toBe('span "charge" was started but never ended');
    expect(messageOf(node, { name: 'refund' })).toBe('name is "charge", expected "refund"');
  });
});

describe('attributes', () => {
  const node = span('GET /orders/:id', {
    attributes: { 'http.route': '/orders/:id', 'http.response.status_code': 200, 'app.cached': false, 'app.tags': ['a', 'b'] },
  });

  it('are a subset: other attributes may be present', () => {
    expect(passes(node, { name: 'GET /orders/:id', attributes: { 'http.response.status_code': 200 } })).toBe(true);
    expect(passes(node, { name: 'GET /orders/:id', attributes: {} })).toBe(true);
  });

  it('compare literals by value, arrays item by item', () => {
    expect(passes(node, { name: /GET/, attributes: { 'app.cached': false, 'app.tags': ['a', 'b'] } })).toBe(true);
    expect(messageOf(node, { name: /GET/, attributes: { 'http.response.status_code': 404 } })).toBe(
      'attribute http.response.status_code is 200, expected 404',
    );
    expect(messageOf(node, { name: /GET/, attributes: { 'http.route': '/orders/42' } })).toBe(
      'attribute http.route is "/orders/:id", expected "/orders/42"',
    );
    expect(messageOf(node, { name: /GET/, attributes: { 'app.tags': ['a'] } })).toBe('attribute app.tags is ["a", "b"], expected ["a"]');
  });

  it('say which attribute is missing and what was expected', () => {
    expect(messageOf(node, { name: /GET/, attributes: { 'http.request.method': 'GET' } })).toBe(
      'attribute http.request.method is missing (expected "GET")',
    );
  });

  it('accept patterns and named matchers', () => {
    const ok: SpanShape = {
      name: /GET/,
      attributes: {
        'http.route': /^\/orders/,
        'http.response.status_code': anyNumber(),
        'app.cached': present(),
        'app.user': absent(),
      },
    };
    expect(passes(node, ok)).toBe(true);
    expect(passes(node, { name: /GET/, attributes: { 'http.response.status_code': oneOf(200, 204) } })).toBe(true);
    expect(passes(node, { name: /GET/, attributes: { 'http.response.status_code': between(200, 299) } })).toBe(true);
    expect(messageOf(node, { name: /GET/, attributes: { 'http.route': /^\/users/ } })).toBe(
      'attribute http.route is "/orders/:id", expected matching /^\\/users/',
    );
    expect(messageOf(node, { name: /GET/, attributes: { 'http.route': anyNumber() } })).toBe(
      'attribute http.route is "/orders/:id", expected a number',
    );
    expect(messageOf(node, { name: /GET/, attributes: { 'app.cached': absent() } })).toBe('attribute app.cached is false, expected absent');
    expect(messageOf(node, { name: /GET/, attributes: { 'app.user': anyString() } })).toBe('attribute app.user is missing (expected a string)');
    expect(messageOf(node, { name: /GET/, attributes: { 'http.response.status_code': oneOf(201, 202) } })).toBe(
      'attribute http.response.status_code is 200, expected one of 201, 202',
    );
    expect(messageOf(node, { name: /GET/, attributes: { 'http.response.status_code': where('a 4xx code', (v) => v === 404) } })).toBe(
      'attribute http.response.status_code is 200, expected a 4xx code',
    );
  });
});

describe('events', () => {
  const node = span('checkout', {
    events: [
      { name: 'cart loaded' },
      { name: 'retry', attributes: { attempt: 1 } },
      { name: 'retry', attributes: { attempt: 2 } },
      { name: 'paid' },
    ],
  });

  it('form an ordered subsequence: other events may come between', () => {
    expect(passes(node, { name: 'checkout', events: [{ name: 'cart loaded' }, { name: 'paid' }] })).toBe(true);
    expect(passes(node, { name: 'checkout', events: [{ name: /retry/ }, { name: 'retry' }] })).toBe(true);
  });

  it('match a later event of the same name when the first one has other attributes', () => {
    expect(passes(node, { name: 'checkout', events: [{ name: 'retry', attributes: { attempt: 2 } }, { name: 'paid' }] })).toBe(true);
  });

  it('report a missing event with the events in order', () => {
    expect(messageOf(node, { name: 'checkout', events: [{ name: 'refunded' }] })).toBe(
      'event "refunded" is missing (events in order: cart loaded, retry, retry, paid)',
    );
    expect(messageOf(span('checkout'), { name: 'checkout', events: [{ name: 'paid' }] })).toBe(
      'event "paid" is missing (events in order: none)',
    );
  });

  it('report an event that came too early', () => {
    expect(messageOf(node, { name: 'checkout', events: [{ name: 'paid' }, { name: 'cart loaded' }] })).toBe(
      'event "cart loaded" must come after "paid" (events in order: cart loaded, retry, retry, paid)',
    );
  });

  it('report the attribute difference of the next event with that name', () => {
    expect(messageOf(node, { name: 'checkout', events: [{ name: 'retry', attributes: { attempt: 3 } }] })).toBe(
      'event "retry": attribute attempt is 1, expected 3',
    );
  });
});

describe('links', () => {
  const target = trace(span('publish orders', { kind: 'producer', id: 'aaaaaaaaaaaaaaaa' }));
  const other = trace(span('publish orders', { kind: 'producer', id: 'bbbbbbbbbbbbbbbb' }));
  const to = (t: typeof target) => ({ traceId: t.traceId, spanId: t.roots[0]?.spanId ?? '' });
  const node = span('process batch', { kind: 'consumer', links: [{ ...to(target), attributes: { 'messaging.message.id': 'm1' } }] });

  it('match by the span they point at', () => {
    expect(passes(node, { name: 'process batch', links: [{ to: to(target) }] })).toBe(true);
    expect(passes(node, { name: 'process batch', links: [{ to: to(target), attributes: { 'messaging.message.id': 'm1' } }] })).toBe(true);
    expect(messageOf(node, { name: 'process batch', links: [{ to: to(other) }] })).toBe(
      `link #1 to span bbbbbbbbbbbbbbbb of trace ${other.traceId} is missing (the span has 1 link(s))`,
    );
  });

  it('report the attribute difference of a link to the right span', () => {
    expect(messageOf(node, { name: 'process batch', links: [{ to: to(target), attributes: { 'messaging.message.id': 'm2' } }] })).toBe(
      `link #1 to span aaaaaaaaaaaaaaaa of trace ${target.traceId}: attribute messaging.message.id is "m1", expected "m2"`,
    );
  });

  it('need a different actual link for each expected link, found even when a first fit would take the wrong one', () => {
    const both = span('process batch', { links: [to(target), to(other)] });
    expect(passes(both, { name: 'process batch', links: [{}, { to: to(target) }] })).toBe(true);
    expect(messageOf(node, { name: 'process batch', links: [{ to: to(target) }, { to: to(target) }] })).toBe(
      `link #2 to span aaaaaaaaaaaaaaaa of trace ${target.traceId} is missing (the span has 1 link(s))`,
    );
  });

  it('can be counted exactly', () => {
    expect(passes(node, { name: 'process batch', linkCount: 1 })).toBe(true);
    expect(messageOf(node, { name: 'process batch', linkCount: 3 })).toBe('has 1 link(s), expected 3');
    expect(messageOf(span('process batch'), { name: 'process batch', linkCount: 1 })).toBe('has 0 link(s), expected 1');
  });
});

describe('children in any order', () => {
  it('match when listed in another order than they started', () => {
    const root = span('checkout', {}, span('charge', { start: 1 }), span('reserve', { start: 2 }));
    expect(passes(root, { name: 'checkout', children: [{ name: 'reserve' }, { name: 'charge' }] })).toBe(true);
  });

  it('backtrack over same-named children: each shape gets a child that fits it', () => {
    const root = span(
      'batch',
      {},
      span('process', { attributes: { 'app.id': 2 } }),
      span('process', { attributes: { 'app.id': 1 } }),
    );
    expect(
      passes(root, {
        name: 'batch',
        children: [
          { name: 'process', attributes: { 'app.id': 1 } },
          { name: 'process', attributes: { 'app.id': 2 } },
        ],
      }),
    ).toBe(true);
    // A first fit gives the loose shape the only child the strict one accepts.
    expect(
      passes(root, {
        name: 'batch',
        children: [{ name: 'process' }, { name: 'process', attributes: { 'app.id': 2 } }],
      }),
    ).toBe(true);
  });

  it('report the leftover child that came closest when one shape is left without a child', () => {
    const root = span(
      'batch',
      {},
      span('process', { attributes: { 'app.id': 2 } }),
      span('process', { attributes: { 'app.id': 3 } }),
    );
    const result = mismatchOf(
      matchSpan(root, {
        name: 'batch',
        children: [
          { name: 'process', attributes: { 'app.id': 1 } },
          { name: 'process', attributes: { 'app.id': 2 } },
        ],
      }),
    );
    expect(result.message).toBe('attribute app.id is 3, expected 1');
    expect(result.spanId).toBe(root.children[1]?.spanId);
    expect(result.path).toEqual(['batch', 'process']);
  });

  it('prefer a child with the expected name over a different child', () => {
    const root = span('checkout', {}, span('audit'), span('charge', { attributes: { 'app.amount': 5 } }));
    const result = mismatchOf(matchSpan(root, { name: 'checkout', children: [{ name: 'charge', attributes: { 'app.amount': 7 } }] }));
    expect(result.message).toBe('attribute app.amount is 5, expected 7');
    expect(result.spanId).toBe(root.children[1]?.spanId);
    expect(result.sameName).toBe(true);
  });

  it('prefer the candidate that matched deeper', () => {
    const root = span(
      'checkout',
      {},
      span('charge', { kind: 'internal' }, span('POST', { kind: 'client' })),
      span('charge', { kind: 'client' }),
    );
    const result = mismatchOf(
      matchSpan(root, { name: 'checkout', children: [{ name: 'charge', kind: 'internal', children: [{ name: 'POST', kind: 'server' }] }] }),
    );
    expect(result.message).toBe('kind is CLIENT, expected SERVER');
    expect(result.path).toEqual(['checkout', 'charge', 'POST']);
    expect(result.matched).toBe(2);
  });

  it('report a missing child with the children there are', () => {
    const root = span('checkout', {}, span('reserve'), span('audit'));
    const result = mismatchOf(matchSpan(root, { name: 'checkout', children: [{ name: 'reserve' }, { name: 'charge' }] }));
    expect(result.message).toBe('child span "charge" is missing under "checkout" (children: "reserve", "audit")');
    expect(result.path).toEqual(['checkout', 'charge']);
    expect(result.spanId).toBeUndefined();
    expect(result.matched).toBe(2);
    expect(messageOf(span('checkout'), { name: 'checkout', children: [{ name: /charge/ }] })).toBe(
      'child span /charge/ is missing under "checkout" (children: none)',
    );
  });

  it('count repeated names in the list of children', () => {
    const root = span('place-order', {}, span('send-reminder'), span('send-reminder'), span('audit'), span('send-reminder'));
    expect(messageOf(root, { name: 'place-order', children: [{ name: 'record-reservation' }] })).toBe(
      'child span "record-reservation" is missing under "place-order" (children: "send-reminder" ×3, "audit")',
    );
  });

  it('count children with the same name', () => {
    const root = span('batch', {}, span('process'), span('audit'));
    expect(messageOf(root, { name: 'batch', children: [{ name: 'process' }, { name: 'process' }] })).toBe(
      'expected 2 child spans "process" under "batch", found 1',
    );
  });

  it('allow extra children unless exact', () => {
    const root = span('checkout', {}, span('reserve'), span('audit', { start: 1 }), span('charge', { start: 2 }));
    expect(passes(root, { name: 'checkout', children: [{ name: 'charge' }, { name: 'reserve' }] })).toBe(true);
    const exact = mismatchOf(matchSpan(root, { name: 'checkout', exact: true, children: [{ name: 'charge' }, { name: 'reserve' }] }));
    expect(exact.message).toBe('unexpected child span "audit" under "checkout" (expected exactly 2 children, found 3)');
    expect(exact.spanId).toBe(root.children[1]?.spanId);
    expect(exact.matched).toBe(3);
    expect(passes(root, { name: 'checkout', exact: true, children: [{ name: 'charge' }, { name: 'reserve' }, { name: 'audit' }] })).toBe(true);
  });

  it('exact: name every unexpected child, and a leaf must have none', () => {
    const root = span('checkout', {}, span('a'), span('b'), span('c'));
    expect(messageOf(root, { name: 'checkout', exact: true, children: [{ name: 'b' }] })).toBe(
      'unexpected child spans "a", "c" under "checkout" (expected exactly 1 child, found 3)',
    );
    expect(messageOf(root, { name: 'checkout', exact: true })).toBe(
      'unexpected child spans "a", "b", "c" under "checkout" (expected no children, found 3)',
    );
  });

  it('exact: a missing child is reported before the extras', () => {
    const root = span('checkout', {}, span('a'), span('x'), span('y'));
    expect(messageOf(root, { name: 'checkout', exact: true, children: [{ name: 'a' }, { name: 'b' }] })).toBe(
      'child span "b" is missing under "checkout" (children: "a", "x", "y")',
    );
  });

  it('stay fast with many interchangeable children', { timeout: 2000 }, () => {
    const children = Array.from({ length: 14 }, (_, i) => span('process', { start: i, attributes: { 'app.ok': i !== 13 } }));
    const root = span('batch', {}, ...children);
    const shape: SpanShape = { name: 'batch', children: Array.from({ length: 14 }, () => ({ name: 'process', attributes: { 'app.ok': true } })) };
    const result = mismatchOf(matchSpan(root, shape));
    expect(result.message).toBe('attribute app.ok is false, expected true');
    expect(result.spanId).toBe(children[13]?.spanId);
  });
});

describe('children in order', () => {
  const root = span('checkout', {}, span('reserve', { start: 1 }), span('audit', { start: 2 }), span('charge', { start: 3 }));

  it('match in start order, skipping extras', () => {
    expect(passes(root, { name: 'checkout', ordered: true, children: [{ name: 'reserve' }, { name: 'charge' }] })).toBe(true);
  });

  it('report a child that started too early', () => {
    const result = mismatchOf(matchSpan(root, { name: 'checkout', ordered: true, children: [{ name: 'charge' }, { name: 'reserve' }] }));
    expect(result.message).toBe(
      'child span "reserve" must start after "charge" under "checkout" (children in start order: "reserve", "audit", "charge")',
    );
    expect(result.spanId).toBe(root.children[0]?.spanId);
    expect(result.matched).toBe(2);
  });

  it('report the closest same-named child after the previous one', () => {
    const shape: SpanShape = {
      name: 'checkout',
      ordered: true,
      children: [{ name: 'reserve' }, { name: 'charge', kind: 'client' }],
    };
    expect(messageOf(root, shape)).toBe('kind is INTERNAL, expected CLIENT');
  });

  it('report a missing child', () => {
    expect(messageOf(root, { name: 'checkout', ordered: true, children: [{ name: 'reserve' }, { name: 'ship' }] })).toBe(
      'child span "ship" is missing under "checkout" (children: "reserve", "audit", "charge")',
    );
  });

  it('exact: an extra child between the expected ones is unexpected', () => {
    expect(messageOf(root, { name: 'checkout', ordered: true, exact: true, children: [{ name: 'reserve' }, { name: 'charge' }] })).toBe(
      'unexpected child span "audit" under "checkout" (expected exactly 2 children, found 3)',
    );
  });
});

describe('the matched count', () => {
  it('counts every shape of a full match', () => {
    const root = span('a', {}, span('b', {}, span('c')), span('d'));
    expect(matchSpan(root, { name: 'a', children: [{ name: 'b', children: [{ name: 'c' }] }, { name: 'd' }] })).toEqual({ ok: true, matched: 4 });
  });

  it('counts the shapes matched before the difference', () => {
    const root = span('a', {}, span('b', {}, span('c')), span('d', { kind: 'client' }));
    const result = mismatchOf(
      matchSpan(root, { name: 'a', ordered: true, children: [{ name: 'b', children: [{ name: 'c' }] }, { name: 'd', kind: 'server' }] }),
    );
    expect(result.matched).toBe(3);
    expect(result.sameName).toBe(true);
    expect(mismatchOf(matchSpan(root, { name: 'x' })).matched).toBe(0);
  });
});

describe('matchTraces', () => {
  const shape: SpanShape = {
    name: 'POST /checkout',
    kind: 'server',
    children: [{ name: 'charge', kind: 'client', attributes: { 'app.amount': 42 } }],
  };

  it('finds the matching root in any trace', () => {
    const noise = trace(span('GET /health', { kind: 'server' }));
    const good = trace(span('POST /checkout', { kind: 'server' }, span('charge', { kind: 'client', attributes: { 'app.amount': 42 } })));
    const result = matchTraces([noise, good], shape);
    expect(result.ok).toBe(true);
    expect(result.trace).toBe(good);
  });

  it('reports the closest candidate among several traces and roots', () => {
    const wrongKind = trace(span('POST /checkout', { kind: 'internal' }, span('charge', { kind: 'client', attributes: { 'app.amount': 42 } })));
    const childMissing = trace(span('POST /checkout', { kind: 'server' }, span('audit')));
    const wrongAmount = trace(
      span('GET /health', { kind: 'server' }),
      span('POST /checkout', { kind: 'server' }, span('audit'), span('charge', { kind: 'client', attributes: { 'app.amount': 41 } })),
    );
    const result = matchTraces([wrongKind, childMissing, wrongAmount], shape);
    const mismatch = mismatchOf(result);
    expect(result.trace).toBe(wrongAmount);
    expect(mismatch.message).toBe('attribute app.amount is 41, expected 42');
    expect(mismatch.spanId).toBe(find(wrongAmount, 'charge').spanId);
    expect(mismatch.path).toEqual(['POST /checkout', 'charge']);
  });

  it('prefers a root with the expected name when nothing deeper matched', () => {
    const other = trace(span('GET /health'));
    const named = trace(span('POST /checkout', { kind: 'client' }));
    const result = matchTraces([other, named], shape);
    expect(result.trace).toBe(named);
    expect(mismatchOf(result).message).toBe('kind is CLIENT, expected SERVER');
  });

  it('says when nothing was recorded', () => {
    const mismatch = mismatchOf(matchTraces([], shape));
    expect(mismatch.message).toBe('no spans were recorded (expected a root span "POST /checkout")');
    expect(mismatch.path).toEqual(['POST /checkout']);
  });

  it('lists the root spans when none has the expected name', () => {
    const result = matchTraces([trace(span('GET /health')), trace(span('checkout'))], shape);
    const mismatch = mismatchOf(result);
    expect(mismatch.message).toBe('no root span "POST /checkout" (root spans: "GET /health", "checkout")');
    expect(mismatch.spanId).toBeUndefined();
  });

  it('counts repeated root names', () => {
    const traces = [1, 2, 3].map(() => trace(span('publish refunds', { kind: 'producer' })));
    expect(mismatchOf(matchTraces([...traces, trace(span('handle message'))], shape)).message).toBe(
      'no root span "POST /checkout" (root spans: "publish refunds" ×3, "handle message")',
    );
  });

  it('says when the expected root is a child of another span', () => {
    const wrapped = trace(span('handler', {}, span('POST /checkout', { kind: 'server' })));
    const result = matchTraces([trace(span('GET /health')), wrapped], shape);
    const mismatch = mismatchOf(result);
    expect(mismatch.message).toBe('expected a root span "POST /checkout", but "POST /checkout" is a child of "handler"');
    expect(result.trace).toBe(wrapped);
    expect(mismatch.spanId).toBe(find(wrapped, 'POST /checkout').spanId);
  });

  it('reports a never-ended root', () => {
    const open = trace(span('POST /checkout', { kind: 'server', ended: false }));
    expect(mismatchOf(matchTraces([open], shape)).message).toBe('span "POST /checkout" was started but never ended');
  });
});

describe('events listed exactly', () => {
  it('reject an event the shape does not list', () => {
    const s = span('breaker call', { events: [{ name: 'transition' }, { name: 'transition' }] });
    const result = matchSpan(s, { name: 'breaker call', events: [{ name: 'transition' }], eventsExact: true });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.mismatch.message).toBe('events are ["transition", "transition"], expected exactly ["transition"]');
  });
});

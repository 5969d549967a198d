import { describe, expect, it } from 'vitest';
import { span, trace, traceWithId } from './build.ts';
import { assertTrace, failureView, TraceMismatchError } from '../../src/trace/failure.ts';
import { renderFailureView } from '../../src/trace/failure-render.ts';
import { FAILED_CHECK } from '../../src/checks/contract.ts';
import { matchTraces, type SpanShape } from '../../src/trace/match.ts';
import { anyNumber } from '../../src/trace/expect-values.ts';
import type { TraceTree } from '../../src/trace/model.ts';

const CHECKOUT: SpanShape = {
  name: 'POST /checkout',
  kind: 'server',
  attributes: { 'http.route': '/checkout' },
  children: [{ name: 'reserve stock' }, { name: 'charge card', kind: 'client', attributes: { 'app.amount': anyNumber() } }],
};

/** The learner's payment span lost the context: it became the root of a second trace. */
function contextLost(): TraceTree[] {
  return [
    traceWithId(
      '4bf92f3577b34da6a3ce929d0e0e4736',
      span(
        'POST /checkout',
        { kind: 'server', start: 0, end: 80, attributes: { 'http.route': '/checkout' } },
        span('reserve stock', { start: 2, end: 20, attributes: { 'app.items': 3 } }),
      ),
    ),
    traceWithId('0af7651916cd43dd8448eb211c80319c', span('charge card', { kind: 'client', start: 0, end: 40, attributes: { 'app.amount': 42 } })),
  ];
}

/** The failure as the CLI draws it, at its reading width. */
function drawn(error: TraceMismatchError): string {
  return error.details ? renderFailureView(error.details, { width: 120 }).join('\n') : error.message;
}

function thrown(run: () => unknown): TraceMismatchError {
  try {
    run();
  } catch (error) {
    if (error instanceof TraceMismatchError) return error;
    throw error;
  }
  throw new Error('expected a TraceMismatchError, nothing was thrown');
}

describe('assertTrace', () => {
  it('returns the matching trace', () => {
    const good = traceWithId(
      '4bf92f3577b34da6a3ce929d0e0e4736',
      span(
        'POST /checkout',
        { kind: 'server', attributes: { 'http.route': '/checkout' } },
        span('charge card', { kind: 'client', start: 1, attributes: { 'app.amount': 1 } }),
        span('reserve stock', { start: 2 }),
      ),
    );
    expect(assertTrace([good], CHECKOUT, 'checkout')).toBe(good);
  });

  it('explains a lost context: the first difference, both trees side by side, and the named mistake', () => {
    const error = thrown(() => assertTrace(contextLost(), CHECKOUT, 'the payment joins the checkout trace'));
    expect(drawn(error)).toBe(
      [
        'the payment joins the checkout trace: child span "charge card" is missing under "POST /checkout" (children: "reserve stock")',
        '  at POST /checkout › charge card',
        '',
        'expected                       your trace',
        '  POST /checkout  SERVER         POST /checkout  SERVER',
        '  │  http.route="/checkout"      │  http.route="/checkout"',
        '  ├─ reserve stock               └─ reserve stock  INTERNAL',
        '✗ └─ charge card  CLIENT               app.items=3',
        '        app.amount=a number',
        '',
        '(2 traces were recorded; drawn: the one whose root is "POST /checkout")',
        '',
        'hint: span "charge card" is the root of a trace of its own: it was started outside the active context of "POST /checkout" ' +
          '(context lost across a callback, a timer or an emitter?). ' +
          "Start it inside the parent's context: startActiveSpan, or context.with / context.bind.",
      ].join('\n'),
    );
  });

  it('marks the differing span on both sides and adds every hint', () => {
    const tree = traceWithId(
      '4bf92f3577b34da6a3ce929d0e0e4736',
      span(
        'POST /checkout',
        { kind: 'server', start: 0, end: 80, attributes: { 'http.route': '/checkout' } },
        span('reserve stock', { start: 2, end: 20 }),
        span(
          'charge card',
          { kind: 'client', start: 25, end: 70, attributes: { 'app.amount': 42 } },
          span('GET /orders/42', { kind: 'client', start: 30, ended: false }),
        ),
      ),
    );
    const shape: SpanShape = { ...CHECKOUT, children: [{ name: 'reserve stock', attributes: { 'app.items': anyNumber() } }] };
    const error = thrown(() => assertTrace([tree], shape, 'stock reservation'));
    expect(drawn(error)).toBe(
      [
        'stock reservation: attribute app.items is missing (expected a number)',
        '  at POST /checkout › reserve stock',
        '',
        'expected                       your trace',
        '  POST /checkout  SERVER         POST /checkout  SERVER',
        '  │  http.route="/checkout"      │  http.route="/checkout"',
        '✗ └─ reserve stock             ✗ ├─ reserve stock  INTERNAL',
        '        app.items=a number       └─ charge card  CLIENT',
        '                                    │  app.amount=42',
        '                                    └─ GET /orders/42  CLIENT ⚠ never ended',
        '',
        'hint: span "GET /orders/42" was started but never ended: call span.end(), in a finally block so errors end it too.',
        'hint: span name "GET /orders/42" contains a raw id: span names must be low-cardinality (a route like /orders/:id, not the id itself).',
      ].join('\n'),
    );
    expect(error.mismatch?.path).toEqual(['POST /checkout', 'reserve stock']);
  });

  it('says when no spans were recorded', () => {
    const error = thrown(() => assertTrace([], CHECKOUT, 'one span per request'));
    expect(drawn(error)).toBe(
      [
        'one span per request: no spans were recorded (expected a root span "POST /checkout")',
        '  at POST /checkout',
        '',
        'expected                       your trace',
        '✗ POST /checkout  SERVER       (no spans were recorded)',
        '  │  http.route="/checkout"',
        '  ├─ reserve stock',
        '  └─ charge card  CLIENT',
        '        app.amount=a number',
      ].join('\n'),
    );
  });

  it('is a failed check, marked for the runner, that carries the mismatch and the picture to draw', () => {
    const error = thrown(() => assertTrace(contextLost(), CHECKOUT, 'checkout'));
    expect(error).toBeInstanceOf(Error);
    expect(error[FAILED_CHECK]).toBe(true);
    expect(error.mismatch.message).toBe('child span "charge card" is missing under "POST /checkout" (children: "reserve stock")');
    expect(error.details).toMatchObject({ kind: 'trace', concept: 'checkout', path: ['POST /checkout', 'charge card'] });
    expect(error.message, 'the message itself is the sentence; the CLI draws the pictures').toBe(
      'checkout: child span "charge card" is missing under "POST /checkout" (children: "reserve stock")\n  at POST /checkout › charge card',
    );
    expect(error.details?.actual?.roots[0]?.name).toBe('POST /checkout');
  });

  it('draws no stranger when several roots have the name and none has the role: it counts how they differ', () => {
    const calls = ['closed', 'closed', 'open'].map((state, i) =>
      traceWithId(`${i}bf92f3577b34da6a3ce929d0e0e4736`, span('breaker call', { start: i, attributes: { 'app.state': state } })),
    );
    const error = thrown(() => assertTrace(calls, { name: 'breaker call', attributes: { 'app.state': 'half_open' } }, 'the trial call'));
    expect(error.details?.actual).toBeUndefined();
    expect(drawn(error).split('\n').slice(0, 4)).toEqual([
      'the trial call: none of the 3 root spans "breaker call" is the one expected; they differ like this:',
      '  ×2 attribute app.state is "closed", expected "half_open"',
      '  ×1 attribute app.state is "open", expected "half_open"',
      '  at breaker call',
    ]);
    expect(drawn(error)).toContain('(none of your traces has this role: nothing to draw beside it)');
  });

  it('tells spans of the same name apart by kind in the path', () => {
    const traces = [
      traceWithId('4bf92f3577b34da6a3ce929d0e0e4736', span('GET /greet', { kind: 'client' }, span('GET /greet', { kind: 'server', start: 1 }))),
    ];
    const shape: SpanShape = { name: 'GET /greet', kind: 'client', children: [{ name: 'GET /greet', kind: 'server', attributes: { 'http.route': '/greet' } }] };
    expect(thrown(() => assertTrace(traces, shape, 'the hop')).details?.path).toEqual(['GET /greet (CLIENT)', 'GET /greet (SERVER)']);
  });
});

describe('spans of several processes', () => {
  const hop = (): TraceTree[] => [
    traceWithId(
      '4bf92f3577b34da6a3ce929d0e0e4736',
      span(
        'GET /orders',
        { kind: 'server', resource: { 'service.name': 'sidecar' } },
        span('GET /orders', { kind: 'server', start: 1, resource: { 'service.name': 'orders-app' } }),
      ),
    ),
  ];

  it('match the resource of the process that made them', () => {
    const shape: SpanShape = { name: 'GET /orders', resource: { 'service.name': 'sidecar' }, children: [{ name: 'GET /orders', resource: { 'service.name': 'orders' } }] };
    const error = thrown(() => assertTrace(hop(), shape, 'each process names itself'));
    expect(error.mismatch.message).toBe('resource (the process that made it): attribute service.name is "orders-app", expected "orders"');
  });

  it('are drawn with the service that made each span', () => {
    const shape: SpanShape = { name: 'GET /orders', children: [{ name: 'GET /orders', kind: 'client' }] };
    const text = drawn(thrown(() => assertTrace(hop(), shape, 'the hop')));
    expect(text).toContain('GET /orders  SERVER [sidecar]');
    expect(text).toContain('GET /orders  SERVER [orders-app]');
  });
});

describe('renderFailureView', () => {
  it('says traces were recorded when none has the root expected, instead of "no spans"', () => {
    const traces = [trace(span('GET /health')), trace(span('checkout'))];
    const text = drawn(thrown(() => assertTrace(traces, CHECKOUT, 'one request')));
    expect(text).toContain('(2 traces were recorded, none with this root: they are not drawn beside it)');
    expect(text).not.toContain('no spans were recorded)');
  });

  function viewOf(traces: TraceTree[], shape: SpanShape, concept: string) {
    const result = matchTraces(traces, shape);
    if (result.ok) throw new Error('expected a mismatch');
    return failureView(concept, traces, shape, result);
  }

  it('stacks the trees when they are too wide to stand side by side', () => {
    const long = 'x'.repeat(90);
    const traces = [traceWithId('4bf92f3577b34da6a3ce929d0e0e4736', span('POST /checkout', { kind: 'server', attributes: { 'app.note': long } }))];
    const shape: SpanShape = { name: 'POST /checkout', kind: 'server', attributes: { 'app.note': long.toUpperCase() } };
    expect(renderFailureView(viewOf(traces, shape, 'notes'), { width: 160 })).toEqual([
      `notes: attribute app.note is "${long}", expected "${long.toUpperCase()}"`,
      '  at POST /checkout',
      '',
      'expected',
      '  ✗ POST /checkout  SERVER',
      `       app.note="${long.toUpperCase()}"`,
      '',
      'your trace',
      '  ✗ POST /checkout  SERVER',
      `       app.note="${long}"`,
    ]);
  });

  it('lays the same failure out for the width it is drawn at', () => {
    const view = viewOf(contextLost(), CHECKOUT, 'one trace');
    const wide = renderFailureView(view, { width: 140 }).join('\n');
    const narrow = renderFailureView(view, { width: 50 }).join('\n');
    expect(wide).toMatch(/^expected\s+your trace$/m);
    expect(narrow).not.toMatch(/^expected\s+your trace$/m);
    expect(narrow.split('\n')).toContain('your trace');
  });

  it('shows the tracer names of the learner\'s spans when the shape asks for one', () => {
    const traces = [traceWithId('4bf92f3577b34da6a3ce929d0e0e4736', span('count-words', { attributes: {} }))];
    const text = renderFailureView(viewOf(traces, { name: 'count-words', scope: 'tracecraft.text' }, 'a named tracer'), { width: 140 }).join('\n');
    expect(text).toMatch(/tracer "tracecraft.text"\s+.*tracer "test"/);
  });
});

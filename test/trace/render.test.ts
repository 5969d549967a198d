import { describe, expect, it } from 'vitest';
import { find, span, trace, traceWithId } from './build.ts';
import { formatDuration, renderShape, renderTrace, renderTraces, sideBySide, timeBar } from '../../src/trace/render.ts';
import { absent, anyNumber } from '../../src/trace/expect-values.ts';
import type { SpanShape } from '../../src/trace/match.ts';
import type { Paint } from '../../src/trace/paint.ts';

const LINKED_TRACE = '0af7651916cd43dd8448eb211c80319c';

/** POST /checkout (server) with two children; the second is an error with events, a link and a never-ended child. */
function checkout() {
  return traceWithId(
    '4bf92f3577b34da6a3ce929d0e0e4736',
    span(
      'POST /checkout',
      { kind: 'server', start: 0, end: 100, attributes: { 'http.route': '/checkout', 'http.response.status_code': 201 } },
      span('reserve stock', { start: 0, end: 50, status: 'ok' }),
      span(
        'charge card',
        {
          kind: 'client',
          start: 50,
          end: 100,
          status: 'error',
          statusMessage: 'card declined',
          events: [{ name: 'retry', attributes: { attempt: 2 } }, { name: 'gave up' }],
          links: [{ traceId: LINKED_TRACE, spanId: 'b7ad6b7169203331', attributes: { 'messaging.message.id': 'm-7' } }],
        },
        span('POST', { kind: 'client', start: 60, ended: false }),
      ),
    ),
  );
}

describe('renderTrace', () => {
  it('shows the first line of a multi-line value, such as a stack trace, and how many lines it hides', () => {
    const failing = trace(
      span('charge', {
        status: 'error',
        events: [{ name: 'exception', attributes: { 'exception.stacktrace': 'Error: declined\n    at charge (pay.ts:3:9)\n    at run (main.ts:1:1)' } }],
      }),
    );
    expect(renderTrace(failing, { barWidth: 0 }).lines).toEqual([
      'charge  INTERNAL ERROR',
      '   • exception exception.stacktrace="Error: declined" (+2 more lines)',
    ]);
  });

  it('draws the tree with kinds, status, never-ended spans, and attributes, events and links under each span', () => {
    expect(renderTrace(checkout(), { barWidth: 0 }).lines).toEqual([
      'POST /checkout  SERVER',
      '│  http.route="/checkout" http.response.status_code=201',
      '├─ reserve stock  INTERNAL OK',
      '└─ charge card  CLIENT ERROR "card declined"',
      '   │  • retry attempt=2',
      '   │  • gave up',
      '   │  ↗ link to trace 0af76519… span b7ad6b7169203331 messaging.message.id="m-7"',
      '   └─ POST  CLIENT ⚠ never ended',
    ]);
  });

  it('continues the branch of a parent past a sibling’s subtree', () => {
    const tree = trace(span('a', {}, span('b', {}, span('c'), span('d')), span('e', {}, span('f'))));
    expect(renderTrace(tree, { barWidth: 0 }).lines).toEqual([
      'a  INTERNAL',
      '├─ b  INTERNAL',
      '│  ├─ c  INTERNAL',
      '│  └─ d  INTERNAL',
      '└─ e  INTERNAL',
      '   └─ f  INTERNAL',
    ]);
  });

  it('draws a time bar per span, proportional to its start and end within the trace, and its duration', () => {
    expect(renderTrace(checkout(), { barWidth: 10, details: false }).lines).toEqual([
      'POST /checkout  SERVER                        │██████████│    100 ms',
      '├─ reserve stock  INTERNAL OK                 │█████     │   50.0 ms',
      '└─ charge card  CLIENT ERROR "card declined"  │     █████│   50.0 ms',
      '   └─ POST  CLIENT ⚠ never ended              │      ░░░░│         ?',
    ]);
  });

  it('draws each root of a trace at the margin and notes a parent that was not recorded', () => {
    const orphans = trace(
      span('consume orders', { kind: 'consumer', parent: 'ffffffffffffffff', start: 0, end: 10 }, span('save', { start: 2, end: 8 })),
      span('ack', { parent: 'eeeeeeeeeeeeeeee', start: 10, end: 20 }),
    );
    expect(renderTrace(orphans, { barWidth: 8 }).lines).toEqual([
      'consume orders  CONSUMER (parent not recorded)  │████    │   10.0 ms',
      '└─ save  INTERNAL                               │ ██     │    6.0 ms',
      'ack  INTERNAL (parent not recorded)             │    ████│   10.0 ms',
    ]);
  });

  it('marks the span that differs in a gutter, keeping the tree aligned', () => {
    const tree = checkout();
    const rendered = renderTrace(tree, { barWidth: 0, details: false, mark: find(tree, 'charge card').spanId });
    expect(rendered.lines).toEqual([
      '  POST /checkout  SERVER',
      '  ├─ reserve stock  INTERNAL OK',
      '✗ └─ charge card  CLIENT ERROR "card declined"',
      '     └─ POST  CLIENT ⚠ never ended',
    ]);
  });

  it('keeps the gutter when asked, with nothing to mark', () => {
    const tree = trace(span('a', {}, span('b')));
    expect(renderTrace(tree, { barWidth: 0, gutter: true, mark: undefined }).lines).toEqual(['  a  INTERNAL', '  └─ b  INTERNAL']);
  });

  it('gives the line of each span by span id', () => {
    const tree = checkout();
    const { lineOf } = renderTrace(tree, { barWidth: 0 });
    expect(lineOf.get(find(tree, 'POST /checkout').spanId)).toBe(0);
    expect(lineOf.get(find(tree, 'reserve stock').spanId)).toBe(2);
    expect(lineOf.get(find(tree, 'charge card').spanId)).toBe(3);
    expect(lineOf.get(find(tree, 'POST').spanId)).toBe(7);
  });

  it('paints through the given paint', () => {
    const tag = (name: string) => (text: string) => `<${name}>${text}</${name}>`;
    const paint: Paint = {
      dim: tag('dim'),
      bold: tag('b'),
      red: tag('red'),
      green: tag('green'),
      yellow: tag('yellow'),
      cyan: tag('cyan'),
      magenta: tag('magenta'),
    };
    const tree = trace(span('charge', { kind: 'client', status: 'error', ended: false }));
    expect(renderTrace(tree, { barWidth: 0, paint }).lines).toEqual([
      '<b>charge</b>  <cyan>CLIENT</cyan><red> ERROR</red><yellow> ⚠ never ended</yellow>',
    ]);
  });
});

describe('timeBar', () => {
  it('places the span within the trace’s duration', () => {
    expect(timeBar({ start: 0, end: 100 }, 100, 10)).toBe('│██████████│');
    expect(timeBar({ start: 25, end: 75 }, 100, 10)).toBe('│   █████  │');
    expect(timeBar({ start: 90, end: 100 }, 100, 10)).toBe('│         █│');
  });

  it('gives a short span at least one column', () => {
    expect(timeBar({ start: 50, end: 50.1 }, 100, 10)).toBe('│     █    │');
    expect(timeBar({ start: 100, end: 100 }, 100, 10)).toBe('│         █│');
  });

  it('fills a never-ended span to the end of the trace', () => {
    expect(timeBar({ start: 30, end: undefined }, 100, 10)).toBe('│   ░░░░░░░│');
  });

  it('draws an instant trace as one column, and nothing for width 0', () => {
    expect(timeBar({ start: 0, end: 0 }, 0, 4)).toBe('│█   │');
    expect(timeBar({ start: 0, end: 10 }, 10, 0)).toBe('');
  });
});

describe('formatDuration', () => {
  it('uses µs below a millisecond, one decimal below 100 ms', () => {
    expect(formatDuration(0.25)).toBe('250 µs');
    expect(formatDuration(12.345)).toBe('12.3 ms');
    expect(formatDuration(1234.5)).toBe('1235 ms');
  });
});

describe('renderTraces', () => {
  it('heads each trace when there are several', () => {
    const second = traceWithId('00000000000000000000000000000abc', span('GET /health', { kind: 'server' }));
    expect(renderTraces([checkout(), second], { barWidth: 0, details: false })).toEqual([
      'trace 1 of 2 (4bf92f35…)',
      'POST /checkout  SERVER',
      '├─ reserve stock  INTERNAL OK',
      '└─ charge card  CLIENT ERROR "card declined"',
      '   └─ POST  CLIENT ⚠ never ended',
      'trace 2 of 2 (00000000…)',
      'GET /health  SERVER',
    ]);
  });

  it('says when nothing was recorded', () => {
    expect(renderTraces([])).toEqual(['(no spans were recorded)']);
  });
});

describe('renderShape', () => {
  const charge: SpanShape = {
    name: 'charge card',
    kind: 'client',
    status: 'error',
    statusMessage: /declined/,
    events: [{ name: 'retry', attributes: { attempt: anyNumber() } }, { name: /gave up/ }],
    links: [{ to: { traceId: LINKED_TRACE, spanId: 'b7ad6b7169203331' } }, { attributes: { 'messaging.message.id': 'm1' } }],
    linkCount: 2,
    exact: true,
  };
  const shape: SpanShape = {
    name: 'POST /checkout',
    kind: 'server',
    scope: 'tracecraft.shop',
    attributes: { 'http.route': '/checkout', 'app.user': absent() },
    ordered: true,
    children: [{ name: /^reserve/, status: 'ok' }, charge],
  };

  it('draws every field a shape can require', () => {
    expect(renderShape(shape).lines).toEqual([
      'POST /checkout  SERVER',
      '│  tracer "tracecraft.shop"',
      '│  http.route="/checkout" app.user=absent',
      '│  (children in this order)',
      '├─ /^reserve/  OK',
      '└─ charge card  CLIENT ERROR /declined/',
      '      • retry attempt=a number',
      '      • /gave up/',
      '      ↗ link to span b7ad6b7169203331',
      '      ↗ link messaging.message.id="m1"',
      '      ↗ exactly 2 link(s)',
      '      (no children)',
    ]);
  });

  it('marks the shape that could not be matched', () => {
    const rendered = renderShape(shape, { mark: charge });
    expect(rendered.lines.slice(0, 6)).toEqual([
      '  POST /checkout  SERVER',
      '  │  tracer "tracecraft.shop"',
      '  │  http.route="/checkout" app.user=absent',
      '  │  (children in this order)',
      '  ├─ /^reserve/  OK',
      '✗ └─ charge card  CLIENT ERROR /declined/',
    ]);
    expect(rendered.lines[6]).toBe('        • retry attempt=a number');
    expect(rendered.lineOf.get(charge)).toBe(5);
  });
});

describe('sideBySide', () => {
  const expected = { title: 'expected', lines: ['a', '├─ bb'] };
  const actual = { title: 'your trace', lines: ['a', '├─ b', '└─ c'] };

  it('puts the blocks in two columns, four spaces after the widest left line', () => {
    expect(sideBySide(expected, actual)).toEqual(['expected    your trace', 'a           a', '├─ bb       ├─ b', '            └─ c']);
  });

  it('stacks the blocks when the columns would not fit the width', () => {
    expect(sideBySide(expected, actual, 20)).toEqual(['expected', '  a', '  ├─ bb', '', 'your trace', '  a', '  ├─ b', '  └─ c']);
  });

  it('measures lines without their colour codes', () => {
    const red = { title: 'expected', lines: ['\u001b[31m✗ a\u001b[39m'] };
    expect(sideBySide(red, { title: 'actual', lines: ['b'] })).toEqual(['expected    actual', '\u001b[31m✗ a\u001b[39m         b']);
  });
});

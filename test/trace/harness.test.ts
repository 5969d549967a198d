import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, propagation, ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  CONTEXT_MANAGER_REPLACED,
  GLOBALS_REPLACED,
  PROPAGATOR_REPLACED,
  traceHarness,
} from '../../src/trace/harness.ts';

// One harness per process: every test here shares it, as every check of a checker file does.
const harness = traceHarness();
const tracer = (): ReturnType<typeof trace.getTracer> => trace.getTracer('tracecraft.test');

beforeEach(() => harness.reset());
afterEach(() => {
  if (harness.verifyGlobals()) harness.restoreGlobals();
});

describe('traceHarness', () => {
  it('is one harness per process, registered as the global provider', () => {
    expect(traceHarness()).toBe(harness);
    expect(harness.verifyGlobals()).toBeUndefined();
  });

  it('captures the spans that ended, with the tracer name as scope', () => {
    const span = tracer().startSpan('count-words', { attributes: { 'app.text.words': 3 } });
    span.end();
    expect(harness.finishedSpans().map((s) => s.name)).toEqual(['count-words']);
    const [only] = harness.traces();
    expect(only?.roots.map((r) => [r.name, r.scope, r.attributes['app.text.words'], r.ended])).toEqual([
      ['count-words', 'tracecraft.test', 3, true],
    ]);
  });

  it('captures a span that was never ended, in the tree, with ended=false', () => {
    const parent = tracer().startSpan('checkout');
    const open = tracer().startSpan('charge', {}, trace.setSpan(context.active(), parent));
    parent.end();
    expect(harness.openSpans().map((s) => s.name)).toEqual(['charge']);
    const [only] = harness.traces();
    const child = only?.roots[0]?.children[0];
    expect(child?.name).toBe('charge');
    expect(child?.ended).toBe(false);
    expect(child?.end).toBeUndefined();
    expect(harness.spans().filter((s) => !s.ended).map((s) => s.name)).toEqual(['charge']);
    open.end();
    expect(harness.openSpans()).toEqual([]);
    expect(harness.spans().every((s) => s.ended)).toBe(true);
  });

  it('forgets every span on reset', () => {
    tracer().startSpan('ended').end();
    const open = tracer().startSpan('open');
    harness.reset();
    expect(harness.finishedSpans()).toEqual([]);
    expect(harness.openSpans()).toEqual([]);
    expect(harness.traces()).toEqual([]);
    open.end();
  });

  it('keeps the parent across await with startActiveSpan (AsyncLocalStorage context)', async () => {
    await tracer().startActiveSpan('checkout', async (parent: Span) => {
      await sleep(2);
      tracer().startSpan('reserve').end();
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
      await tracer().startActiveSpan('charge', async (charge: Span) => {
        await sleep(1);
        tracer().startSpan('POST').end();
        charge.end();
      });
      parent.end();
    });
    const traces = harness.traces();
    expect(traces).toHaveLength(1);
    const root = traces[0]?.roots[0];
    expect(root?.name).toBe('checkout');
    expect(root?.children.map((c) => c.name)).toEqual(['reserve', 'charge']);
    expect(root?.children[1]?.children.map((c) => c.name)).toEqual(['POST']);
  });

  it('records how many links a span was given when it started, apart from links added later', () => {
    const producer = tracer().startSpan('produce');
    const linked = tracer().startSpan('consume batch', { links: [{ context: producer.spanContext() }] }, ROOT_CONTEXT);
    linked.addLink({ context: producer.spanContext() });
    linked.end();
    producer.end();
    const node = harness.spans().find((s) => s.name === 'consume batch');
    expect(node?.links).toHaveLength(2);
    expect(node?.linksAtStart).toBe(1);
  });

  it('never draws a child ending after the parent it ended before (precise start times)', () => {
    for (let i = 0; i < 300; i++) {
      harness.reset();
      const parent = tracer().startSpan('parent');
      const child = tracer().startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, parent));
      child.end();
      parent.end();
      const [root] = harness.traces()[0]?.roots ?? [];
      const [kid] = root?.children ?? [];
      expect((kid?.end ?? 0) <= (root?.end ?? 0) && (kid?.start ?? 0) >= (root?.start ?? 0), `run ${i}`).toBe(true);
    }
  });

  it('orders spans of several traces by wall-clock start', () => {
    const base = Date.now();
    const a = tracer().startSpan('a', { startTime: base });
    const b = tracer().startSpan('b', { startTime: base + 10 }, ROOT_CONTEXT);
    const bChild = tracer().startSpan('b-child', { startTime: base + 20 }, trace.setSpan(ROOT_CONTEXT, b));
    const aChild = tracer().startSpan('a-child', { startTime: base + 15 }, trace.setSpan(ROOT_CONTEXT, a));
    for (const span of [aChild, bChild, a, b]) span.end(base + 30);
    expect(harness.traces()).toHaveLength(2);
    expect(harness.spans().map((s) => s.name)).toEqual(['a', 'b', 'a-child', 'b-child']);
  });

  it('keeps the real start order of spans started in the same millisecond, whatever order they end in', () => {
    const names = Array.from({ length: 30 }, (_, i) => `step-${i}`);
    tracer().startActiveSpan('parent', (parent) => {
      const spans = names.map((name) => tracer().startSpan(name));
      for (const span of [...spans].reverse()) span.end();
      parent.end();
    });
    expect(harness.spans().map((s) => s.name)).toEqual(['parent', ...names]);
    expect(harness.traces()[0]?.roots[0]?.children.map((s) => s.name)).toEqual(names);
  });

  it('gives the checker a tracer of its own', () => {
    harness.tracer().startSpan('test client').end();
    expect(harness.spans().map((s) => [s.name, s.scope])).toEqual([['test client', 'tracecraft-checker']]);
  });
});

describe('the globals', () => {
  it('detects a replaced tracer provider (trace.disable and another provider), and restores its own', () => {
    trace.disable();
    const other = new BasicTracerProvider();
    expect(trace.setGlobalTracerProvider(other)).toBe(true);
    trace.getTracer('lost').startSpan('not recorded').end();
    expect(harness.verifyGlobals()).toBe(GLOBALS_REPLACED);

    harness.restoreGlobals();
    expect(harness.verifyGlobals()).toBeUndefined();
    trace.getTracer('back').startSpan('recorded').end();
    expect(harness.spans().map((s) => s.name)).toEqual(['recorded']);
  });

  it('detects a disabled tracer provider', () => {
    trace.disable();
    expect(harness.verifyGlobals()).toBe(GLOBALS_REPLACED);
  });

  it('detects a replaced context manager, and after restoring it, keeps context across await again', async () => {
    context.disable();
    expect(harness.verifyGlobals()).toBe(CONTEXT_MANAGER_REPLACED);
    harness.restoreGlobals();
    expect(harness.verifyGlobals()).toBeUndefined();
    await tracer().startActiveSpan('parent', async (parent: Span) => {
      await sleep(1);
      tracer().startSpan('child').end();
      parent.end();
    });
    expect(harness.traces()[0]?.roots[0]?.children.map((c) => c.name)).toEqual(['child']);
  });

  it('detects a disabled propagator', () => {
    propagation.disable();
    expect(harness.verifyGlobals()).toBe(PROPAGATOR_REPLACED);
    harness.restoreGlobals();
    const carrier: Record<string, string> = {};
    const span = tracer().startSpan('client');
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    span.end();
    expect(carrier['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('captures a second provider.register() by the learner’s code in diagnostics, and keeps its own globals', () => {
    new NodeTracerProvider().register();
    expect(harness.diagnostics()).toEqual([
      'Error: @opentelemetry/api: Attempted duplicate registration of API: trace',
      'Error: @opentelemetry/api: Attempted duplicate registration of API: context',
      'Error: @opentelemetry/api: Attempted duplicate registration of API: propagation',
    ]);
    expect(harness.verifyGlobals()).toBeUndefined();
    trace.getTracer('still').startSpan('recorded').end();
    expect(harness.spans().map((s) => s.name)).toEqual(['recorded']);
  });

  it('forgets the diagnostics on reset', () => {
    new NodeTracerProvider().register();
    expect(harness.diagnostics().length).toBeGreaterThan(0);
    harness.reset();
    expect(harness.diagnostics()).toEqual([]);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, SpanKind, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { RECORDER_AUTHORING, recordedTraces, useSpanRecorder, useTracing } from '../../src/checks/index.ts';
import { META } from '../../src/checks/contract.ts';
import type { TraceTree } from '../../src/trace/model.ts';

// The harness installs the context manager and the propagator, as it does for every checker file.
useTracing();
const recorder = useSpanRecorder({ drawn: 2 });

function provider(serviceName: string, exporter: SpanExporter, batch = false): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter)],
  });
}

/** A request from one service to another, each with its own provider: the second continues the first's trace. */
function hop(front: BasicTracerProvider, back: BasicTracerProvider): void {
  front.getTracer('front').startActiveSpan('GET /front', { kind: SpanKind.SERVER }, (server) => {
    const headers: Record<string, string> = {};
    propagation.inject(context.active(), headers);
    const parent = propagation.extract(ROOT_CONTEXT, headers);
    back.getTracer('back').startSpan('GET /back', { kind: SpanKind.SERVER }, parent).end();
    server.end();
  });
}

let outside: unknown;
beforeAll(() => {
  try {
    recorder.traces();
  } catch (error) {
    outside = error;
  }
});

describe('useSpanRecorder', () => {
  it('turns what several providers export into trace trees, each span with the resource of the provider that made it', async () => {
    const front = provider('front', recorder.exporter);
    const back = provider('back', recorder.exporter, true);
    hop(front, back);
    await back.forceFlush();
    const [only, ...others] = recorder.traces();
    expect(others).toEqual([]);
    expect(only?.roots.map((root) => root.name)).toEqual(['GET /front']);
    const child = only?.roots[0]?.children[0];
    expect(child?.name).toBe('GET /back');
    expect(child?.resource?.['service.name']).toBe('back');
    expect(only?.roots[0]?.resource?.['service.name']).toBe('front');
    expect(recorder.count()).toBe(2);
    expect(recorder.exportCalls()).toBe(2);
    expect(recorder.spans().map((span) => span.name)).toEqual(['GET /front', 'GET /back']);
  });

  it('starts every check empty, and forgets what was exported on reset()', () => {
    expect(recorder.traces()).toEqual([]);
    const one = provider('one', recorder.exporter);
    one.getTracer('t').startSpan('a').end();
    expect(recorder.count()).toBe(1);
    recorder.reset();
    expect(recorder.count()).toBe(0);
    expect(recorder.exportCalls()).toBe(0);
  });

  it('keeps exporting for one provider when another that shares the exporter was shut down', async () => {
    const first = provider('first', recorder.exporter);
    const second = provider('second', recorder.exporter);
    await first.shutdown();
    second.getTracer('t').startSpan('after').end();
    expect(recorder.spans().map((span) => span.name)).toEqual(['after']);
  });

  it('draws the traces a check chose (a)', () => {
    const one = provider('one', recorder.exporter);
    for (const name of ['x', 'y', 'z']) one.getTracer('t').startSpan(name).end();
    recorder.draw(recorder.traces().filter((t) => t.roots[0]?.name === 'y'));
  });

  it('draws the first few traces when a check chose none (b)', () => {
    const one = provider('one', recorder.exporter);
    for (const name of ['x', 'y', 'z']) one.getTracer('t').startSpan(name).end();
  });

  it('left the chosen traces, or the first `drawn`, in the meta of the checks above', (context) => {
    const meta = (name: string): TraceTree[] | undefined =>
      (context.task.suite?.tasks.find((task) => task.name.endsWith(name))?.meta as Record<string, TraceTree[] | undefined>)[META.traces];
    expect(meta('(a)')?.map((t) => t.roots[0]?.name)).toEqual(['y']);
    expect(meta('(b)')?.map((t) => t.roots[0]?.name)).toEqual(['x', 'y']);
  });

  it('says so when it is read outside a check', () => {
    expect((outside as Error).message).toBe(RECORDER_AUTHORING.outsideCheck('traces'));
  });

  it('recordedTraces reads exported spans without a recorder', () => {
    const spans: Parameters<typeof recordedTraces>[0][number][] = [];
    const own = provider('own', {
      export: (batch, done) => {
        spans.push(...batch);
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
    });
    const tracer = own.getTracer('t');
    tracer.startActiveSpan('parent', (parent) => {
      tracer.startSpan('child').end();
      parent.end();
    });
    const [tree] = recordedTraces(spans);
    expect(tree?.roots[0]?.children.map((c) => c.name)).toEqual(['child']);
    expect(tree?.spans.every((s) => s.resource?.['service.name'] === 'own')).toBe(true);
    expect(trace.getSpan(context.active())).toBeUndefined();
  });
});

import { SpanKind, SpanStatusCode, trace as traceApi, context, type Attributes } from '@opentelemetry/api';
import { hrTimeToNanoseconds } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
// The OpenTelemetry packages' own types for what the file holds: an OTLP ExportTraceServiceRequest.
import type { IExportTraceServiceRequest, IResourceSpans, ISpan } from '@opentelemetry/otlp-transformer/build/src/trace/internal-types.js';
import type { IKeyValue } from '@opentelemetry/otlp-transformer/build/src/common/internal-types.js';
import { describe, expect, it } from 'vitest';
import type { ExerciseResult } from '../../src/runner/results.ts';
import { attributes as decodeAttributes } from '../../src/trace/otlp-receiver.ts';
import { buildTraces } from '../../src/trace/tree.ts';
import { LINK_CHECK, RUN_ATTRIBUTES } from '../../src/workshop/run-attributes.ts';
import { MAX_LINKS, RunSpans } from '../../src/workshop/run-spans.ts';
import { traceFileText } from '../../src/workshop/trace-file.ts';
import { span, trace } from '../trace/build.ts';

const identity = { learner: 'Ada Lovelace', version: '1.2.3' };

/** Real spans from the SDK, the way the harness records them: two traces, one linking to the other, and a span never ended. */
function recordSpans(): { ended: ReadableSpan[]; unended: ReadableSpan; result: ExerciseResult } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('shop', '0.1.0');
  const producer = tracer.startSpan('publish order', { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kit-bus' } });
  producer.end();
  const root = tracer.startSpan('POST /orders', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.response.status_code': 201, 'app.items': ['a', 'b'] } });
  root.addEvent('validated', { 'app.order.lines': 2 });
  const inRoot = traceApi.setSpan(context.active(), root);
  const charge = tracer.startSpan('charge card', { kind: SpanKind.CLIENT, links: [{ context: producer.spanContext(), attributes: { 'app.why': 'same order' } }] }, inRoot);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  charge.end();
  const unended = tracer.startSpan('left open', {}, inRoot) as unknown as ReadableSpan;
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
  const ended = exporter.getFinishedSpans();
  const [first, second] = [ended.filter((s) => s.name === 'publish order'), ended.filter((s) => s.name !== 'publish order')];
  const raw = (spans: ReadableSpan[], withOpen: boolean) => [...spans.map((s) => ({ span: s, ended: true })), ...(withOpen ? [{ span: unended, ended: false }] : [])];
  const result: ExerciseResult = {
    id: 'checkout',
    track: 'edge',
    status: 'fail',
    durationMs: 250,
    tests: [
      { name: 'publishes the order', status: 'pass', traces: buildTraces(raw(first, false)) },
      { name: 'charges the card under the request span', status: 'fail', message: 'expected …', traces: buildTraces(raw(second, true)) },
      { name: 'type checks cleanly (tsc, strict)', status: 'error' },
    ],
  };
  return { ended, unended, result };
}

function parse(text: string): IExportTraceServiceRequest {
  return JSON.parse(text) as IExportTraceServiceRequest;
}

function allSpans(request: IExportTraceServiceRequest): { span: ISpan; resource: Attributes; scope: string }[] {
  return (request.resourceSpans ?? []).flatMap((rs: IResourceSpans) =>
    rs.scopeSpans.flatMap((ss) => (ss.spans ?? []).map((s) => ({ span: s, resource: decodeAttributes(rs.resource?.attributes), scope: ss.scope?.name ?? '' }))),
  );
}

const attrs = (list: IKeyValue[] | undefined): Attributes => decodeAttributes(list);
const nanos = (value: unknown): bigint => BigInt(String(value));

describe('the trace file of a run', () => {
  it('is an OTLP JSON export request holding every ended span the checks recorded, span for span', () => {
    const { ended, unended, result } = recordSpans();
    const request = parse(traceFileText(new RunSpans(identity).spansOf(result, { command: 'check', started: true, endedAt: Date.now() })));
    const spans = allSpans(request);
    const byId = new Map(spans.map((s) => [s.span.spanId as string, s]));
    expect(ended).toHaveLength(3);
    for (const recorded of ended) {
      const found = byId.get(recorded.spanContext().spanId);
      expect(found, `${recorded.name} is in the file`).toBeDefined();
      const s = found!.span;
      expect(s.name).toBe(recorded.name);
      expect(s.traceId).toBe(recorded.spanContext().traceId);
      // OTLP numbers kinds from 1; the API from 0.
      expect(s.kind).toBe(recorded.kind + 1);
      expect(s.parentSpanId).toBe(recorded.parentSpanContext?.spanId);
      // Times survive to the microsecond (the file has nanoseconds; the recorded tree kept milliseconds as doubles).
      expect(Number(nanos(s.startTimeUnixNano) - BigInt(hrTimeToNanoseconds(recorded.startTime))) / 1000).toBeCloseTo(0, 0);
      expect(Number(nanos(s.endTimeUnixNano) - BigInt(hrTimeToNanoseconds(recorded.endTime))) / 1000).toBeCloseTo(0, 0);
      expect(attrs(s.attributes)).toEqual(recorded.attributes);
      expect(s.status.code).toBe(recorded.status.code);
      expect(s.status.message).toBe(recorded.status.message);
      expect(s.events.map((e) => ({ name: e.name, attributes: attrs(e.attributes) }))).toEqual(recorded.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} })));
      s.events.forEach((e, i) => expect(Number(nanos(e.timeUnixNano) - BigInt(hrTimeToNanoseconds(recorded.events[i]!.time))) / 1000).toBeCloseTo(0, 0));
      expect(s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: attrs(l.attributes) }))).toEqual(
        recorded.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: l.attributes ?? {} })),
      );
      expect(found!.scope).toBe('shop');
      expect(found!.resource).toEqual({ 'service.name': 'tracecraft', 'service.version': '1.2.3', 'tracecraft.learner': 'Ada Lovelace' });
    }
    expect(byId.has(unended.spanContext().spanId), 'a span never ended is not in the file (no backend would have it)').toBe(false);
    expect(spans).toHaveLength(ended.length + 1);
  });

  it('starts with the run span: the verdict, the counts, the failing checks, and a link to every trace with the check that recorded it', () => {
    const { result } = recordSpans();
    const endedAt = Date.UTC(2026, 11, 1, 10, 0, 0);
    const spans = allSpans(parse(traceFileText(new RunSpans(identity).spansOf(result, { command: 'learn', started: true, workshop: 'Lisbon', endedAt }))));
    const run = spans.find((s) => s.span.name === 'check checkout');
    expect(run).toBeDefined();
    const s = run!.span;
    expect(run!.scope).toBe('tracecraft');
    expect(s.parentSpanId).toBeUndefined();
    expect(s.kind).toBe(1);
    expect(nanos(s.endTimeUnixNano)).toBe(BigInt(endedAt) * 1_000_000n);
    expect(nanos(s.endTimeUnixNano) - nanos(s.startTimeUnixNano)).toBe(250_000_000n);
    expect(attrs(s.attributes)).toEqual({
      [RUN_ATTRIBUTES.learner]: 'Ada Lovelace',
      [RUN_ATTRIBUTES.exercise]: 'checkout',
      [RUN_ATTRIBUTES.track]: 'edge',
      [RUN_ATTRIBUTES.verdict]: 'fail',
      [RUN_ATTRIBUTES.passed]: 1,
      [RUN_ATTRIBUTES.total]: 3,
      [RUN_ATTRIBUTES.firstFailed]: 'charges the card under the request span',
      [RUN_ATTRIBUTES.failed]: ['charges the card under the request span', 'type checks cleanly (tsc, strict)'],
      [RUN_ATTRIBUTES.traces]: 2,
      [RUN_ATTRIBUTES.command]: 'learn',
      [RUN_ATTRIBUTES.started]: true,
      [RUN_ATTRIBUTES.workshop]: 'Lisbon',
    });
    expect(s.status).toMatchObject({ code: 2, message: 'charges the card under the request span' });
    const roots = spans.filter((x) => x.span.parentSpanId === undefined && x.scope === 'shop');
    expect(s.links.map((l) => ({ spanId: l.spanId, check: attrs(l.attributes)[LINK_CHECK] }))).toEqual([
      { spanId: roots.find((r) => r.span.name === 'publish order')!.span.spanId, check: 'publishes the order' },
      { spanId: roots.find((r) => r.span.name === 'POST /orders')!.span.spanId, check: 'charges the card under the request span' },
    ]);
  });

  it('keeps the resource of spans received from another process, with the learner added; a pass is no error', () => {
    const remote = trace(span('GET /stock', { kind: 'server', resource: { 'service.name': 'stock-api' } }, span('SELECT stock', { kind: 'client', resource: { 'service.name': 'stock-api' } })));
    const result: ExerciseResult = { id: 'sidecar', track: 'pipeline', status: 'pass', tests: [{ name: 'exports its spans', status: 'pass', traces: [remote] }] };
    const spans = allSpans(parse(traceFileText(new RunSpans(identity).spansOf(result, { command: 'check' }))));
    const request = parse(traceFileText(new RunSpans(identity).spansOf(result, { command: 'check' })));
    expect(spans.filter((s) => s.scope !== 'tracecraft').map((s) => s.resource)).toEqual([
      { 'service.name': 'stock-api', 'tracecraft.learner': 'Ada Lovelace' },
      { 'service.name': 'stock-api', 'tracecraft.learner': 'Ada Lovelace' },
    ]);
    // One resource entry per distinct resource: the serializer groups by the Resource object.
    expect(request.resourceSpans).toHaveLength(2);
    const run = spans.find((s) => s.scope === 'tracecraft')!.span;
    expect(run.status.code).toBe(0);
    expect(attrs(run.attributes)[RUN_ATTRIBUTES.firstFailed]).toBeUndefined();
    expect(attrs(run.attributes)[RUN_ATTRIBUTES.started]).toBeUndefined();
  });

  it('links to at most as many traces as the SDK allows links, and still counts them all', () => {
    const traces = Array.from({ length: MAX_LINKS + 5 }, (_, i) => trace(span(`job ${i}`)));
    const result: ExerciseResult = { id: 'batch', track: 'foundations', status: 'pass', tests: [{ name: 'runs every job', status: 'pass', traces }] };
    const run = allSpans(parse(traceFileText(new RunSpans(identity).spansOf(result, { command: 'check' })))).find((s) => s.scope === 'tracecraft')!.span;
    expect(run.links).toHaveLength(MAX_LINKS);
    expect(attrs(run.attributes)[RUN_ATTRIBUTES.traces]).toBe(MAX_LINKS + 5);
  });
});

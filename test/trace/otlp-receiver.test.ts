import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CheckFailure, expectTrace, startProcess, TraceMismatchError } from '../../src/checks/index.ts';
import { OTLP_MESSAGES, startOtlpReceiver, type OtlpReceiver } from '../../src/trace/otlp-receiver.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'processes');

let receiver: OtlpReceiver;
beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(() => receiver.close());

/** A service's SDK as the pipeline exercises set it up: a resource, a BatchSpanProcessor and the OTLP/HTTP exporter. */
function exportingProvider(url: string, options: { timeoutMillis?: number; compression?: 'gzip' } = {}): BasicTracerProvider {
  const exporter = new OTLPTraceExporter({ url, ...options } as ConstructorParameters<typeof OTLPTraceExporter>[0]);
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders', 'service.version': '1.2.3' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
}

/** One request's spans: a SERVER span with a failing CLIENT child, an event, a link and attributes of every type. */
function recordRequest(provider: BasicTracerProvider): { traceId: string; linkedTo: { traceId: string; spanId: string } } {
  const tracer = provider.getTracer('orders-service', '1.0.0');
  const earlier = tracer.startSpan('publish orders', { kind: SpanKind.PRODUCER });
  earlier.end();
  const server = tracer.startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 502, 'app.ratio': 0.25, 'app.cached': false, 'app.tags': ['a', 'b'] },
  });
  const parent = trace.setSpan(context.active(), server);
  const client = tracer.startSpan('pricing', { kind: SpanKind.CLIENT, links: [{ context: earlier.spanContext(), attributes: { 'app.reason': 'caused by' } }] }, parent);
  client.addEvent('retry', { 'app.attempt': 2 });
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'pricing answered 503' });
  client.end();
  tracer.startSpan('render', {}, parent).end();
  server.end();
  return { traceId: server.spanContext().traceId, linkedTo: earlier.spanContext() };
}

describe('the OTLP receiver', () => {
  it('turns what the real exporter sends into traces the matcher reads, each span with its resource', async () => {
    const provider = exportingProvider(receiver.tracesUrl);
    const { traceId, linkedTo } = recordRequest(provider);
    await provider.forceFlush();
    await receiver.waitForSpans(4);
    const served = receiver.traces().find((t) => t.traceId === traceId);
    expect(served?.roots.map((r) => r.name)).toEqual(['GET /orders/:id']);
    const root = served?.roots[0];
    expect(root).toMatchObject({
      kind: 'server',
      status: 'unset',
      scope: 'orders-service',
      ended: true,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 502, 'app.ratio': 0.25, 'app.cached': false, 'app.tags': ['a', 'b'] },
      resource: { 'service.name': 'orders', 'service.version': '1.2.3' },
    });
    expect(root?.children.map((c) => c.name)).toEqual(['pricing', 'render']);
    const pricing = root?.children[0];
    expect(pricing).toMatchObject({ kind: 'client', status: 'error', statusMessage: 'pricing answered 503', parentSpanId: root?.spanId });
    expect(pricing?.events).toMatchObject([{ name: 'retry', attributes: { 'app.attempt': 2 } }]);
    expect(pricing?.links).toEqual([{ traceId: linkedTo.traceId, spanId: linkedTo.spanId, attributes: { 'app.reason': 'caused by' } }]);
    expect(pricing?.start).toBeGreaterThanOrEqual(0);
    expect(pricing?.end).toBeGreaterThanOrEqual(pricing?.start ?? 0);
    expect(receiver.resources()).toEqual([expect.objectContaining({ 'service.name': 'orders' })]);
    expect(receiver.spans().map((s) => s.kind)).toContain('producer');
    expect(receiver.requests()).toMatchObject([{ path: '/v1/traces', signal: 'traces', encoding: 'json', status: 200, spans: 4, kept: true }]);

    expectTrace(receiver.traces(), { name: 'GET /orders/:id', kind: 'server', children: [{ name: 'pricing', kind: 'client', status: 'error' }] }, 'the request trace');
    expect(() => expectTrace(receiver.traces(), { name: 'GET /orders/:id', children: [{ name: 'pricing', kind: 'server' }] }, 'the request trace')).toThrow(
      TraceMismatchError,
    );
    await provider.shutdown();
  });

  it('reads a gzip-compressed export', async () => {
    const provider = exportingProvider(receiver.tracesUrl, { compression: 'gzip' });
    recordRequest(provider);
    await provider.forceFlush();
    expect((await receiver.waitForSpans(4)).length).toBe(4);
    expect(receiver.requests()[0]?.headers['content-encoding']).toBe('gzip');
    await provider.shutdown();
  });

  it('keeps metrics and logs exports as decoded JSON', async () => {
    const post = (signal: string, body: unknown): Promise<Response> =>
      fetch(`${receiver.url}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(body)) });
    expect((await post('metrics', { resourceMetrics: [{ scopeMetrics: [] }] })).status).toBe(200);
    expect((await post('logs', { resourceLogs: [] })).status).toBe(200);
    expect(receiver.metrics()).toEqual([{ resourceMetrics: [{ scopeMetrics: [] }] }]);
    expect(receiver.logs()).toEqual([{ resourceLogs: [] }]);
    expect((await fetch(`${receiver.url}/v1/other`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('answers protobuf with 415, remembers it, and says which exporter to use', async () => {
    const answer = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([10, 0]) });
    expect(answer.status).toBe(415);
    expect(receiver.sawProtobuf()).toBe(true);
    const error = await receiver.waitForSpans(1, { timeoutMs: 50, what: 'the spans of one request' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckFailure);
    expect((error as Error).message).toBe(
      `the spans of one request: expected 1 span at the OTLP receiver within 50 ms, but it received protobuf: ${OTLP_MESSAGES.protobuf}`,
    );
  });

  it('says when nothing arrived at all', async () => {
    const error = await receiver.waitForSpans(2, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `spans exported by the process: expected 2 spans at the OTLP receiver within 30 ms, but ${OTLP_MESSAGES.nothingArrived}`,
    );
  });

  it('waits for spans that satisfy a predicate', async () => {
    const provider = exportingProvider(receiver.tracesUrl);
    const waiting = receiver.waitForSpans((spans) => spans.some((s) => s.name === 'render'), { timeoutMs: 5000 });
    recordRequest(provider);
    await provider.forceFlush();
    expect((await waiting).map((s) => s.name)).toContain('render');
    await provider.shutdown();
  });

  it('fails with 503 while failing, keeps nothing, and the exporter\'s retry lands once it answers again', async () => {
    await receiver.setMode('failing');
    const provider = exportingProvider(receiver.tracesUrl);
    recordRequest(provider);
    const flushed = provider.forceFlush();
    await until(() => receiver.requests().length >= 1);
    expect(receiver.requests()[0]).toMatchObject({ status: 503, kept: false, spans: 4 });
    expect(receiver.spans()).toEqual([]);
    await receiver.setMode('normal');
    await flushed;
    await receiver.waitForSpans(4, { timeoutMs: 10_000 });
    expect(receiver.requests().map((r) => r.status)).toEqual([...Array(receiver.requests().length - 1).fill(503), 200]);
    await provider.shutdown();
  }, 20_000);

  it('answers late while slow', async () => {
    await receiver.setMode({ mode: 'slow', delayMs: 300 });
    const started = performance.now();
    const answer = await fetch(receiver.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' });
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('keeps nothing from a client that gave up before the slow answer', async () => {
    await receiver.setMode({ mode: 'slow', delayMs: 1000 });
    const provider = exportingProvider(receiver.tracesUrl, { timeoutMillis: 200 });
    recordRequest(provider);
    await provider.forceFlush().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(receiver.requests().length).toBeGreaterThanOrEqual(1);
    expect(receiver.requests().every((r) => !r.kept)).toBe(true);
    expect(receiver.spans()).toEqual([]);
    await provider.shutdown().catch(() => undefined);
  });

  it('refuses connections while down, and listens on the same port again', async () => {
    const { port } = receiver;
    await receiver.setMode('down');
    const refused = await fetch(receiver.tracesUrl, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    await receiver.setMode('normal');
    expect(receiver.port).toBe(port);
    const provider = exportingProvider(receiver.tracesUrl);
    recordRequest(provider);
    await provider.forceFlush();
    expect((await receiver.waitForSpans(4)).length).toBe(4);
    await provider.shutdown();
  });

  it('forgets everything on reset', async () => {
    const provider = exportingProvider(receiver.tracesUrl);
    recordRequest(provider);
    await provider.forceFlush();
    await receiver.waitForSpans(4);
    receiver.reset();
    expect(receiver.spans()).toEqual([]);
    expect(receiver.requests()).toEqual([]);
    await provider.shutdown();
  });

  it('receives the spans of a service in a child process, flushed on SIGTERM, with its resource from OTEL_SERVICE_NAME', async () => {
    const service = await startProcess(path.join(FIXTURES, 'otlp-service.ts'), {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'orders', PORT: '0' },
      ready: /listening on (\d+)/,
    });
    expect((await fetch(`${service.url}/orders/7`)).status).toBe(200);
    expect((await fetch(`${service.url}/orders/8`)).status).toBe(200);
    // The batch processor waits 5 s before it exports: only the flush on SIGTERM sends the spans this soon.
    service.signal('SIGTERM');
    expect(await service.waitForExit()).toEqual({ code: 0, signal: null });
    const spans = await receiver.waitForSpans(4, { timeoutMs: 2000 });
    expect(spans.map((s) => s.name).sort()).toEqual(['GET /orders/:id', 'GET /orders/:id', 'load-order', 'load-order']);
    expect(spans.every((s) => s.resource?.['service.name'] === 'orders' && s.resource['service.version'] === '1.2.3')).toBe(true);
    const requests = receiver.traces().map((t) => t.roots[0]?.attributes['url.path']);
    expect(requests.sort()).toEqual(['/orders/7', '/orders/8']);
    expectTrace(receiver.traces(), { name: 'GET /orders/:id', kind: 'server', attributes: { 'url.path': '/orders/8' }, children: [{ name: 'load-order' }] }, 'a request');
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { deferred, httpRequest, startFakeService, type FakeService, type FakeServiceReply } from '../../src/kit/index.ts';
import { traceHarness } from '../../src/trace/harness.ts';

const harness = traceHarness();
const services: FakeService[] = [];
beforeEach(() => harness.reset());
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function start(reply: (index: number) => FakeServiceReply | Promise<FakeServiceReply>, route?: string): Promise<FakeService> {
  const service = await startFakeService({ name: 'legacy', route, reply: (request) => reply(request.index) });
  services.push(service);
  return service;
}

async function settled(): Promise<void> {
  const deadline = Date.now() + 500;
  while (harness.openSpans().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('startFakeService', () => {
  it('answers what the check scripts, as JSON or text, and records each request', async () => {
    const service = await start((i) => (i === 0 ? { body: { id: 7 } } : { status: 404, body: 'no such order' }));
    const first = await fetch(`${service.url}/orders/7?expand=lines`, { headers: { 'x-user-id': 'u-1' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(await first.json()).toEqual({ id: 7 });
    const second = await httpRequest(`${service.url}/orders/8`, { method: 'POST', body: 'hello' });
    expect(second).toMatchObject({ status: 404, body: 'no such order' });
    expect(service.requests.map((r) => [r.index, r.method, r.url, r.path, r.body, r.outcome])).toEqual([
      [0, 'GET', '/orders/7?expand=lines', '/orders/7', '', 'answered'],
      [1, 'POST', '/orders/8', '/orders/8', 'hello', 'answered'],
    ]);
    expect(service.requests[0]?.headers['x-user-id']).toBe('u-1');
  });

  it('makes a SERVER span per request that continues the caller\'s trace from its traceparent', async () => {
    const service = await start(() => ({ body: {} }), '/orders/:id');
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('caller', { kind: SpanKind.CLIENT }, async (span) => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      await fetch(`${service.url}/orders/1`, { headers });
      span.end();
    });
    await settled();
    const [tree] = harness.traces();
    expect(harness.traces()).toHaveLength(1);
    const caller = tree?.roots[0];
    expect(caller?.name).toBe('caller');
    expect(caller?.children.map((c) => [c.name, c.kind, c.scope, c.attributes['http.route'], c.attributes['http.response.status_code']])).toEqual([
      ['GET /orders/:id', 'server', 'tracecraft.legacy', '/orders/:id', 200],
    ]);
  });

  it('keeps a request in flight until its reply settles, and records a caller that gave up as aborted', async () => {
    const gate = deferred<FakeServiceReply>();
    const service = await start(() => gate.promise);
    const controller = new AbortController();
    const call = fetch(`${service.url}/slow`, { signal: controller.signal }).catch((error: unknown) => error);
    const deadline = Date.now() + 500;
    while (service.requests.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(service.requests[0]?.outcome).toBe('pending');
    controller.abort();
    expect(await service.requests[0]?.done).toBe('aborted');
    expect(await call).toBeInstanceOf(Error);
    gate.resolve({ body: 'too late' });
    await settled();
    const span = harness.spans().find((s) => s.kind === 'server');
    expect(span).toMatchObject({ ended: true, status: 'error', attributes: expect.objectContaining({ 'error.type': 'aborted' }) });
  });

  it('answers 500 when the scripted reply throws, and close() cuts off what is still in flight', async () => {
    const service = await start((i) => {
      if (i === 0) throw new Error('scripted failure');
      return new Promise<FakeServiceReply>(() => undefined);
    });
    const failed = await httpRequest(`${service.url}/x`);
    expect(failed.status).toBe(500);
    expect(failed.body).toContain('scripted failure');
    const hanging = httpRequest(`${service.url}/y`).catch((error: unknown) => error);
    const deadline = Date.now() + 500;
    while (service.requests.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    await service.close();
    expect(await hanging).toBeInstanceOf(Error);
    expect(await service.requests[1]?.done).toBe('aborted');
    await settled();
    expect(harness.openSpans()).toEqual([]);
  });
});

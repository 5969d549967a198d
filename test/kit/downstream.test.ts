import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { FakeDownstream, DOWNSTREAM_MESSAGES } from '../../src/kit/downstream.ts';
import { flushMicrotasks } from '../../src/kit/control.ts';
import { traceHarness } from '../../src/trace/harness.ts';

const harness = traceHarness();

beforeEach(() => harness.reset());
afterEach(() => {
  if (harness.verifyGlobals()) harness.restoreGlobals();
});

class BoomError extends Error {
  override readonly name = 'BoomError';
}

describe('FakeDownstream', () => {
  it('answers scripted replies in call order, then the fallback, and records every call', async () => {
    const downstream = new FakeDownstream<string>({ spanName: 'GET /stock/:sku', otherwise: (call) => ({ value: `default-${call.index}` }) });
    downstream.succeedNext('first').failNext(new BoomError('down'));
    await expect(downstream.call('a')).resolves.toBe('first');
    await expect(downstream.call('b')).rejects.toThrow('down');
    await expect(downstream.call('c')).resolves.toBe('default-2');
    expect(downstream.calls.map((c) => [c.index, c.request, c.outcome])).toEqual([
      [0, 'a', 'succeeded'],
      [1, 'b', 'failed'],
      [2, 'c', 'succeeded'],
    ]);
  });

  it('makes one CLIENT span per call, a child of the active span, ERROR with error.type when it fails', async () => {
    const downstream = new FakeDownstream<number>({ spanName: 'charge', attributes: { 'peer.service': 'payments' } });
    downstream.succeedNext(1).failNext(new BoomError('declined'));
    const tracer = trace.getTracer('tracecraft.test');
    await tracer.startActiveSpan('checkout', async (parent) => {
      await downstream.call();
      await downstream.call().catch(() => undefined);
      parent.end();
    });
    const [only] = harness.traces();
    const root = only?.roots[0];
    expect(root?.name).toBe('checkout');
    const children = root?.children ?? [];
    expect(children.map((c) => [c.name, c.kind, c.status, c.scope, c.attributes['peer.service']])).toEqual([
      ['charge', 'client', 'unset', 'tracecraft.downstream', 'payments'],
      ['charge', 'client', 'error', 'tracecraft.downstream', 'payments'],
    ]);
    expect(children[1]?.attributes['error.type']).toBe('BoomError');
    expect(children[1]?.events).toEqual([]);
  });

  it('keeps a held call in flight, with its span open, until the check settles it', async () => {
    const downstream = new FakeDownstream<string>({ spanName: 'slow' });
    const first = downstream.holdNext();
    const second = downstream.holdNext();
    const a = downstream.call('a');
    const b = downstream.call('b');
    await flushMicrotasks();
    expect(downstream.inFlight).toBe(2);
    expect(downstream.calls.map((c) => c.outcome)).toEqual(['pending', 'pending']);
    expect(downstream.calls[0]?.gate).toBe(first);
    expect(harness.openSpans().map((s) => s.name)).toEqual(['slow', 'slow']);
    second.reject(new BoomError('late'));
    await expect(b).rejects.toThrow('late');
    first.resolve('done');
    await expect(a).resolves.toBe('done');
    expect(downstream.inFlight).toBe(0);
    expect(downstream.maxInFlight).toBe(2);
    expect(harness.openSpans()).toEqual([]);
  });

  it('holds a call from the fallback too, with its gate on the call', async () => {
    const downstream = new FakeDownstream<string>({ spanName: 'slow', otherwise: () => 'hold' });
    const pending = downstream.call();
    await flushMicrotasks();
    downstream.calls[0]?.gate?.resolve('ok');
    await expect(pending).resolves.toBe('ok');
  });

  it('rejects a held call with the abort reason when its signal aborts, and ends its span as ERROR', async () => {
    const downstream = new FakeDownstream<string>({ spanName: 'slow' });
    const gate = downstream.holdNext();
    const controller = new AbortController();
    const pending = downstream.call(undefined, controller.signal);
    await flushMicrotasks();
    const reason = new DOMException('deadline exceeded', 'TimeoutError');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    gate.resolve('too late');
    await flushMicrotasks();
    expect(downstream.calls[0]?.outcome).toBe('aborted');
    const [span] = harness.spans();
    expect([span?.status, span?.attributes['error.type'], span?.ended]).toEqual(['error', 'TimeoutError', true]);
    await expect(downstream.call(undefined, controller.signal)).rejects.toBe(reason);
    expect(downstream.calls[1]?.outcome).toBe('aborted');
  });

  it('fails loudly when a call has no reply', async () => {
    const downstream = new FakeDownstream<string>({ spanName: 'nothing' });
    await expect(downstream.call()).rejects.toThrow(DOWNSTREAM_MESSAGES.unscripted('nothing', 0));
  });
});

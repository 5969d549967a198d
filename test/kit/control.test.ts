import { describe, expect, it } from 'vitest';
import { ConcurrencyProbe, deferred, flushMicrotasks } from '../../src/kit/control.ts';

describe('deferred', () => {
  it('resolves and rejects from outside, and knows when it settled', async () => {
    const done = deferred<number>();
    expect(done.settled).toBe(false);
    done.resolve(42);
    expect(done.settled).toBe(true);
    await expect(done.promise).resolves.toBe(42);
    const failed = deferred();
    failed.reject(new Error('no'));
    await expect(failed.promise).rejects.toThrow('no');
  });
});

describe('ConcurrencyProbe', () => {
  it('measures the most work in flight at once and the start order', async () => {
    const probe = new ConcurrencyProbe();
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) => probe.track(`job-${i}`, () => gate.promise));
    await flushMicrotasks();
    expect(probe.inFlight).toBe(3);
    gates.forEach((g) => g.resolve());
    await Promise.all(runs);
    expect(probe.inFlight).toBe(0);
    expect(probe.maxInFlight).toBe(3);
    expect(probe.started).toEqual(['job-0', 'job-1', 'job-2']);
  });

  it('counts a failed unit as finished', async () => {
    const probe = new ConcurrencyProbe();
    await expect(probe.track('boom', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(probe.inFlight).toBe(0);
  });
});

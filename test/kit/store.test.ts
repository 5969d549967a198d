import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { TracedStore, ATTR_STORE_KEY, STORE_SYSTEM_NAME } from '../../src/kit/store.ts';
import { FakeClock } from '../../src/kit/clock.ts';
import { deferred } from '../../src/kit/control.ts';
import { traceHarness } from '../../src/trace/harness.ts';

const harness = traceHarness();

beforeEach(() => harness.reset());
afterEach(() => {
  if (harness.verifyGlobals()) harness.restoreGlobals();
});

interface Item {
  name: string;
  tags: string[];
}

describe('TracedStore', () => {
  it('reads, writes and deletes, copying values in and out', async () => {
    const item: Item = { name: 'lamp', tags: ['a'] };
    const store = new TracedStore<Item>('items', { seed: [['1', item]] });
    item.tags.push('mutated after seeding');
    const read = await store.get('1');
    expect(read).toEqual({ name: 'lamp', tags: ['a'] });
    read?.tags.push('mutated after reading');
    expect(store.peek('1')).toEqual({ name: 'lamp', tags: ['a'] });
    await store.set('2', { name: 'desk', tags: [] });
    expect(await store.get('2')).toEqual({ name: 'desk', tags: [] });
    expect(await store.delete('2')).toBe(true);
    expect(await store.get('2')).toBeUndefined();
    expect(await store.get('missing')).toBeUndefined();
  });

  it('counts every operation, per key, but not peek and seed', async () => {
    const store = new TracedStore<number>('numbers');
    store.seed('a', 1);
    store.peek('a');
    await store.get('a');
    await store.get('a');
    await store.get('b');
    await store.set('a', 2);
    expect(store.count('get')).toBe(3);
    expect(store.count('get', 'a')).toBe(2);
    expect(store.count('set', 'a')).toBe(1);
    expect(store.count('delete')).toBe(0);
    expect(store.calls).toEqual([
      { operation: 'get', key: 'a' },
      { operation: 'get', key: 'a' },
      { operation: 'get', key: 'b' },
      { operation: 'set', key: 'a' },
    ]);
  });

  it('makes one CLIENT span per operation, a child of the active span, with database attributes', async () => {
    const store = new TracedStore<number>('numbers', { seed: [['k', 7]] });
    const tracer = trace.getTracer('tracecraft.test');
    await tracer.startActiveSpan('request', async (parent) => {
      await store.get('k');
      await store.set('k', 8);
      parent.end();
    });
    const spans = harness.spans();
    const request = spans.find((s) => s.name === 'request');
    const get = spans.find((s) => s.name === 'get numbers');
    const set = spans.find((s) => s.name === 'set numbers');
    expect(get).toMatchObject({
      kind: 'client',
      status: 'unset',
      ended: true,
      parentSpanId: request?.spanId,
      scope: 'tracecraft.store',
      attributes: {
        'db.system.name': STORE_SYSTEM_NAME,
        'db.operation.name': 'get',
        'db.collection.name': 'numbers',
        [ATTR_STORE_KEY]: 'k',
      },
    });
    expect(set).toMatchObject({ kind: 'client', parentSpanId: request?.spanId, attributes: { 'db.operation.name': 'set' } });
  });

  it('takes effect when called and answers after the latency, inside the span', async () => {
    const clock = new FakeClock();
    const store = new TracedStore<string>('words', { seed: [['k', 'old']], latency: () => clock.sleep(50) });
    const reading = store.get('k');
    const writing = store.set('k', 'new');
    expect(store.peek('k'), 'the set took effect at once').toBe('new');
    expect(harness.openSpans().map((s) => s.name).sort(), 'both answers wait for the latency').toEqual(['get words', 'set words']);
    await clock.advance(50);
    await expect(reading, 'the get read the value when it was called').resolves.toBe('old');
    await writing;
    expect(harness.openSpans()).toEqual([]);
  });

  it('holds answers for as long as the latency says, and fails faulted operations with an ERROR span', async () => {
    const gate = deferred();
    const store = new TracedStore<number>('numbers', {
      seed: [['k', 1]],
      latency: (call) => (call.operation === 'get' ? gate.promise : Promise.resolve()),
      fault: (call) => (call.key === 'bad' ? Object.assign(new Error('disk on fire'), { name: 'DiskError' }) : undefined),
    });
    let answered = false;
    const reading = store.get('k').then((v) => {
      answered = true;
      return v;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(answered).toBe(false);
    expect(harness.openSpans().map((s) => s.name)).toEqual(['get numbers']);
    gate.resolve();
    await expect(reading).resolves.toBe(1);
    await expect(store.set('bad', 2)).rejects.toThrow('disk on fire');
    expect(store.peek('bad')).toBeUndefined();
    const failed = harness.spans().find((s) => s.name === 'set numbers');
    expect(failed).toMatchObject({ status: 'error', attributes: { 'error.type': 'DiskError' } });
    expect(failed?.events.map((e) => e.name)).toEqual(['exception']);
  });
});

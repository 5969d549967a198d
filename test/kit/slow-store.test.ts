import { describe, expect, it } from 'vitest';
import { SlowStore } from '../../src/kit/slow-store.ts';
import { flushMicrotasks } from '../../src/kit/control.ts';

describe('SlowStore', () => {
  it('answers from its data, undefined for a key it does not have, and counts every load', async () => {
    const store = new SlowStore<number>([['a', 1]]).set('b', 2);
    expect(await store.load('a')).toBe(1);
    expect(await store.load('b')).toBe(2);
    expect(await store.load('missing')).toBeUndefined();
    await store.load('a');
    expect(store.loads).toEqual(['a', 'b', 'missing', 'a']);
    expect(store.loadsOf('a')).toBe(2);
    expect(store.loadsOf('zzz')).toBe(0);
    expect(store.has('b')).toBe(true);
    expect(store.delete('b')).toBe(true);
    expect(await store.load('b')).toBeUndefined();
  });

  it('answers asynchronously even when it does not hold loads', async () => {
    const store = new SlowStore<string>([['k', 'v']]);
    let answered = false;
    const load = store.load('k').then(() => {
      answered = true;
    });
    expect(answered).toBe(false);
    expect(store.inFlight).toBe(1);
    await load;
    expect(answered).toBe(true);
    expect(store.inFlight).toBe(0);
  });

  it('holds loads until released, per key, answering from the data as it is at release', async () => {
    const store = new SlowStore<string>([['a', 'old']]);
    store.hold();
    const results: string[] = [];
    const a = store.load('a').then((v) => results.push(`a=${v}`));
    const b = store.load('b').then((v) => results.push(`b=${v}`));
    await flushMicrotasks();
    expect(results).toEqual([]);
    expect(store.held()).toBe(2);
    expect(store.held('a')).toBe(1);
    expect(store.inFlight).toBe(2);
    expect(store.maxInFlight).toBe(2);

    store.set('b', 'new');
    expect(await store.release('b')).toBe(1);
    expect(results).toEqual(['b=new']);
    expect(store.held()).toBe(1);
    store.set('a', 'newer');
    expect(await store.release()).toBe(1);
    await Promise.all([a, b]);
    expect(results).toEqual(['b=new', 'a=newer']);
    expect(store.inFlight).toBe(0);
    expect(await store.release()).toBe(0);
  });

  it('fails held loads with the error it is given', async () => {
    const store = new SlowStore<string>([['a', 'x']]);
    store.hold();
    // Whoever loads awaits at once, as a cache does: a rejection nobody handles would be reported.
    const settled = Promise.allSettled([store.load('a'), store.load('a')]);
    const error = new Error('store unavailable');
    expect(await store.fail(error, 'a')).toBe(2);
    expect(await settled).toEqual([
      { status: 'rejected', reason: error },
      { status: 'rejected', reason: error },
    ]);
    expect(store.inFlight).toBe(0);
  });

  it('answers by itself again after resume, leaving loads already held waiting', async () => {
    const store = new SlowStore<string>([['a', 'x']]);
    store.hold();
    const held = store.load('a');
    store.resume();
    expect(await store.load('a')).toBe('x');
    expect(store.held()).toBe(1);
    await store.release();
    expect(await held).toBe('x');
  });
});

import { describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../src/kit/clock.ts';

describe('FakeClock', () => {
  it('starts where it is told and moves only when advanced', async () => {
    const clock = new FakeClock(1000);
    expect(clock.now()).toBe(1000);
    await clock.advance(250);
    expect(clock.now()).toBe(1250);
  });

  it('fires timers in due order, ties in scheduling order, each at its own time', async () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    await clock.advance(15);
    expect(fired).toEqual(['a@10']);
    await clock.advance(100);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(115);
  });

  it('lets code awaiting a sleep run on before the next timer fires', async () => {
    const clock = new FakeClock();
    const log: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        log.push(clock.now());
      }
    })();
    await clock.advance(1000);
    await loop;
    expect(log).toEqual([100, 200, 300]);
    expect(clock.sleeps).toEqual([100, 100, 100]);
  });

  it('cancels a cleared timer', async () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(handle);
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('rejects a sleep whose signal aborts, with the abort reason, and forgets its timer', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    controller.abort(new Error('deadline'));
    await expect(sleeping).rejects.toThrow('deadline');
    expect(clock.pending()).toBe(0);
    await expect(clock.sleep(5, controller.signal)).rejects.toThrow('deadline');
  });

  it('lets code reach its first timer before runAll looks for one', async () => {
    const clock = new FakeClock();
    let done = false;
    void (async () => {
      await Promise.resolve();
      await clock.sleep(100);
      done = true;
    })();
    await clock.runAll();
    expect(done).toBe(true);
    expect(clock.now()).toBe(100);
  });

  it('runs every timer with runAll, and refuses to loop forever', async () => {
    const clock = new FakeClock();
    let count = 0;
    clock.setTimeout(() => count++, 50);
    clock.setTimeout(() => count++, 500);
    await clock.runAll();
    expect(count).toBe(2);
    expect(clock.now()).toBe(500);
    const rearm = (): void => void clock.setTimeout(rearm, 1);
    rearm();
    await expect(clock.runAll(50)).rejects.toThrow(/re-arming a timer forever/);
  });
});

describe('systemClock', () => {
  it('sleeps for real and can be aborted', async () => {
    const before = systemClock.now();
    await systemClock.sleep(5);
    expect(systemClock.now()).toBeGreaterThan(before);
    const controller = new AbortController();
    const sleeping = systemClock.sleep(10_000, controller.signal);
    controller.abort();
    await expect(sleeping).rejects.toThrow(/aborted/);
  });

  it('fires and clears real timers', async () => {
    let fired = 0;
    const cleared = systemClock.setTimeout(() => fired++, 1);
    systemClock.clearTimeout(cleared);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    expect(fired).toBe(0);
  });
});

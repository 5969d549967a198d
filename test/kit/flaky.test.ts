import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/kit/clock.ts';
import { flaky, FlakyExhaustedError } from '../../src/kit/flaky.ts';

describe('flaky', () => {
  it('settles each call with the next outcome of its script, and remembers the arguments', async () => {
    const boom = new Error('boom');
    const call = flaky<string, [string, number]>([{ error: boom }, { value: 'ok' }]);
    await expect(call('a', 1)).rejects.toBe(boom);
    await expect(call('b', 2)).resolves.toBe('ok');
    expect(call.calls.map((c) => c.args)).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('rejects calls beyond the script, unless it has an outcome for them', async () => {
    const strict = flaky<number>([{ value: 1 }]);
    await strict();
    await expect(strict()).rejects.toThrow(FlakyExhaustedError);
    await expect(strict()).rejects.toThrow('call #3 came after the script of 1 outcome ran out');
    const lenient = flaky<number>([], { afterScript: { value: 7 } });
    await expect(lenient()).resolves.toBe(7);
    await expect(lenient()).resolves.toBe(7);
  });

  it('settles asynchronously, never during the call', async () => {
    const call = flaky<number>([{ value: 1 }]);
    let settled = false;
    const pending = call().then(() => (settled = true));
    expect(settled).toBe(false);
    await pending;
    expect(settled).toBe(true);
  });

  it('stamps calls with the clock and measures the gaps between them', async () => {
    const clock = new FakeClock(500);
    const call = flaky<number>([{ error: new Error('a') }, { error: new Error('b') }, { value: 3 }], { clock });
    await call().catch(() => undefined);
    await clock.advance(120);
    await call().catch(() => undefined);
    await clock.advance(40);
    await call();
    expect(call.calls.map((c) => c.at)).toEqual([500, 620, 660]);
    expect(call.gaps()).toEqual([120, 40]);
  });

  it('refuses to measure gaps without a clock', async () => {
    const call = flaky<number>([{ value: 1 }, { value: 2 }]);
    await call();
    await call();
    expect(() => call.gaps()).toThrow(/needs a clock/);
  });
});

import { it } from 'vitest';
import fc from 'fast-check';
import { absent, expectAllEnded, expectThat, expectTrace, holds, random, show, spansNamed, useTracing, verify } from '#checks';
import { deferred, FakeClock } from '#kit';
import {
  getProfile,
  TimeoutError,
  withTimeout,
  type Profile,
  type ProfileClient,
} from '#target/02-resilience/01-timeout/timeout.ts';

const otel = useTracing();

const PARENT = 'get-profile';
const CLIENT = 'GET /profiles/:id';

it('withTimeout answers with the operation\'s value when it finishes in time, and clears its timer', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const value = random.id('value-');
  const { operation, signals } = work(clock, fastMs, () => value);
  const result = watch(withTimeout(operation, timeoutMs, clock));
  await clock.advance(fastMs);
  expectThat(result.settled && !result.rejected, `an operation that takes ${fastMs} ms under a ${timeoutMs} ms deadline resolves withTimeout at ${fastMs} ms`, `at ${fastMs} ms ${state(result)}`);
  verify(result.value, 'the value withTimeout resolved with').is(value);
  verify(signals, 'the calls withTimeout made to the operation (each with its AbortSignal)').hasCount(1, 'call');
  verify(clock.pending(), 'a fast answer clears the deadline\'s timer: once withTimeout has answered, the timers left on the clock').hasCount(0, 'timer');
  await clock.advance(3 * timeoutMs);
  expectThat(!aborted(signals), 'a call that finished in time is never aborted afterwards', `its signal was aborted ${3 * timeoutMs} ms later`);
});

it('withTimeout passes on the operation\'s own failure as it is, and clears its timer', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const failure = connectionError();
  const { operation } = work(clock, fastMs, () => {
    throw failure;
  });
  const result = watch(withTimeout(operation, timeoutMs, clock));
  await clock.advance(fastMs);
  expectThat(result.rejected, `an operation that fails at ${fastMs} ms, before its ${timeoutMs} ms deadline, makes withTimeout reject then`, `at ${fastMs} ms ${state(result)}`);
  expectThat(result.error === failure, `withTimeout rejects with the operation's own error object (${show(failure)}), unchanged`, `it rejected with ${show(result.error)}`);
  verify(clock.pending(), 'a fast failure clears the deadline\'s timer too: the timers left on the clock').hasCount(0, 'timer');
});

it('at the deadline, and not a millisecond before, withTimeout aborts the operation and rejects with a TimeoutError', async () => {
  const clock = randomClock();
  const { timeoutMs, slowMs } = randomTimes();
  const { operation, signals } = work(clock, slowMs, () => 'too late');
  const result = watch(withTimeout(operation, timeoutMs, clock));
  await clock.advance(timeoutMs - 1);
  expectThat(!result.settled, `${timeoutMs - 1} ms into a ${timeoutMs} ms deadline, withTimeout has not answered yet`, state(result));
  expectThat(!aborted(signals), `${timeoutMs - 1} ms into a ${timeoutMs} ms deadline, the operation's signal has not aborted yet`, 'it had');
  await clock.advance(1);
  expectThat(aborted(signals), `at ${timeoutMs} ms the operation's signal aborts: a real timeout stops the work`, 'the signal had not aborted');
  expectThat(result.rejected, `at ${timeoutMs} ms the caller is answered, with a rejection`, state(result));
  verify(result.error, 'what withTimeout rejected with').isInstanceOf(TimeoutError);
  verify((result.error as TimeoutError).timeoutMs, 'the timeoutMs of that TimeoutError').is(timeoutMs);
  expectThat(signals[0]?.reason === result.error, 'the signal is aborted with the very TimeoutError the caller gets as its reason', `its reason is ${show(signals[0]?.reason)}`);
  verify(clock.pending(), 'once the deadline passed and the operation stopped, the timers left on the clock').hasCount(0, 'timer');
});

it('answers at the deadline even when the operation ignores its signal and never finishes', async () => {
  const clock = randomClock();
  const { timeoutMs } = randomTimes();
  const never = deferred<string>();
  const result = watch(withTimeout(() => never.promise, timeoutMs, clock));
  await clock.advance(timeoutMs);
  expectThat(
    result.settled,
    `a deadline that waits for the operation to give up is no deadline: at ${timeoutMs} ms withTimeout rejects, whatever the operation does (race it against the deadline)`,
    `it was still waiting for an operation that never settles`,
  );
  verify(result.error, 'what withTimeout rejected with').isInstanceOf(TimeoutError);
  verify(clock.pending(), 'the timers left on the clock after the deadline').hasCount(0, 'timer');
});

it('on both sides of any deadline: answers at whichever comes first, the answer or the deadline, and leaves no timer behind', async () => {
  const example = fc.record({
    timeoutMs: fc.integer({ min: 1, max: 10_000 }),
    durationMs: fc.integer({ min: 1, max: 20_000 }),
    start: fc.integer({ min: 0, max: 1_000_000 }),
  }).filter(({ timeoutMs, durationMs }) => timeoutMs !== durationMs);
  await holds(
    example,
    async ({ timeoutMs, durationMs, start }) => {
      const clock = new FakeClock(start);
      const { operation, signals } = work(clock, durationMs, () => durationMs);
      const result = watch(withTimeout(operation, timeoutMs, clock));
      const answerAt = Math.min(durationMs, timeoutMs);
      const inTime = durationMs < timeoutMs;
      await clock.advance(answerAt - 1);
      expectThat(!result.settled, `withTimeout does not answer before ${answerAt} ms`, `at ${answerAt - 1} ms ${state(result)}`);
      await clock.advance(1);
      if (inTime) {
        expectThat(result.settled && !result.rejected && result.value === durationMs, `at ${answerAt} ms withTimeout resolves with the operation's value (${durationMs})`, state(result));
      } else {
        expectThat(result.error instanceof TimeoutError, `at ${answerAt} ms withTimeout rejects with a TimeoutError`, state(result));
      }
      expectThat(aborted(signals) === !inTime, inTime ? 'an operation that finished in time is not aborted' : 'the operation\'s signal aborts at the deadline', `its signal ${aborted(signals) ? 'was' : 'was not'} aborted`);
      verify(clock.pending(), 'the timers left on the clock once withTimeout answered').hasCount(0, 'timer');
    },
    {
      // The edges: a millisecond either side of the deadline, and the shortest deadlines.
      examples: [
        { timeoutMs: 1, durationMs: 2, start: 0 },
        { timeoutMs: 2, durationMs: 1, start: 0 },
        { timeoutMs: 500, durationMs: 499, start: 12_345 },
        { timeoutMs: 500, durationMs: 501, start: 12_345 },
      ],
      runs: 60,
      describe: ({ timeoutMs, durationMs, start }) => `a ${timeoutMs} ms deadline and an operation of ${durationMs} ms, the clock starting at ${start}`,
      replay: otel,
    },
  );
});

it('a profile that arrives in time: both spans end without error', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const profile = randomProfile();
  const client = fakeClient(clock, fastMs, profile);
  const result = watch(getProfile(profile.id, client, { timeoutMs, clock }));
  await clock.advance(fastMs);
  expectThat(result.settled && !result.rejected, `a profile service answering in ${fastMs} ms, under a ${timeoutMs} ms deadline: getProfile resolves then`, state(result));
  verify(result.value, 'the profile getProfile resolved with').equals(profile);
  verify(client.asked, 'the users the profile service was asked for').equals([profile.id]);
  verify(clock.pending(), 'a fast answer clears its deadline: the timers left on the clock').hasCount(0, 'timer');
  expectAllEnded(otel, 'both spans end once the profile arrived');
  expectTrace(
    otel,
    {
      name: PARENT,
      kind: 'internal',
      status: 'unset',
      attributes: { 'error.type': absent() },
      children: [{ name: CLIENT, kind: 'client', status: 'unset', attributes: { 'error.type': absent() } }],
    },
    'a call that made its deadline is a success: no ERROR, no error.type',
  );
  verify(spansNamed(otel, CLIENT), 'one lookup').hasCount(1, `"${CLIENT}" span`);
});

it('a profile service too slow for the deadline: the call is aborted, the caller gets a TimeoutError, and both spans say "timeout"', async () => {
  const clock = randomClock();
  const { timeoutMs, slowMs } = randomTimes();
  const profile = randomProfile();
  const client = fakeClient(clock, slowMs, profile);
  const result = watch(getProfile(profile.id, client, { timeoutMs, clock }));
  await clock.advance(timeoutMs - 1);
  expectThat(!result.settled, `getProfile waits for the service until its ${timeoutMs} ms deadline`, `at ${timeoutMs - 1} ms ${state(result)}`);
  await clock.advance(1);
  expectThat(result.rejected, `at ${timeoutMs} ms, the deadline, getProfile rejects`, state(result));
  verify(result.error, 'what getProfile rejected with').isInstanceOf(TimeoutError);
  expectThat(aborted(client.signals), 'the call to the profile service is aborted through the signal it was given', 'its signal never aborted');
  expectAllEnded(otel, 'the aborted CLIENT span ends too: a span left open hides the very call that timed out');
  expectTrace(
    otel,
    {
      name: PARENT,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': 'timeout' },
      children: [{ name: CLIENT, kind: 'client', status: 'error', attributes: { 'error.type': 'timeout' } }],
    },
    'a timed-out lookup is ERROR with error.type "timeout", and so is the call the deadline aborted',
  );
  verify(spansNamed(otel, CLIENT), 'one lookup').hasCount(1, `"${CLIENT}" span`);
});

it('a profile service that fails fast: its error, not a timeout, on both spans, and no timer left behind', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const failure = connectionError();
  const client = fakeClient(clock, fastMs, failure);
  const result = watch(getProfile(random.id('user-'), client, { timeoutMs, clock }));
  await clock.advance(fastMs);
  expectThat(result.rejected, `a call that fails at ${fastMs} ms makes getProfile reject then, without waiting for its ${timeoutMs} ms deadline`, state(result));
  expectThat(result.error === failure, `getProfile rejects with the service's own error (${show(failure)})`, `it rejected with ${show(result.error)}`);
  verify(clock.pending(), 'a fast failure clears its deadline: the timers left on the clock').hasCount(0, 'timer');
  expectAllEnded(otel, 'a CLIENT span ends when its call fails');
  expectTrace(
    otel,
    {
      name: PARENT,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': failure.name },
      children: [{ name: CLIENT, kind: 'client', status: 'error', attributes: { 'error.type': failure.name } }],
    },
    'a failure that is not a timeout keeps its own error.type (the error\'s name), on both spans',
  );
  verify(spansNamed(otel, CLIENT), 'one lookup').hasCount(1, `"${CLIENT}" span`);
});

// ---------------------------------------------------------------------------------------------
// The rig: a fake clock, operations that take time on it, and a profile service that stops when aborted.
// ---------------------------------------------------------------------------------------------

/** How a promise ended, read without awaiting it (a promise that never settles must not hang a check). */
interface Watched<T> {
  settled: boolean;
  value?: T;
  rejected: boolean;
  error?: unknown;
}

function watch<T>(promise: Promise<T>): Watched<T> {
  const watched: Watched<T> = { settled: false, rejected: false };
  promise.then(
    (value) => Object.assign(watched, { settled: true, value }),
    (error: unknown) => Object.assign(watched, { settled: true, rejected: true, error }),
  );
  return watched;
}

/** What a watched promise had done, in words. */
function state(watched: Watched<unknown>): string {
  if (!watched.settled) return 'it had not answered yet';
  return watched.rejected ? `it had rejected with ${show(watched.error)}` : `it had resolved with ${show(watched.value)}`;
}

/** A clock that starts somewhere random, so absolute times cannot be hard-coded. */
function randomClock(): FakeClock {
  return new FakeClock(random.int(0, 1_000_000));
}

/** A deadline, and how long a call takes on each side of it. */
function randomTimes(): { timeoutMs: number; fastMs: number; slowMs: number } {
  const timeoutMs = random.int(20, 5_000);
  return { timeoutMs, fastMs: random.int(1, timeoutMs - 1), slowMs: random.int(timeoutMs + 1, 3 * timeoutMs) };
}

/** An operation that works for `ms` on the clock, then answers; like fetch, it stops when its signal aborts. */
function work<T>(clock: FakeClock, ms: number, outcome: () => T) {
  const signals: AbortSignal[] = [];
  const operation = async (signal: AbortSignal): Promise<T> => {
    signals.push(signal);
    await clock.sleep(ms, signal);
    return outcome();
  };
  return { operation, signals };
}

/** Whether the first signal handed to an operation has aborted (read afresh each time). */
function aborted(signals: readonly AbortSignal[]): boolean {
  return signals[0]?.aborted === true;
}

function randomProfile(): Profile {
  return { id: random.id('user-'), name: random.pick(['Ada', 'Grace', 'Edsger', 'Barbara', 'Margaret']) };
}

/** The profile service: answers after `ms` on the clock (or fails), and rejects with the abort reason when aborted. */
function fakeClient(clock: FakeClock, ms: number, answer: Profile | Error): ProfileClient & { signals: AbortSignal[]; asked: string[] } {
  const signals: AbortSignal[] = [];
  const asked: string[] = [];
  return {
    signals,
    asked,
    get: async (userId, signal) => {
      asked.push(userId);
      signals.push(signal);
      await clock.sleep(ms, signal);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

function connectionError(): Error {
  const error = new Error(`connect ECONNREFUSED 10.0.${random.int(0, 255)}.${random.int(1, 254)}:8080`);
  error.name = random.pick(['ConnectionRefusedError', 'ConnectionResetError', 'HostUnreachableError']);
  return error;
}

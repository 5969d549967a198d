import { expect, it } from 'vitest';
import fc from 'fast-check';
import { absent, expectAllEnded, expectTrace, random, spansNamed, useTracing } from '#checks';
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

/** How a promise ended, read without awaiting it (a promise that never settles must not hang a check). */
interface Watched<T> {
  settled: boolean;
  value?: T;
  rejected: boolean;
  error?: unknown;
}

function watch<T>(promise: Promise<T>): Watched<T> {
  const state: Watched<T> = { settled: false, rejected: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, rejected: true, error }),
  );
  return state;
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

/** Runs a fast-check property; a counterexample fails the check as an assertion that names it. */
async function holdsFor<Ts>(property: fc.IAsyncProperty<Ts>, describe: (example: Ts) => string, numRuns: number): Promise<void> {
  // Shrinking stops in time for the check's own time limit; the smallest example found so far is reported.
  const details = await fc.check(property, { numRuns, interruptAfterTimeLimit: 1_500 });
  if (!details.failed) return;
  const error = details.errorInstance;
  const example = details.counterexample ? describe(details.counterexample) : 'a generated example';
  if (error instanceof Error) {
    error.message = `${example}: ${error.message}`;
    throw error;
  }
  throw new Error(`${example}: ${String(error)}`);
}

it('withTimeout answers with the operation\'s value when it finishes in time, and clears its timer', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const value = random.id('value-');
  const { operation, signals } = work(clock, fastMs, () => value);
  const result = watch(withTimeout(operation, timeoutMs, clock));
  await clock.advance(fastMs);
  expect(result.settled, `an operation that takes ${fastMs} ms answers at ${fastMs} ms, under a ${timeoutMs} ms deadline`).toBe(true);
  expect(result.value, 'the caller gets the operation\'s own value').toBe(value);
  expect(signals, 'the operation is called once, with an AbortSignal').toHaveLength(1);
  expect(
    clock.pending(),
    'a fast answer clears the deadline\'s timer: no timer may be left pending on the clock once withTimeout has answered',
  ).toBe(0);
  await clock.advance(3 * timeoutMs);
  expect(signals[0]?.aborted, 'a call that finished in time is never aborted afterwards').toBe(false);
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
  expect(result.rejected, 'an operation that fails before the deadline makes withTimeout reject').toBe(true);
  expect(result.error, 'with the operation\'s own error, not a TimeoutError').toBe(failure);
  expect(clock.pending(), 'a fast failure clears the deadline\'s timer too').toBe(0);
});

it('at the deadline, and not a millisecond before, withTimeout aborts the operation and rejects with a TimeoutError', async () => {
  const clock = randomClock();
  const { timeoutMs, slowMs } = randomTimes();
  const { operation, signals } = work(clock, slowMs, () => 'too late');
  const result = watch(withTimeout(operation, timeoutMs, clock));
  await clock.advance(timeoutMs - 1);
  expect(result.settled, `${timeoutMs - 1} ms into a ${timeoutMs} ms deadline, withTimeout has not answered yet`).toBe(false);
  expect(signals[0]?.aborted, `${timeoutMs - 1} ms into a ${timeoutMs} ms deadline, the signal has not fired yet`).toBe(false);
  await clock.advance(1);
  expect(signals[0]?.aborted, `at ${timeoutMs} ms the operation's signal is aborted: the work is really stopped`).toBe(true);
  expect(result.rejected, `at ${timeoutMs} ms the caller is answered, with a rejection`).toBe(true);
  expect(result.error, 'the caller gets a TimeoutError').toBeInstanceOf(TimeoutError);
  expect(signals[0]?.reason, 'the signal is aborted with that same TimeoutError as its reason').toBe(result.error);
  expect(clock.pending(), 'nothing is left pending on the clock: the aborted operation dropped its own timer').toBe(0);
});

it('answers at the deadline even when the operation ignores its signal and never finishes', async () => {
  const clock = randomClock();
  const { timeoutMs } = randomTimes();
  const never = deferred<string>();
  const result = watch(withTimeout(() => never.promise, timeoutMs, clock));
  await clock.advance(timeoutMs);
  expect(
    result.settled,
    'a deadline that waits for the operation to give up is no deadline: reject at the deadline whatever the operation does',
  ).toBe(true);
  expect(result.error, 'the caller gets a TimeoutError').toBeInstanceOf(TimeoutError);
  expect(clock.pending(), 'no timer is left pending').toBe(0);
});

it('on both sides of any deadline: answers at whichever comes first, the answer or the deadline, and leaves no timer behind', async () => {
  await holdsFor(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 20_000 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      async (timeoutMs, durationMs, start) => {
        fc.pre(durationMs !== timeoutMs);
        const clock = new FakeClock(start);
        const { operation, signals } = work(clock, durationMs, () => durationMs);
        const result = watch(withTimeout(operation, timeoutMs, clock));
        const answerAt = Math.min(durationMs, timeoutMs);
        await clock.advance(answerAt - 1);
        expect(result.settled, `no answer before ${answerAt} ms`).toBe(false);
        await clock.advance(1);
        expect(result.settled, `an answer at ${answerAt} ms`).toBe(true);
        if (durationMs < timeoutMs) expect(result.value, 'the operation\'s value, when it was in time').toBe(durationMs);
        else expect(result.error, 'a TimeoutError, when the deadline came first').toBeInstanceOf(TimeoutError);
        expect(signals[0]?.aborted, 'the signal is aborted exactly when the deadline came first').toBe(durationMs > timeoutMs);
        expect(clock.pending(), 'no timer left pending on the clock after the answer').toBe(0);
      },
    ),
    ([timeoutMs, durationMs, start]) => `with a ${timeoutMs} ms deadline and an operation of ${durationMs} ms, the clock starting at ${start}`,
    60,
  );
});

it('a profile that arrives in time: both spans end without error', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const profile = randomProfile();
  const client = fakeClient(clock, fastMs, profile);
  const result = watch(getProfile(profile.id, client, { timeoutMs, clock }));
  await clock.advance(fastMs);
  expect(result.value, 'getProfile answers with the profile the service sent').toEqual(profile);
  expect(client.asked, 'the service is asked for that user').toEqual([profile.id]);
  expect(clock.pending(), 'a fast answer leaves no timer pending on the clock').toBe(0);
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
  expect(spansNamed(otel, CLIENT), 'one lookup makes one CLIENT span').toHaveLength(1);
});

it('a profile service too slow for the deadline: the call is aborted, the caller gets a TimeoutError, and both spans say "timeout"', async () => {
  const clock = randomClock();
  const { timeoutMs, slowMs } = randomTimes();
  const profile = randomProfile();
  const client = fakeClient(clock, slowMs, profile);
  const result = watch(getProfile(profile.id, client, { timeoutMs, clock }));
  await clock.advance(timeoutMs - 1);
  expect(result.settled, `getProfile waits for the service until its ${timeoutMs} ms deadline`).toBe(false);
  await clock.advance(1);
  expect(result.rejected, `at ${timeoutMs} ms getProfile rejects`).toBe(true);
  expect(result.error, 'with a TimeoutError').toBeInstanceOf(TimeoutError);
  expect(client.signals[0]?.aborted, 'the call to the service is aborted through the signal it was given').toBe(true);
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
});

it('a profile service that fails fast: its error, not a timeout, on both spans, and no timer left behind', async () => {
  const clock = randomClock();
  const { timeoutMs, fastMs } = randomTimes();
  const failure = connectionError();
  const client = fakeClient(clock, fastMs, failure);
  const result = watch(getProfile(random.id('user-'), client, { timeoutMs, clock }));
  await clock.advance(fastMs);
  expect(result.rejected, 'a failed call makes getProfile reject at once, without waiting for the deadline').toBe(true);
  expect(result.error, 'with the service\'s own error').toBe(failure);
  expect(clock.pending(), 'a fast failure leaves no timer pending on the clock').toBe(0);
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
    'a failure that is not a timeout keeps its own error.type (the error\'s name)',
  );
});

import { expect, it } from 'vitest';
import fc from 'fast-check';
import { absent, expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanShape } from '#checks';
import { FakeClock, flaky, flushMicrotasks, type Flaky, type FlakyOutcome } from '#kit';
import {
  backoffDelay,
  getRate,
  HttpStatusError,
  type HttpResponse,
  type Rate,
  type RetryPolicy,
} from '#target/02-resilience/02-retry-with-backoff/rates-client.ts';

const otel = useTracing();

const PARENT = 'get-rate';
const CLIENT = 'GET /rates/:currency';
const RETRYABLE_STATUSES = [429, 502, 503, 504] as const;
const FINAL_STATUSES = [400, 401, 403, 404, 409, 422, 500, 501] as const;
const NETWORK_ERRORS = ['ConnectionResetError', 'ConnectionRefusedError', 'SocketTimeoutError'] as const;

/** What the rates service does on one call. */
type Step =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfterS?: number }
  | { kind: 'network'; name: string };

const isFailure = (step: Step): boolean => step.kind !== 'ok';
const isRetryable = (step: Step): boolean =>
  step.kind === 'network' || (step.kind === 'status' && (RETRYABLE_STATUSES as readonly number[]).includes(step.status));

/** The error.type an attempt that met this step carries. */
function errorTypeOf(step: Step): string {
  if (step.kind === 'status') return String(step.status);
  if (step.kind === 'network') return step.name;
  throw new Error('a success has no error.type');
}

function describeStep(step: Step): string {
  if (step.kind === 'ok') return '200';
  if (step.kind === 'network') return step.name;
  return step.retryAfterS === undefined ? String(step.status) : `${step.status} (Retry-After: ${step.retryAfterS})`;
}

function retryableStep(): Step {
  return random.pick([true, true, false])
    ? { kind: 'status', status: random.pick(RETRYABLE_STATUSES) }
    : { kind: 'network', name: random.pick(NETWORK_ERRORS) };
}

function randomPolicy(attempts: { min: number; max: number } = { min: 2, max: 6 }): RetryPolicy {
  const baseDelayMs = random.int(5, 400);
  return { maxAttempts: random.int(attempts.min, attempts.max), baseDelayMs, maxDelayMs: random.int(baseDelayMs, baseDelayMs * 64) };
}

const bound = (retry: number, policy: RetryPolicy): number => Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);

interface Service {
  currency: string;
  rate: Rate;
  /** The transport's get: every call made, stamped with the clock's time. */
  call: Flaky<HttpResponse, [string]>;
  /** The network error call n rejected with, for a network step. */
  networkErrors: (Error | undefined)[];
}

/**
 * The rates service, scripted: call n meets steps[n]; beyond the script it answers 503 (no
 * Retry-After). Every call is stamped with the clock's time, so the gaps between calls are the waits.
 */
function rates(clock: FakeClock, steps: readonly Step[]): Service {
  const currency = random.pick(['EUR', 'GBP', 'JPY', 'CHF', 'SEK', 'NOK', 'PLN']);
  const rate: Rate = { currency, rate: random.int(1, 99_999) / 1000 };
  const networkErrors: (Error | undefined)[] = [];
  const outcome = (step: Step, n: number): FlakyOutcome<HttpResponse> => {
    if (step.kind === 'ok') return { value: { status: 200, headers: {}, body: rate } };
    if (step.kind === 'network') {
      const error = new Error(`GET /rates/${currency}: connection to 10.1.${random.int(0, 255)}.${random.int(1, 254)} failed`);
      error.name = step.name;
      networkErrors[n] = error;
      return { error };
    }
    const headers: Record<string, string> = step.retryAfterS === undefined ? {} : { 'retry-after': String(step.retryAfterS) };
    return { value: { status: step.status, headers } };
  };
  const call = flaky<HttpResponse, [string]>(steps.map(outcome), { clock, afterScript: outcome({ kind: 'status', status: 503 }, -1) });
  return { currency, rate, call, networkErrors };
}

/** The step a call met, the script's tail included. */
const stepAt = (steps: readonly Step[], n: number): Step => steps[n] ?? { kind: 'status', status: 503 };

/** How many attempts a correct retry makes against this script, and how it ends. */
function expectedRun(steps: readonly Step[], maxAttempts: number): { attempts: number; last: Step } {
  for (let n = 0; ; n++) {
    const step = stepAt(steps, n);
    if (!isFailure(step) || !isRetryable(step) || n + 1 >= maxAttempts) return { attempts: n + 1, last: step };
  }
}

interface Run<T> {
  settled: boolean;
  value?: T;
  rejected: boolean;
  error?: unknown;
  /** The clock's time when the promise settled. */
  settledAt?: number;
  /** Why it never settled: no timer left to fire, or timers fired without end. */
  stuck?: 'no timer' | 'endless timers';
}

/**
 * Lets the code run, firing the clock's timers one at a time (`beforeTimer` looks at the world
 * just before each fires), until the promise settles or nothing is left to fire.
 */
async function drive<T>(clock: FakeClock, promise: Promise<T>, beforeTimer?: () => void): Promise<Run<T>> {
  const run: Run<T> = { settled: false, rejected: false };
  promise.then(
    (value) => Object.assign(run, { settled: true, value, settledAt: clock.now() }),
    (error: unknown) => Object.assign(run, { settled: true, rejected: true, error, settledAt: clock.now() }),
  );
  for (let fired = 0; fired < 100; fired++) {
    await flushMicrotasks();
    if (run.settled) return run;
    const due = clock.nextDue();
    if (due === undefined) return Object.assign(run, { stuck: 'no timer' as const });
    beforeTimer?.();
    await clock.advanceTo(due);
  }
  await flushMicrotasks();
  return run.settled ? run : Object.assign(run, { stuck: 'endless timers' as const });
}

function expectAnswered(run: Run<unknown>): void {
  const why =
    run.stuck === 'endless timers'
      ? 'it kept sleeping and calling again after 100 waits: does it stop after maxAttempts attempts?'
      : 'it is waiting on something the checks do not control: wait only with env.clock (clock.sleep or clock.setTimeout)';
  expect(run.settled, `getRate never answered: ${why}`).toBe(true);
}

/** Expects the run to end with the failure of `step`: an HttpStatusError with its status, or the network error itself. */
function expectFailedWith(run: Run<unknown>, step: Step, service: Service, attempts: number): void {
  expect(run.rejected, `after ${describeStep(step)} getRate rejects`).toBe(true);
  if (step.kind === 'status') {
    expect(run.error, `an answer ${step.status} makes getRate reject with an HttpStatusError`).toBeInstanceOf(HttpStatusError);
    expect((run.error as HttpStatusError).status, 'the HttpStatusError of the last answer').toBe(step.status);
  } else {
    expect(run.error, 'getRate rejects with the network error of the last attempt, as it is').toBe(service.networkErrors[attempts - 1]);
  }
}

function start(clock: FakeClock, steps: readonly Step[], policy: RetryPolicy, randomSource: () => number) {
  const service = rates(clock, steps);
  const promise = getRate(service.currency, { get: service.call }, policy, { clock, random: randomSource });
  return { service, promise };
}

/** Runs a fast-check property; a counterexample fails the check as an assertion that names it. */
async function holdsFor<Ts>(property: fc.IAsyncProperty<Ts>, describe: (example: Ts) => string, numRuns: number): Promise<void> {
  // Shrinking stops in time for the check's own time limit; the smallest example found so far is reported.
  const details = await fc.check(property, { numRuns, interruptAfterTimeLimit: 1_500 });
  if (!details.failed) return;
  const error = details.errorInstance;
  const example = details.counterexample ? describe(details.counterexample) : 'a generated example';
  if (error instanceof Error) {
    error.message = `${example}:\n${error.message}`;
    throw error;
  }
  throw new Error(`${example}: ${String(error)}`);
}

/** Expects `actual` within a millisecond of `expected` (rounding to whole milliseconds is allowed). */
function expectNear(actual: number | undefined, expected: number, message: string): void {
  expect(actual, message).toBeGreaterThanOrEqual(expected - 1);
  expect(actual, message).toBeLessThanOrEqual(expected + 1);
}

/** A number short enough to read in a message. */
const short = (x: number): number => Number(x.toPrecision(6));

const describePolicy = (p: RetryPolicy): string => `maxAttempts ${p.maxAttempts}, base ${p.baseDelayMs} ms, cap ${p.maxDelayMs} ms`;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('answers with the rate at once when the first attempt succeeds: one call, no wait', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const { service, promise } = start(clock, [{ kind: 'ok' }], randomPolicy(), Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  expect(run.value, 'getRate answers with the body of the 200').toEqual(service.rate);
  expect(service.call.calls.map((c) => c.args[0]), 'one call, to /rates/<currency>').toEqual([`/rates/${service.currency}`]);
});

it('backoffDelay draws full jitter: random() × min(cap, base × 2^n) for retry n', async () => {
  await holdsFor(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 1_000 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      async (retry, baseDelayMs, maxDelayMs, r) => {
        const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs, maxDelayMs };
        const delay = backoffDelay(retry, policy, () => r);
        const upper = bound(retry, policy);
        expect(delay, `the delay is never negative nor above min(cap, base × 2^${retry}) = ${upper}`).toBeGreaterThanOrEqual(0);
        expect(delay, `the delay is never above min(cap, base × 2^${retry}) = ${upper}`).toBeLessThanOrEqual(upper);
        expectNear(
          delay,
          r * upper,
          `full jitter: with random() = ${short(r)}, the delay is ${short(r)} × ${upper} = ${short(r * upper)} (rounding is fine)`,
        );
      },
    ),
    ([retry, base, cap, r]) => `backoffDelay(${retry}, { baseDelayMs: ${base}, maxDelayMs: ${cap}, … }, () => ${short(r)})`,
    200,
  );
});

it('retries network errors and 429, 502, 503, 504 until an attempt succeeds', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const policy = randomPolicy({ min: 3, max: 6 });
  const failures = Array.from({ length: random.int(1, policy.maxAttempts - 1) }, retryableStep);
  const { service, promise } = start(clock, [...failures, { kind: 'ok' }], policy, Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  const story = [...failures, { kind: 'ok' } as Step].map(describeStep).join(', then ');
  expect(run.rejected ? run.error : undefined, `the service answered ${story}: getRate succeeds in the end`).toBeUndefined();
  expect(run.value, 'with the rate of the last, successful attempt').toEqual(service.rate);
  expect(service.call.calls.length, `one call per attempt: ${failures.length + 1} in all`).toBe(failures.length + 1);
});

it('gives up after maxAttempts attempts, rejects with the last failure, and does not sleep after it', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const policy = randomPolicy();
  const steps = Array.from({ length: policy.maxAttempts + 2 }, retryableStep);
  const { service, promise } = start(clock, steps, policy, Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  expect(service.call.calls.length, `maxAttempts is ${policy.maxAttempts}: that many calls in all, the first one included`).toBe(policy.maxAttempts);
  const last = stepAt(steps, policy.maxAttempts - 1);
  expectFailedWith(run, last, service, policy.maxAttempts);
  expect(run.settledAt, 'the caller is answered as soon as the last attempt fails: no backoff after the last attempt').toBe(
    service.call.calls.at(-1)?.at,
  );
});

it('never retries another 4xx, a 500 or a 501: the failure is final at once, even after retries', async () => {
  for (const status of FINAL_STATUSES) {
    const retriedFirst = random.int(0, 2);
    const clock = new FakeClock(random.int(0, 1_000_000));
    const policy: RetryPolicy = { ...randomPolicy(), maxAttempts: retriedFirst + random.int(2, 4) };
    const final: Step = { kind: 'status', status };
    const steps = [...Array.from({ length: retriedFirst }, retryableStep), final, { kind: 'ok' } as Step];
    const { service, promise } = start(clock, steps, policy, Math.random);
    const run = await drive(clock, promise);
    expectAnswered(run);
    const story = steps.slice(0, retriedFirst + 1).map(describeStep).join(', then ');
    expect(
      service.call.calls.length,
      `the service answered ${story}: ${describeStep(final)} is not retryable, so the calls stop there, ${retriedFirst + 1} in all`,
    ).toBe(retriedFirst + 1);
    expectFailedWith(run, final, service, retriedFirst + 1);
    expect(run.settledAt, 'a final failure is answered at once, without a backoff').toBe(service.call.calls.at(-1)?.at);
  }
});

it('sleeps between attempts for the backoff delay, drawn from env.random', async () => {
  await holdsFor(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 6 }),
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 20_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      async (maxAttempts, baseDelayMs, maxDelayMs, r) => {
        const clock = new FakeClock();
        const policy: RetryPolicy = { maxAttempts, baseDelayMs, maxDelayMs };
        const steps = Array.from({ length: maxAttempts }, (): Step => ({ kind: 'status', status: 503 }));
        const { service, promise } = start(clock, steps, policy, () => r);
        const run = await drive(clock, promise);
        expectAnswered(run);
        expect(service.call.calls.length, `${maxAttempts} attempts`).toBe(maxAttempts);
        const waits = service.call.gaps();
        const expected = waits.map((_, i) => short(r * bound(i + 1, policy)));
        waits.forEach((wait, i) => {
          expectNear(
            wait,
            expected[i] ?? NaN,
            `waits between attempts ${JSON.stringify(waits.map(short))}; with random() always ${short(r)}, expected ${JSON.stringify(expected)} ` +
              `(retry n waits random() × min(cap, base × 2^n), n = 1 for the first retry)`,
          );
        });
      },
    ),
    ([maxAttempts, base, cap, r]) => `with ${describePolicy({ maxAttempts, baseDelayMs: base, maxDelayMs: cap })}, random() always ${short(r)}, every answer 503`,
    40,
  );
});

it('honours Retry-After as a lower bound: waits at least that long, even beyond the cap, and no less than the backoff', async () => {
  // A Retry-After longer than any backoff: the wait is exactly the Retry-After.
  const clock = new FakeClock(random.int(0, 1_000_000));
  const baseDelayMs = random.int(5, 50);
  const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs, maxDelayMs: random.int(baseDelayMs, 400) };
  const retryAfterS = random.int(1, 5);
  const status = random.pick([429, 503]);
  const steps: Step[] = [{ kind: 'status', status, retryAfterS }, { kind: 'status', status: 503 }, { kind: 'ok' }];
  const { service, promise } = start(clock, steps, policy, () => 0.5 + Math.random() / 2);
  const run = await drive(clock, promise);
  expectAnswered(run);
  expect(run.value, 'getRate succeeds on the third attempt').toEqual(service.rate);
  const [afterHint, afterPlain] = service.call.gaps();
  expect(
    afterHint,
    `after ${status} with Retry-After: ${retryAfterS}, wait ${retryAfterS * 1000} ms: the server said when to come back, and it is longer than any backoff of this policy (cap ${policy.maxDelayMs} ms)`,
  ).toBe(retryAfterS * 1000);
  expect(afterPlain, 'the next answer has no Retry-After: back to the plain backoff delay').toBeLessThanOrEqual(bound(2, policy));

  // A Retry-After shorter than the backoff drawn: the backoff wins.
  const clock2 = new FakeClock();
  const policy2: RetryPolicy = { maxAttempts: 2, baseDelayMs: random.int(1_500, 3_000), maxDelayMs: 60_000 };
  const r = 0.9 + Math.random() / 20;
  const second = start(clock2, [{ kind: 'status', status: 429, retryAfterS: 1 }, { kind: 'ok' }], policy2, () => r);
  const run2 = await drive(clock2, second.promise);
  expectAnswered(run2);
  const expected = r * bound(1, policy2);
  expectNear(
    second.service.call.gaps()[0],
    expected,
    `Retry-After: 1 is only a lower bound: when the backoff drawn is longer (${short(expected)} ms), wait for the backoff`,
  );
});

it('over many policies and failure scripts: never more attempts than allowed, every wait within its bounds', async () => {
  const failureStep = fc.oneof(
    fc.record({
      kind: fc.constant('status' as const),
      status: fc.constantFrom(...RETRYABLE_STATUSES),
      retryAfterS: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('network' as const), name: fc.constantFrom(...NETWORK_ERRORS) }),
  );
  const ending = fc.constantFrom<Step | undefined>({ kind: 'ok' }, { kind: 'status', status: 404 }, { kind: 'status', status: 500 }, undefined);
  await holdsFor(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.array(failureStep, { maxLength: 7 }),
      ending,
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 10 }),
      async (maxAttempts, baseDelayMs, maxDelayMs, failures, end, randoms) => {
        const clock = new FakeClock();
        const policy: RetryPolicy = { maxAttempts, baseDelayMs, maxDelayMs };
        const steps: Step[] = end ? [...failures.map((f) => ({ ...f }) as Step), end] : failures.map((f) => ({ ...f }) as Step);
        let draws = 0;
        const randomSource = (): number => randoms[draws++ % randoms.length] ?? 0;
        const { service, promise } = start(clock, steps, policy, randomSource);
        const run = await drive(clock, promise);
        expectAnswered(run);
        const { attempts, last } = expectedRun(steps, maxAttempts);
        expect(service.call.calls.length, `the number of attempts (maxAttempts ${maxAttempts}, stop at the first success or final failure)`).toBe(attempts);
        if (last.kind === 'ok') expect(run.value, 'the rate, from the successful attempt').toEqual(service.rate);
        else expectFailedWith(run, last, service, attempts);
        service.call.gaps().forEach((wait, i) => {
          const before = stepAt(steps, i);
          const hint = before.kind === 'status' && before.retryAfterS !== undefined ? before.retryAfterS * 1000 : 0;
          const upper = Math.max(hint, bound(i + 1, policy));
          expect(
            wait,
            `the wait before retry ${i + 1} (after ${describeStep(before)}) must be within [${hint}, ${upper}]: ` +
              `at least the Retry-After, at most max(Retry-After, min(cap, base × 2^${i + 1}))`,
          ).toBeGreaterThanOrEqual(hint - 1e-6);
          expect(wait, `the wait before retry ${i + 1} (after ${describeStep(before)}) must be at most ${upper}`).toBeLessThanOrEqual(upper + 1e-6);
        });
        expect(run.settledAt, 'no wait after the last attempt').toBe(service.call.calls.at(-1)?.at);
      },
    ),
    ([maxAttempts, base, cap, failures, end]) =>
      `with ${describePolicy({ maxAttempts, baseDelayMs: base, maxDelayMs: cap })}, the service answering ` +
      `${[...failures, ...(end ? [end] : [])].map((s) => describeStep(s as Step)).join(', ') || 'nothing scripted'}${end ? '' : ', then 503 forever'}`,
    80,
  );
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

/** The CLIENT span of attempt n (0 for the first) that met `step`. */
function attemptShape(n: number, step: Step): SpanShape {
  const resend = { 'http.request.resend_count': n === 0 ? absent() : n };
  if (step.kind === 'ok') {
    return { name: CLIENT, kind: 'client', status: 'unset', attributes: { ...resend, 'http.response.status_code': 200, 'error.type': absent() } };
  }
  const answered: Record<string, number> = step.kind === 'status' ? { 'http.response.status_code': step.status } : {};
  return { name: CLIENT, kind: 'client', status: 'error', attributes: { ...resend, ...answered, 'error.type': errorTypeOf(step) } };
}

it('traces one parent span with one CLIENT span per attempt, resends counted, each ended before the backoff sleep', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const policy = randomPolicy({ min: 3, max: 6 });
  const steps = [...Array.from({ length: random.int(1, policy.maxAttempts - 1) }, retryableStep), { kind: 'ok' } as Step];
  const { promise } = start(clock, steps, policy, Math.random);
  const openDuringSleep: string[] = [];
  const run = await drive(clock, promise, () => {
    const open = spansNamed(otel, CLIENT).filter((s) => !s.ended);
    if (open.length > 0) openDuringSleep.push(`${open.length} attempt span(s) open`);
  });
  expectAnswered(run);
  expect(
    openDuringSleep,
    'an attempt span ends as soon as its answer arrives, before the backoff sleep: the sleep belongs to no attempt, it is the gap between two sibling spans',
  ).toEqual([]);
  expectAllEnded(otel, 'every attempt span ends, failed or not');
  expectTrace(
    otel,
    {
      name: PARENT,
      kind: 'internal',
      attributes: { 'error.type': absent() },
      children: steps.map((step, n) => attemptShape(n, step)),
      exact: true,
    },
    'one CLIENT span per attempt under the get-rate span; http.request.resend_count is absent on the first attempt and counts the resends (1, 2, …) after it',
  );
  const [parent] = spansNamed(otel, PARENT);
  expect(parent?.status, 'get-rate succeeded in the end: it is not ERROR, whatever its attempts went through').not.toBe('error');
  expect(spansNamed(otel, PARENT), 'one get-rate span per call').toHaveLength(1);
  expect(spansNamed(otel, CLIENT), 'as many CLIENT spans as attempts, all under get-rate').toHaveLength(steps.length);
});

it('traces exhaustion: the parent is ERROR with the error.type of the last attempt', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const policy = randomPolicy();
  const steps = Array.from({ length: policy.maxAttempts }, retryableStep);
  const { promise } = start(clock, steps, policy, Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  const last = stepAt(steps, policy.maxAttempts - 1);
  expectAllEnded(otel, 'every span ends, also when getRate rejects');
  expectTrace(
    otel,
    {
      name: PARENT,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': errorTypeOf(last) },
      children: steps.map((step, n) => attemptShape(n, step)),
      exact: true,
    },
    `attempts exhausted: get-rate failed, and its error.type is the last attempt's (${errorTypeOf(last)})`,
  );
});

it('traces a non-retryable answer: one CLIENT span, and the parent ERROR with that status as error.type', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const final: Step = { kind: 'status', status: random.pick(FINAL_STATUSES) };
  const { promise } = start(clock, [final, { kind: 'ok' }], randomPolicy(), Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  expectAllEnded(otel, 'every span ends, also when getRate rejects');
  expectTrace(
    otel,
    {
      name: PARENT,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': errorTypeOf(final) },
      children: [attemptShape(0, final)],
      exact: true,
    },
    `a ${errorTypeOf(final)} is final: one attempt, and get-rate is ERROR with error.type "${errorTypeOf(final)}"`,
  );
});

import { it } from 'vitest';
import fc from 'fast-check';
import { absent, expectAllEnded, expectThat, expectTrace, holds, random, show, spansNamed, useTracing, verify, type SpanShape } from '#checks';
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

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('answers with the rate at once when the first attempt succeeds: one call, no wait', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const { service, promise } = start(clock, [OK], randomPolicy(), Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  expectResolvedWith(run, service.rate, 'a 200 at the first attempt');
  verify(service.call.calls.map((c) => c.args[0]), 'the paths the rates service was asked for').equals([`/rates/${service.currency}`]);
  verify(run.settledAt, 'the clock when getRate answered (no wait after a success)').is(service.call.calls[0]?.at);
});

it('backoffDelay draws full jitter: random() × min(cap, base × 2^n) for retry n', async () => {
  const example = fc.record({
    retry: fc.integer({ min: 1, max: 12 }),
    baseDelayMs: fc.integer({ min: 1, max: 1_000 }),
    maxDelayMs: fc.integer({ min: 1, max: 60_000 }),
    r: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });
  await holds(
    example,
    ({ retry, baseDelayMs, maxDelayMs, r }) => {
      const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs, maxDelayMs };
      const upper = bound(retry, policy);
      verify(backoffDelay(retry, policy, () => r), `the delay (random() = ${short(r)}, so ${short(r)} × min(${maxDelayMs}, ${baseDelayMs} × 2^${retry}) = ${short(r * upper)}; rounding is fine)`).isCloseTo(short(r * upper), 1);
    },
    {
      // Below the cap and at it, the ends of the random range, and the first retry.
      examples: [
        { retry: 1, baseDelayMs: 100, maxDelayMs: 1_000, r: 0.5 },
        { retry: 3, baseDelayMs: 100, maxDelayMs: 1_000, r: 0.75 },
        { retry: 4, baseDelayMs: 100, maxDelayMs: 1_000, r: 0.25 },
        { retry: 2, baseDelayMs: 250, maxDelayMs: 60_000, r: 0.999 },
        { retry: 5, baseDelayMs: 30, maxDelayMs: 60_000, r: 0 },
      ],
      runs: 200,
      describe: ({ retry, baseDelayMs, maxDelayMs, r }) => `backoffDelay(${retry}, { baseDelayMs: ${baseDelayMs}, maxDelayMs: ${maxDelayMs}, … }, () => ${short(r)})`,
    },
  );
});

it('retries network errors and 429, 502, 503, 504 until an attempt succeeds', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  // Every kind of retryable failure, every run, in a random order.
  const failures = random.shuffle<Step>([networkStep(), ...RETRYABLE_STATUSES.map((status): Step => ({ kind: 'status', status }))]);
  const policy = { ...randomPolicy(), maxAttempts: failures.length + random.int(1, 3) };
  const steps = [...failures, OK];
  const { service, promise } = start(clock, steps, policy, Math.random);
  const run = await drive(clock, promise);
  expectAnswered(run);
  const story = `the service answered ${steps.map(describeStep).join(', then ')} (maxAttempts ${policy.maxAttempts})`;
  expectResolvedWith(run, service.rate, `${story}: every failure is retryable, so getRate succeeds in the end`);
  verify(service.call.calls, `${story}: the attempts`).hasCount(steps.length, 'attempt');
});

it('gives up after maxAttempts attempts, rejects with the last failure, and does not sleep after it', async () => {
  for (const maxAttempts of [1, random.int(2, 6)]) {
    const clock = new FakeClock(random.int(0, 1_000_000));
    const policy = { ...randomPolicy(), maxAttempts };
    const steps = [...Array.from({ length: maxAttempts + 2 }, retryableStep)];
    // The last attempt made meets a status every run, and a network error every run in the other case.
    steps[maxAttempts - 1] = maxAttempts === 1 ? { kind: 'status', status: random.pick(RETRYABLE_STATUSES) } : networkStep();
    const { service, promise } = start(clock, steps, policy, Math.random);
    const run = await drive(clock, promise);
    expectAnswered(run);
    const story = `the service failing with retryable answers (${steps.slice(0, maxAttempts).map(describeStep).join(', ')}, …) and maxAttempts ${maxAttempts}`;
    verify(service.call.calls, `${story}: the attempts, the first one included`).hasCount(maxAttempts, 'attempt');
    expectFailedWith(run, stepAt(steps, maxAttempts - 1), service, maxAttempts);
    verify(run.settledAt, `${story}: the clock when getRate rejected (at once after the last attempt failed, no backoff after it)`).is(service.call.calls.at(-1)?.at);
  }
});

it('never retries another 4xx, a 500 or a 501: the failure is final at once, even after retries', async () => {
  for (const status of FINAL_STATUSES) {
    const retriedFirst = random.int(0, 2);
    const clock = new FakeClock(random.int(0, 1_000_000));
    const policy: RetryPolicy = { ...randomPolicy(), maxAttempts: retriedFirst + random.int(2, 4) };
    const final: Step = { kind: 'status', status };
    const steps = [...Array.from({ length: retriedFirst }, retryableStep), final, OK];
    const { service, promise } = start(clock, steps, policy, Math.random);
    const run = await drive(clock, promise);
    expectAnswered(run);
    const story = `the service answered ${steps.slice(0, retriedFirst + 1).map(describeStep).join(', then ')}`;
    verify(service.call.calls, `${story}: ${status} is not retryable, so the attempts stop there`).hasCount(retriedFirst + 1, 'attempt');
    expectFailedWith(run, final, service, retriedFirst + 1);
    verify(run.settledAt, `${story}: the clock when getRate rejected (a final failure is answered at once, without a backoff)`).is(service.call.calls.at(-1)?.at);
  }
});

it('sleeps between attempts for the backoff delay, a fresh draw of env.random for each retry', async () => {
  const example = fc.record({
    maxAttempts: fc.integer({ min: 2, max: 6 }),
    baseDelayMs: fc.integer({ min: 1, max: 500 }),
    maxDelayMs: fc.integer({ min: 1, max: 20_000 }),
    draws: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 5, maxLength: 5 }),
  });
  await holds(
    example,
    async ({ maxAttempts, baseDelayMs, maxDelayMs, draws }) => {
      const clock = new FakeClock();
      const policy: RetryPolicy = { maxAttempts, baseDelayMs, maxDelayMs };
      const steps = Array.from({ length: maxAttempts }, (): Step => ({ kind: 'status', status: 503 }));
      let calls = 0;
      const { service, promise } = start(clock, steps, policy, () => draws[calls++ % draws.length] ?? 0);
      const run = await drive(clock, promise);
      expectAnswered(run);
      verify(service.call.calls, 'the attempts').hasCount(maxAttempts, 'attempt');
      const waits = service.call.gaps();
      const expected = waits.map((_, i) => (draws[i] ?? 0) * bound(i + 1, policy));
      waits.forEach((wait, i) => {
        verify(
          wait,
          `the wait before retry ${i + 1} (waits ${show(waits.map(short))}, expected ${show(expected.map(short))}: ` +
            'retry n waits random() × min(cap, base × 2^n), with a new random() for each retry; rounding is fine)',
        ).isCloseTo(short(expected[i] ?? Number.NaN), 1);
      });
    },
    {
      examples: [
        // The cap reached at retry 2: waits of 100, 125, 125.
        { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, draws: [0.5, 0.5, 0.5, 0.5, 0.5] },
        // A different draw for every retry.
        { maxAttempts: 5, baseDelayMs: 40, maxDelayMs: 100_000, draws: [0.9, 0.1, 0.6, 0.3, 0.8] },
        { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100_000, draws: [0.999, 0.25, 0, 0, 0] },
        { maxAttempts: 2, baseDelayMs: 300, maxDelayMs: 20_000, draws: [0, 0.5, 0.5, 0.5, 0.5] },
      ],
      runs: 40,
      describe: ({ maxAttempts, baseDelayMs, maxDelayMs, draws }) =>
        `with ${describePolicy({ maxAttempts, baseDelayMs, maxDelayMs })}, random() returning ${draws.slice(0, maxAttempts - 1).map(short).join(', ')} in turn, every answer 503`,
      replay: otel,
    },
  );
});

it('honours Retry-After as a lower bound: waits at least that long, even beyond the cap, and no less than the backoff', async () => {
  // A Retry-After longer than any backoff: the wait is exactly the Retry-After, whichever retryable status carries it.
  for (const status of random.shuffle(RETRYABLE_STATUSES)) {
    const clock = new FakeClock(random.int(0, 1_000_000));
    const baseDelayMs = random.int(5, 50);
    const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs, maxDelayMs: random.int(baseDelayMs, 400) };
    const retryAfterS = random.int(1, 5);
    const steps: Step[] = [{ kind: 'status', status, retryAfterS }, { kind: 'status', status: 503 }, OK];
    const { service, promise } = start(clock, steps, policy, () => 0.5 + Math.random() / 2);
    const run = await drive(clock, promise);
    expectAnswered(run);
    expectResolvedWith(run, service.rate, `after ${describeStep(steps[0] as Step)}, a 503, then a 200`);
    const [afterHint, afterPlain] = service.call.gaps();
    verify(
      afterHint,
      `the wait after ${status} with Retry-After: ${retryAfterS} (the server said when to come back, and that is longer than any backoff of this policy, cap ${policy.maxDelayMs} ms)`,
    ).is(retryAfterS * 1000);
    verify(afterPlain, 'the wait after the next answer, a 503 with no Retry-After (back to the plain backoff, within min(cap, base × 2²))').isBetween(0, bound(2, policy));
  }

  // A Retry-After shorter than the backoff drawn: the backoff wins.
  const clock = new FakeClock();
  const policy: RetryPolicy = { maxAttempts: 2, baseDelayMs: random.int(1_500, 3_000), maxDelayMs: 60_000 };
  const r = 0.9 + Math.random() / 20;
  const status = random.pick(RETRYABLE_STATUSES);
  const { service, promise } = start(clock, [{ kind: 'status', status, retryAfterS: 1 }, OK], policy, () => r);
  const run = await drive(clock, promise);
  expectAnswered(run);
  const expected = r * bound(1, policy);
  verify(
    service.call.gaps()[0],
    `the wait after ${status} with Retry-After: 1 (only a lower bound: the backoff drawn, ${short(expected)} ms, is longer, so wait for the backoff)`,
  ).isCloseTo(short(expected), 1);
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
  const ending = fc.constantFrom<Step | undefined>(OK, { kind: 'status', status: 404 }, { kind: 'status', status: 500 }, undefined);
  const example = fc.record({
    maxAttempts: fc.integer({ min: 1, max: 6 }),
    baseDelayMs: fc.integer({ min: 1, max: 500 }),
    maxDelayMs: fc.integer({ min: 1, max: 10_000 }),
    failures: fc.array(failureStep, { maxLength: 7 }),
    end: ending,
    randoms: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 10 }),
  });
  type Example = typeof example extends fc.Arbitrary<infer T> ? T : never;
  await holds(
    example,
    async ({ maxAttempts, baseDelayMs, maxDelayMs, failures, end, randoms }: Example) => {
      const clock = new FakeClock();
      const policy: RetryPolicy = { maxAttempts, baseDelayMs, maxDelayMs };
      const steps: Step[] = [...failures.map((f) => ({ ...f }) as Step), ...(end ? [end] : [])];
      let draws = 0;
      const { service, promise } = start(clock, steps, policy, () => randoms[draws++ % randoms.length] ?? 0);
      const run = await drive(clock, promise);
      expectAnswered(run);
      const { attempts, last } = expectedRun(steps, maxAttempts);
      verify(service.call.calls, `the attempts (maxAttempts ${maxAttempts}; stop at the first success or final failure)`).hasCount(attempts, 'attempt');
      if (last.kind === 'ok') expectResolvedWith(run, service.rate, 'the last attempt met a 200');
      else expectFailedWith(run, last, service, attempts);
      service.call.gaps().forEach((wait, i) => {
        const before = stepAt(steps, i);
        const hint = before.kind === 'status' && before.retryAfterS !== undefined ? before.retryAfterS * 1000 : 0;
        const upper = Math.max(hint, bound(i + 1, policy));
        verify(
          wait,
          `the wait before retry ${i + 1}, after ${describeStep(before)} (at least the Retry-After, at most max(Retry-After, min(cap, base × 2^${i + 1})))`,
        ).isBetween(hint - 1e-6, upper + 1e-6);
      });
      verify(run.settledAt, 'the clock when getRate answered (no wait after the last attempt)').is(service.call.calls.at(-1)?.at);
    },
    {
      examples: [
        // maxAttempts 1 never retries; a Retry-After of 0; Retry-After on a 502 and a 504; the attempts running out.
        { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 1_000, failures: [{ kind: 'status', status: 503, retryAfterS: undefined }], end: OK, randoms: [0.5] },
        { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, failures: [{ kind: 'status', status: 429, retryAfterS: 0 }], end: OK, randoms: [0.5] },
        { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 300, failures: [{ kind: 'status', status: 502, retryAfterS: 2 }, { kind: 'status', status: 504, retryAfterS: 1 }], end: OK, randoms: [0.9] },
        { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 300, failures: [{ kind: 'network', name: 'ConnectionResetError' }, { kind: 'status', status: 503, retryAfterS: undefined }], end: OK, randoms: [0.3] },
      ],
      runs: 80,
      describe: ({ maxAttempts, baseDelayMs, maxDelayMs, failures, end }: Example) =>
        `with ${describePolicy({ maxAttempts, baseDelayMs, maxDelayMs })}, the service answering ` +
        `${[...failures, ...(end ? [end] : [])].map((s) => describeStep(s as Step)).join(', ') || 'nothing scripted'}${end ? '' : ', then 503 forever'}`,
      replay: otel,
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('traces one parent span with one CLIENT span per attempt, resends counted, each ended before the backoff sleep', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const policy = randomPolicy({ min: 4, max: 6 });
  const failures = [{ kind: 'status', status: random.pick(RETRYABLE_STATUSES) } as Step, networkStep(), ...Array.from({ length: random.int(0, policy.maxAttempts - 3) }, retryableStep)];
  const steps = [...random.shuffle(failures), OK];
  const { promise } = start(clock, steps, policy, Math.random);
  const openDuringSleep: string[] = [];
  const run = await drive(clock, promise, () => {
    const open = spansNamed(otel, CLIENT).filter((s) => !s.ended).length;
    if (open > 0) openDuringSleep.push(`${open} open`);
  });
  expectAnswered(run);
  verify(
    openDuringSleep,
    'the backoff sleeps during which an attempt span was still open (an attempt span ends as soon as its answer arrives, before the backoff sleep: the sleep is the gap between two sibling spans)',
  ).hasCount(0, 'sleep');
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
    'one CLIENT span per attempt under the get-rate span, and nothing else; http.request.resend_count is absent on the first attempt and counts the resends (1, 2, …) after it',
  );
  const parents = spansNamed(otel, PARENT);
  verify(parents, 'one call to getRate').hasCount(1, `"${PARENT}" span`);
  verify(parents[0]?.status, `the status of "${PARENT}", which succeeded in the end (not ERROR, whatever its attempts went through)`).isNot('error');
  verify(spansNamed(otel, CLIENT), `the attempts of one call (${steps.map(describeStep).join(', ')})`).hasCount(steps.length, `"${CLIENT}" span`);
});

it('traces exhaustion: the parent is ERROR with the error.type of the last attempt', async () => {
  for (const last of [{ kind: 'status', status: random.pick(RETRYABLE_STATUSES) } as Step, networkStep()]) {
    otel.reset();
    const clock = new FakeClock(random.int(0, 1_000_000));
    const policy = randomPolicy();
    const steps = [...Array.from({ length: policy.maxAttempts - 1 }, retryableStep), last];
    const { promise } = start(clock, steps, policy, Math.random);
    const run = await drive(clock, promise);
    expectAnswered(run);
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
      `attempts exhausted (${steps.map(describeStep).join(', ')}): get-rate failed, and its error.type is the last attempt's (${errorTypeOf(last)})`,
    );
  }
});

it('traces a non-retryable answer: one CLIENT span, and the parent ERROR with that status as error.type', async () => {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const final: Step = { kind: 'status', status: random.pick(FINAL_STATUSES) };
  const { promise } = start(clock, [final, OK], randomPolicy(), Math.random);
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

// ---------------------------------------------------------------------------------------------
// The rig: a scripted rates service on a fake clock, and a driver that fires its timers.
// ---------------------------------------------------------------------------------------------

/** What the rates service does on one call. */
type Step =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfterS?: number }
  | { kind: 'network'; name: string };

const OK: Step = { kind: 'ok' };

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
  if (step.kind === 'network') return `a network error (${step.name})`;
  return step.retryAfterS === undefined ? String(step.status) : `${step.status} (Retry-After: ${step.retryAfterS})`;
}

function networkStep(): Step {
  return { kind: 'network', name: random.pick(NETWORK_ERRORS) };
}

function retryableStep(): Step {
  return random.pick([true, true, false]) ? { kind: 'status', status: random.pick(RETRYABLE_STATUSES) } : networkStep();
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
    if (step.kind === 'ok' || !isRetryable(step) || n + 1 >= maxAttempts) return { attempts: n + 1, last: step };
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
      ? 'it kept sleeping and calling again after 100 waits (does it stop after maxAttempts attempts?)'
      : 'it was waiting on something the checks do not control, with no timer left on env.clock (wait only with env.clock.sleep)';
  expectThat(run.settled, 'getRate answers, once the attempts it may make are made', why);
}

/** Expects the run to resolve with the rate, after `what` happened. */
function expectResolvedWith(run: Run<unknown>, rate: Rate, what: string): void {
  expectThat(!run.rejected, `${what}: getRate resolves with the rate`, `it rejected with ${show(run.error)}`);
  verify(run.value, `${what}: what getRate resolved with`).equals(rate);
}

/** Expects the run to end with the failure of `step`: an HttpStatusError with its status, or the network error itself. */
function expectFailedWith(run: Run<unknown>, step: Step, service: Service, attempts: number): void {
  const what = `the last attempt met ${describeStep(step)}`;
  expectThat(run.rejected, `${what}: getRate rejects`, `it resolved with ${show(run.value)}`);
  if (step.kind === 'status') {
    verify(run.error, `${what}: what getRate rejected with`).isInstanceOf(HttpStatusError);
    verify((run.error as HttpStatusError).status, `${what}: the status of the HttpStatusError getRate rejected with`).is(step.status);
  } else {
    const network = service.networkErrors[attempts - 1];
    expectThat(run.error === network, `${what}: getRate rejects with that network error itself (${show(network)})`, `it rejected with ${show(run.error)}`);
  }
}

function start(clock: FakeClock, steps: readonly Step[], policy: RetryPolicy, randomSource: () => number) {
  const service = rates(clock, steps);
  const promise = getRate(service.currency, { get: service.call }, policy, { clock, random: randomSource });
  return { service, promise };
}

/** The CLIENT span of attempt n (0 for the first) that met `step`. */
function attemptShape(n: number, step: Step): SpanShape {
  const resend = { 'http.request.resend_count': n === 0 ? absent() : n };
  if (step.kind === 'ok') {
    return { name: CLIENT, kind: 'client', status: 'unset', attributes: { ...resend, 'http.response.status_code': 200, 'error.type': absent() } };
  }
  const answered: Record<string, number> = step.kind === 'status' ? { 'http.response.status_code': step.status } : {};
  return { name: CLIENT, kind: 'client', status: 'error', attributes: { ...resend, ...answered, 'error.type': errorTypeOf(step) } };
}

/** A number short enough to read in a message. */
const short = (x: number): number => Number(x.toPrecision(6));

const describePolicy = (p: RetryPolicy): string => `maxAttempts ${p.maxAttempts}, base ${p.baseDelayMs} ms, cap ${p.maxDelayMs} ms`;

import fc from 'fast-check';
import { expect, it } from 'vitest';
import { absent, expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanNode, type SpanShape } from '#checks';
import { FakeClock, FakeDownstream, flushMicrotasks, type Deferred } from '#kit';
import { CircuitBreaker, CircuitOpenError, type BreakerState } from '#target/02-resilience/03-circuit-breaker/breaker.ts';

const otel = useTracing();

const TRANSITION = 'circuit_breaker.transition';
const STATE = 'app.circuit_breaker.state';

// ---------------------------------------------------------------------------------------------
// The rig: a breaker in front of a fake downstream that makes a CLIENT span per call.
// ---------------------------------------------------------------------------------------------

type Reply = 'ok' | 'fail' | 'hold';

interface Outcome {
  /** How the call through the breaker ended. `rejected` means it rejected with a CircuitOpenError. */
  result: 'succeeded' | 'failed' | 'rejected' | 'other';
  /** Whether the breaker called the operation. */
  called: boolean;
  value?: unknown;
  error?: unknown;
}

interface Started {
  readonly outcome: Promise<Outcome>;
  /** Settled (in either way) by now. */
  readonly settled: () => boolean;
  readonly called: () => boolean;
  /** For a held call, once the breaker called the downstream: settle it to end the call. */
  readonly gate: () => Deferred<string> | undefined;
  /** The error a failing reply rejects with. */
  readonly error: Error;
  /** The value a succeeding reply resolves with. */
  readonly value: string;
}

function downstreamError(): Error {
  const error = new Error(`upstream ${random.id('req-')} failed after ${random.int(10, 900)} ms`);
  error.name = random.pick(['TimeoutError', 'ConnectionResetError', 'ServiceUnavailableError', 'BadGatewayError']);
  return error;
}

class Rig {
  readonly name = random.pick(['inventory', 'payments', 'shipping', 'pricing', 'search', 'profiles']);
  readonly threshold: number;
  readonly coolDownMs: number;
  readonly clock = new FakeClock(random.int(1_000, 1_000_000));
  readonly downstream: FakeDownstream<string>;
  readonly breaker: CircuitBreaker;
  private readonly parentSpans: boolean;
  private count = 0;

  constructor(options: { threshold?: number; coolDownMs?: number; parentSpans?: boolean } = {}) {
    this.threshold = options.threshold ?? random.int(2, 5);
    this.coolDownMs = options.coolDownMs ?? random.int(5, 60) * 100;
    this.downstream = new FakeDownstream<string>({ spanName: this.clientSpan });
    this.breaker = new CircuitBreaker({ name: this.name, failureThreshold: this.threshold, coolDownMs: this.coolDownMs, clock: this.clock });
    this.parentSpans = options.parentSpans ?? false;
  }

  get spanName(): string {
    return `circuit_breaker ${this.name}`;
  }

  get clientSpan(): string {
    return `GET /${this.name}`;
  }

  /**
   * Starts one call through the breaker. If the breaker calls the operation, the downstream
   * answers `reply`. With parentSpans, the call runs inside a span `request #<n>` of the checker's.
   */
  start(reply: Reply): Started {
    const error = downstreamError();
    const value = random.id('stock-');
    let called = false;
    let settled = false;
    let gate: Deferred<string> | undefined;
    const operation = (): Promise<string> => {
      called = true;
      if (reply === 'ok') this.downstream.succeedNext(value);
      else if (reply === 'fail') this.downstream.failNext(error);
      else gate = this.downstream.holdNext();
      return this.downstream.call();
    };
    const run = (): Promise<string> => this.breaker.call(operation);
    const index = this.count++;
    const call = this.parentSpans
      ? otel.tracer().startActiveSpan(`request #${index}`, async (span) => {
          try {
            return await run();
          } finally {
            span.end();
          }
        })
      : run();
    const outcome = call.then(
      (got): Outcome => ({ result: 'succeeded', called, value: got }),
      (thrown: unknown): Outcome => ({ result: thrown instanceof CircuitOpenError ? 'rejected' : thrown === error ? 'failed' : 'other', called, error: thrown }),
    );
    void outcome.then(() => (settled = true));
    return { outcome, settled: () => settled, called: () => called, gate: () => gate, error, value };
  }

  /** One call, awaited. */
  call(reply: 'ok' | 'fail'): Promise<Outcome> {
    return this.start(reply).outcome;
  }

  /** Opens the breaker with `threshold` failures in a row. */
  async open(): Promise<void> {
    for (let i = 0; i < this.threshold; i++) await this.call('fail');
  }
}

const RESULT_WORDS = { succeeded: 'succeeded', failed: 'failed with the downstream\'s error', rejected: 'was rejected with a CircuitOpenError' } as const;

function describeOutcome(outcome: Pick<Outcome, 'result' | 'called' | 'error'>): string {
  const called = outcome.called ? 'the downstream was called' : 'the downstream was not called';
  if (outcome.result === 'other') {
    const error = outcome.error;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return `it rejected with ${what}, which is neither the downstream's error nor a CircuitOpenError, and ${called}`;
  }
  return `it ${RESULT_WORDS[outcome.result]}, and ${called}`;
}

function expectOutcome(outcome: Outcome, expected: Pick<Outcome, 'result' | 'called'>, what: string): void {
  expect({ result: outcome.result, called: outcome.called }, `${what}: expected: ${describeOutcome(expected)}. Instead, ${describeOutcome(outcome)}`).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('lets calls through while closed, passing results and errors on; only N consecutive failures open it', async () => {
  const rig = new Rig();
  const n = rig.threshold;
  const ok = rig.start('ok');
  const first = await ok.outcome;
  expectOutcome(first, { result: 'succeeded', called: true }, 'a call to a closed breaker');
  expect(first.value, 'the call resolves with what the downstream answered').toBe(ok.value);
  const failing = rig.start('fail');
  const failed = await failing.outcome;
  expect(failed.error, 'a failed call rejects with the downstream\'s own error, unchanged').toBe(failing.error);
  for (let i = 1; i < n - 1; i++) await rig.call('fail');
  expectOutcome(await rig.call('ok'), { result: 'succeeded', called: true }, `after ${n - 1} failures (threshold ${n}), the breaker is still closed`);
  for (let i = 0; i < n - 1; i++) {
    expectOutcome(await rig.call('fail'), { result: 'failed', called: true }, `a success resets the count: failure ${i + 1} after it must still reach the downstream (threshold ${n})`);
  }
  expectOutcome(await rig.call('fail'), { result: 'failed', called: true }, `failure ${n} in a row still reaches the downstream, and opens the breaker`);
  expectOutcome(await rig.call('ok'), { result: 'rejected', called: false }, `after ${n} consecutive failures (threshold ${n}), the next call`);
});

it('opens after N consecutive failures and then rejects fast with a CircuitOpenError, without calling the downstream', async () => {
  const rig = new Rig();
  await rig.open();
  const calls = rig.downstream.calls.length;
  const attempts = random.int(3, 8);
  for (let i = 0; i < attempts; i++) {
    const started = rig.start('ok');
    await flushMicrotasks();
    expect(started.settled(), 'an open breaker answers at once: the rejection must not wait for anything').toBe(true);
    const outcome = await started.outcome;
    expectOutcome(outcome, { result: 'rejected', called: false }, `call ${i + 1} while open (threshold ${rig.threshold}, cool-down ${rig.coolDownMs} ms)`);
    expect(outcome.error, 'the rejection is a CircuitOpenError').toBeInstanceOf(CircuitOpenError);
    await rig.clock.advance(Math.floor((rig.coolDownMs - 1) / attempts));
  }
  expect(rig.downstream.calls.length, 'while open, the downstream gets no calls at all').toBe(calls);
});

it('after the cool-down lets exactly one trial call through, and closes again when it succeeds', async () => {
  const rig = new Rig();
  await rig.open();
  await rig.clock.advance(rig.coolDownMs - 1);
  expectOutcome(await rig.call('ok'), { result: 'rejected', called: false }, `1 ms before the cool-down of ${rig.coolDownMs} ms is over`);
  await rig.clock.advance(1);
  expectOutcome(await rig.call('ok'), { result: 'succeeded', called: true }, `the first call once the cool-down of ${rig.coolDownMs} ms is over is the trial`);
  const after = random.int(2, 5);
  for (let i = 0; i < after; i++) {
    expectOutcome(await rig.call('ok'), { result: 'succeeded', called: true }, `call ${i + 1} after the successful trial (closed again)`);
  }
  for (let i = 0; i < rig.threshold - 1; i++) {
    expectOutcome(await rig.call('fail'), { result: 'failed', called: true }, 'closing starts the failure count from zero');
  }
  expectOutcome(await rig.call('ok'), { result: 'succeeded', called: true }, `after ${rig.threshold - 1} new failures (threshold ${rig.threshold}), the breaker is still closed`);
});

it('rejects the calls that arrive while the trial is in flight, and reopens with a fresh cool-down when the trial fails', async () => {
  const rig = new Rig();
  await rig.open();
  await rig.clock.advance(rig.coolDownMs + random.int(0, 3) * 100);
  const trial = rig.start('hold');
  await flushMicrotasks();
  expect(trial.called(), 'the first call after the cool-down is the trial: it reaches the downstream').toBe(true);
  const during: Started[] = [];
  for (let i = random.int(1, 4); i > 0; i--) during.push(rig.start('ok'));
  await rig.clock.advance(random.int(1, 3 * rig.coolDownMs));
  for (let i = random.int(1, 3); i > 0; i--) during.push(rig.start('ok'));
  await flushMicrotasks();
  for (const [i, call] of during.entries()) {
    expect(call.settled(), `call ${i + 1} during the trial is rejected at once, not held until the trial ends`).toBe(true);
    expectOutcome(await call.outcome, { result: 'rejected', called: false }, `call ${i + 1} that arrived while the trial was in flight (half-open lets exactly one call through, however long it takes)`);
  }
  const gate = trial.gate();
  if (!gate) throw new Error('the trial call is held by the downstream');
  gate.reject(trial.error);
  expectOutcome(await trial.outcome, { result: 'failed', called: true }, 'the trial');
  await rig.clock.advance(rig.coolDownMs - 1);
  expectOutcome(await rig.call('ok'), { result: 'rejected', called: false }, `the trial failed: the breaker is open again, for a fresh cool-down of ${rig.coolDownMs} ms counted from the trial's failure; 1 ms before its end, a call`);
  await rig.clock.advance(1);
  expectOutcome(await rig.call('ok'), { result: 'succeeded', called: true }, `once the fresh cool-down is over, the next call is a new trial`);
  expectOutcome(await rig.call('ok'), { result: 'succeeded', called: true }, 'after that trial succeeded, the breaker is closed');
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function callShape(rig: Rig, state: BreakerState, extra: Omit<SpanShape, 'name'> = {}): SpanShape {
  return {
    name: rig.spanName,
    kind: 'internal',
    ...extra,
    attributes: { 'app.circuit_breaker.name': rig.name, [STATE]: state, ...extra.attributes },
  };
}

function transition(from: BreakerState, to: BreakerState): { name: string; attributes: Record<string, string> } {
  return { name: TRANSITION, attributes: { from, to } };
}

function transitionsOf(span: SpanNode): string[] {
  return span.events.filter((e) => e.name === TRANSITION).map((e) => `${String(e.attributes.from)} → ${String(e.attributes.to)}`);
}

it('gives every call a span with the state it arrived in, and the downstream call as its CLIENT child', async () => {
  const rig = new Rig();
  const calls = random.int(1, 4);
  for (let i = 0; i < calls; i++) await rig.call('ok');
  expectAllEnded(otel, 'every call span ends');
  expectTrace(
    otel,
    callShape(rig, 'closed', {
      status: 'unset',
      attributes: { 'error.type': absent() },
      children: [{ name: rig.clientSpan, kind: 'client' }],
    }),
    'a call through a closed breaker: an INTERNAL span "circuit_breaker <name>" with app.circuit_breaker.state="closed", the downstream span inside it',
  );
  expect(spansNamed(otel, rig.spanName).length, `one "${rig.spanName}" span per call`).toBe(calls);
});

it('records closed → open as an event on the span of the failure that opened the breaker', async () => {
  const rig = new Rig();
  let last: Error | undefined;
  for (let i = 0; i < rig.threshold; i++) {
    const failing = rig.start('fail');
    last = failing.error;
    await failing.outcome;
  }
  expectTrace(
    otel,
    callShape(rig, 'closed', {
      status: 'error',
      attributes: { 'error.type': last?.name ?? '' },
      events: [transition('closed', 'open')],
      children: [{ name: rig.clientSpan, kind: 'client', status: 'error' }],
    }),
    `failure ${rig.threshold} in a row (the threshold) arrived while closed, failed (ERROR, error.type = the error's name), and opened the breaker: a "${TRANSITION}" event from="closed" to="open" on its span`,
  );
  const spans = spansNamed(otel, rig.spanName);
  expect(spans.length, `one "${rig.spanName}" span per call: ${rig.threshold} failures`).toBe(rig.threshold);
  expect(
    spans.filter((s) => transitionsOf(s).length > 0).map(transitionsOf),
    'only the failure that opened the breaker records a transition; the failures before it do not',
  ).toEqual([['closed → open']]);
});

it('marks a rejected call ERROR with error.type "circuit_open", and it has no downstream span', async () => {
  const rig = new Rig();
  await rig.open();
  const rejected = random.int(1, 4);
  for (let i = 0; i < rejected; i++) await rig.call('ok');
  expectAllEnded(otel, 'a rejected call\'s span ends too');
  expectTrace(
    otel,
    callShape(rig, 'open', { status: 'error', attributes: { 'error.type': 'circuit_open' }, children: [], exact: true }),
    'a call rejected by an open breaker: state "open", ERROR with error.type="circuit_open", and no CLIENT child, because the downstream was never called',
  );
  const spans = spansNamed(otel, rig.spanName);
  expect(spans.length, `one "${rig.spanName}" span per call, rejected calls included`).toBe(rig.threshold + rejected);
  expect(spansNamed(otel, rig.clientSpan).length, 'a CLIENT span only for the calls that reached the downstream').toBe(rig.threshold);
  expect(
    spans.slice(rig.threshold).flatMap((s) => transitionsOf(s)),
    'a rejection changes nothing: no transition events on rejected calls',
  ).toEqual([]);
});

it('records open → half_open and then half_open → closed on the span of a successful trial', async () => {
  const rig = new Rig();
  await rig.open();
  await rig.clock.advance(rig.coolDownMs + random.int(0, 10) * 50);
  await rig.call('ok');
  expectTrace(
    otel,
    callShape(rig, 'half_open', {
      status: 'unset',
      attributes: { 'error.type': absent() },
      events: [transition('open', 'half_open'), transition('half_open', 'closed')],
      children: [{ name: rig.clientSpan, kind: 'client' }],
    }),
    'the trial call moved the breaker to half_open when it arrived, and closed it when it succeeded: its state is "half_open" and it carries both transitions, in order',
  );
  await rig.call('ok');
  expectTrace(
    otel,
    callShape(rig, 'closed', { status: 'unset', children: [{ name: rig.clientSpan, kind: 'client' }] }),
    'the call after a successful trial arrives in state "closed"',
  );
});

it('records half_open → open on a failed trial, and rejects the calls during the trial with state "half_open"', async () => {
  const rig = new Rig();
  await rig.open();
  await rig.clock.advance(rig.coolDownMs);
  const trial = rig.start('hold');
  await flushMicrotasks();
  const during = rig.start('ok');
  await during.outcome;
  trial.gate()?.reject(trial.error);
  await trial.outcome;
  expectAllEnded(otel, 'every call span ends');
  expectTrace(
    otel,
    callShape(rig, 'half_open', {
      status: 'error',
      attributes: { 'error.type': trial.error.name },
      events: [transition('open', 'half_open'), transition('half_open', 'open')],
      children: [{ name: rig.clientSpan, kind: 'client', status: 'error' }],
    }),
    'a failed trial: state "half_open", ERROR with the error\'s name, and the transitions open → half_open then half_open → open',
  );
  expectTrace(
    otel,
    callShape(rig, 'half_open', {
      status: 'error',
      attributes: { 'error.type': 'circuit_open' },
      children: [],
      exact: true,
    }),
    'a call that arrives while the trial is in flight is rejected: state "half_open", ERROR with error.type="circuit_open", no downstream span',
  );
});

// ---------------------------------------------------------------------------------------------
// The reference state machine, against random sequences
// ---------------------------------------------------------------------------------------------

interface Expected {
  state: BreakerState;
  result: Outcome['result'];
  called: boolean;
  transitions: string[];
}

/** The breaker as the README defines it. */
class Model {
  state: BreakerState = 'closed';
  failures = 0;
  openedAt = 0;
  constructor(
    readonly threshold: number,
    readonly coolDownMs: number,
  ) {}

  /** A call arrives: the state it is handled in, whether it goes through, and the transitions so far. */
  arrive(now: number): { state: BreakerState; admitted: boolean; transitions: string[] } {
    const transitions: string[] = [];
    if (this.state === 'open' && now - this.openedAt >= this.coolDownMs) {
      this.state = 'half_open';
      transitions.push('open → half_open');
      return { state: 'half_open', admitted: true, transitions };
    }
    return { state: this.state, admitted: this.state === 'closed', transitions };
  }

  /** An admitted call's result comes back at `now`: the transitions it causes. */
  settle(arrivedIn: BreakerState, ok: boolean, now: number): string[] {
    if (arrivedIn === 'half_open') {
      this.state = ok ? 'closed' : 'open';
      this.failures = 0;
      if (!ok) this.openedAt = now;
      return [`half_open → ${this.state}`];
    }
    if (ok) {
      this.failures = 0;
      return [];
    }
    this.failures++;
    if (this.failures < this.threshold) return [];
    this.state = 'open';
    this.openedAt = now;
    return ['closed → open'];
  }

  /** Whether the next call would be a trial once the cool-down is over. */
  get open(): boolean {
    return this.state === 'open';
  }
}

type Wait = number | 'the cool-down' | 'the cool-down - 1 ms';
type Step =
  | { kind: 'call'; ok: boolean }
  | { kind: 'wait'; ms: Wait }
  | { kind: 'trial'; ok: boolean; before: number; waitMs: number; after: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    // Two failures for one success, so that breakers open often.
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('call' as const), ok: fc.integer({ min: 0, max: 2 }).map((n) => n === 0) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('wait' as const),
      ms: fc.oneof(fc.constant<Wait>('the cool-down'), fc.constant<Wait>('the cool-down - 1 ms'), fc.integer({ min: 1, max: 8_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('trial' as const),
      ok: fc.boolean(),
      before: fc.integer({ min: 1, max: 3 }),
      waitMs: fc.integer({ min: 0, max: 8_000 }),
      after: fc.integer({ min: 0, max: 2 }),
    }),
  },
);

const scenarioArbitrary = fc.record({
  threshold: fc.integer({ min: 1, max: 4 }),
  coolDownMs: fc.integer({ min: 1, max: 40 }).map((n) => n * 100),
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 30, size: 'medium' }),
});
type Scenario = { threshold: number; coolDownMs: number; steps: Step[] };

class Divergence extends Error {}

/** Compares one call's span (the child of the checker's `request #<n>` span) with what the model expects. */
function spanDifference(rig: Rig, index: number, expected: Expected, downstreamError: Error): string | undefined {
  const request = spansNamed(otel, `request #${index}`)[0];
  if (!request) return `the checker's span "request #${index}" is missing`;
  const own = request.children.filter((s) => s.name === rig.spanName);
  if (own.length !== 1) {
    const names = request.children.map((s) => `"${s.name}"`).join(', ') || 'none';
    return `expected one span "${rig.spanName}" started inside the caller's active span, found ${own.length} (children: ${names})`;
  }
  const span = own[0] as SpanNode;
  if (!span.ended) return `its span "${rig.spanName}" never ended`;
  const state = span.attributes[STATE];
  if (state !== expected.state) return `its span has ${STATE}=${JSON.stringify(state)}, expected "${expected.state}"`;
  const transitions = transitionsOf(span);
  if (transitions.join(', ') !== expected.transitions.join(', ')) {
    return `its span has the "${TRANSITION}" events [${transitions.join(', ')}], expected [${expected.transitions.join(', ')}]`;
  }
  const errorType = span.attributes['error.type'];
  if (expected.result === 'succeeded' && (span.status !== 'unset' || errorType !== undefined)) {
    return `it succeeded, but its span has status ${span.status.toUpperCase()}${errorType === undefined ? '' : ` and error.type=${JSON.stringify(errorType)}`}; expected UNSET, no error.type`;
  }
  const wantType = expected.result === 'rejected' ? 'circuit_open' : downstreamError.name;
  if (expected.result !== 'succeeded' && (span.status !== 'error' || errorType !== wantType)) {
    return `its span has status ${span.status.toUpperCase()} and error.type=${JSON.stringify(errorType)}, expected ERROR and "${wantType}"`;
  }
  const clients = span.children.filter((s) => s.kind === 'client').length;
  if (clients !== (expected.called ? 1 : 0)) {
    return `its span has ${clients} CLIENT child span(s), expected ${expected.called ? 1 : 0}: the downstream span appears only when the downstream is called`;
  }
  return undefined;
}

function describeExpected(expected: Expected): string {
  const transitions = expected.transitions.length > 0 ? `, transitions ${expected.transitions.join(', ')}` : '';
  return `arrives in "${expected.state}", ${expected.result}, downstream ${expected.called ? 'called' : 'not called'}${transitions}`;
}

/** Runs a scenario against the learner's breaker and the model; returns the transcript, throws a Divergence at the first difference. */
async function runScenario(scenario: Scenario, transcript: string[]): Promise<void> {
  otel.reset();
  const rig = new Rig({ threshold: scenario.threshold, coolDownMs: scenario.coolDownMs, parentSpans: true });
  const model = new Model(scenario.threshold, scenario.coolDownMs);
  const t0 = rig.clock.now();
  const at = (): string => `t=${rig.clock.now() - t0}`.padEnd(8);
  let index = 0;

  const check = async (started: Started, expected: Expected, label: string, mustSettleAtOnce: boolean): Promise<void> => {
    const i = index++;
    transcript.push(`  ${at()} ${label.padEnd(42)} → expected: ${describeExpected(expected)}`);
    if (mustSettleAtOnce) {
      await flushMicrotasks();
      if (!started.settled()) throw new Divergence(`call #${i + 1} (${label}) was not rejected at once: it waited for something`);
    }
    const outcome = await started.outcome;
    if (outcome.result !== expected.result || outcome.called !== expected.called) {
      throw new Divergence(`call #${i + 1} (${label}): expected: ${describeOutcome(expected)}. Instead, ${describeOutcome(outcome)}`);
    }
    const difference = spanDifference(rig, i, expected, started.error);
    if (difference) throw new Divergence(`call #${i + 1} (${label}): ${difference}`);
  };

  const plainCall = async (ok: boolean): Promise<void> => {
    const arrival = model.arrive(rig.clock.now());
    const started = rig.start(ok ? 'ok' : 'fail');
    const transitions = [...arrival.transitions, ...(arrival.admitted ? model.settle(arrival.state, ok, rig.clock.now()) : [])];
    const result = !arrival.admitted ? 'rejected' : ok ? 'succeeded' : 'failed';
    await check(started, { state: arrival.state, result, called: arrival.admitted, transitions }, `call, the downstream ${ok ? 'succeeds' : 'fails'}`, !arrival.admitted);
  };

  const advance = async (ms: number, label: string): Promise<void> => {
    transcript.push(`  ${at()} ${label}`);
    await rig.clock.advance(ms);
  };

  for (const step of scenario.steps) {
    if (step.kind === 'call') await plainCall(step.ok);
    else if (step.kind === 'wait') {
      const ms = step.ms === 'the cool-down' ? scenario.coolDownMs : step.ms === 'the cool-down - 1 ms' ? scenario.coolDownMs - 1 : step.ms;
      if (ms > 0) await advance(ms, `wait ${ms} ms`);
    } else if (!model.open) {
      await plainCall(step.ok);
    } else {
      const left = model.openedAt + scenario.coolDownMs - rig.clock.now();
      if (left > 0) await advance(left, `wait ${left} ms, to the end of the cool-down`);
      const arrival = model.arrive(rig.clock.now());
      const trial = rig.start('hold');
      const trialIndex = index++;
      transcript.push(`  ${at()} ${'trial call, held in flight'.padEnd(42)} → expected: arrives in "half_open", downstream called, transitions open → half_open`);
      await flushMicrotasks();
      const gate = trial.gate();
      if (!trial.called() || !gate) {
        const outcome = await trial.outcome;
        throw new Divergence(`call #${trialIndex + 1} (the first call after the cool-down) should be the trial and reach the downstream, but ${describeOutcome(outcome)}`);
      }
      const rejectedDuring = { state: 'half_open' as const, result: 'rejected' as const, called: false, transitions: [] };
      for (let k = 0; k < step.before; k++) await check(rig.start('ok'), rejectedDuring, 'call while the trial is in flight', true);
      if (step.waitMs > 0) await advance(step.waitMs, `wait ${step.waitMs} ms, the trial still in flight`);
      for (let k = 0; k < step.after; k++) await check(rig.start('ok'), rejectedDuring, 'call while the trial is in flight', true);
      transcript.push(`  ${at()} the trial ${step.ok ? 'succeeds' : 'fails'}`);
      if (step.ok) gate.resolve('trial ok');
      else gate.reject(trial.error);
      const transitions = [...arrival.transitions, ...model.settle('half_open', step.ok, rig.clock.now())];
      const expected: Expected = { state: 'half_open', result: step.ok ? 'succeeded' : 'failed', called: true, transitions };
      const outcome = await trial.outcome;
      if (outcome.result !== expected.result) {
        throw new Divergence(`call #${trialIndex + 1} (the trial): expected: ${describeOutcome(expected)}. Instead, ${describeOutcome(outcome)}`);
      }
      const difference = spanDifference(rig, trialIndex, expected, trial.error);
      if (difference) throw new Divergence(`call #${trialIndex + 1} (the trial, ${describeExpected(expected)}): ${difference}`);
    }
  }
}

it('agrees with the reference state machine on random sequences of calls, waits and concurrent calls during trials', async () => {
  const result = await fc.check(
    fc.asyncProperty(scenarioArbitrary, async (scenario) => {
      await runScenario(scenario, []);
    }),
    { numRuns: 50, interruptAfterTimeLimit: 1_500 },
  );
  if (!result.failed) return;
  const [scenario] = result.counterexample ?? [];
  if (!scenario) expect.fail(`the property failed without a counterexample: ${String(result.errorInstance)}`);
  // Run the smallest failing sequence once more, so its traces are the ones shown, and tell its story.
  const transcript: string[] = [];
  let divergence = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  try {
    await runScenario(scenario, transcript);
  } catch (error) {
    divergence = error instanceof Error ? error.message : String(error);
  }
  expect.fail(
    [
      `a breaker with failureThreshold=${scenario.threshold} and coolDownMs=${scenario.coolDownMs} behaved differently from the README's state machine.`,
      'The sequence (times from the first call; each call is traced inside a span "request #<n>" of the checker):',
      ...transcript,
      `First difference: ${divergence}`,
    ].join('\n'),
  );
});

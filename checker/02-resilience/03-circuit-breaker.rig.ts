/**
 * The rig of the circuit-breaker checks: a breaker in front of a fake downstream that makes a
 * CLIENT span per call, calls the checks start and settle one by one, and the README's state
 * machine as a model to compare the learner's breaker with, on scripted and random scenarios.
 * The code under test is handed in by the checker file (the only one that imports #target).
 */
import fc from 'fast-check';
import { fail, random, show, spansNamed, type SpanNode, type TraceHarness } from '#checks';
import { FakeClock, FakeDownstream, flushMicrotasks, type Deferred } from '#kit';
import type { BreakerState, CircuitBreaker, CircuitOpenError } from '#target/02-resilience/03-circuit-breaker/breaker.ts';

export const TRANSITION = 'circuit_breaker.transition';
export const STATE = 'app.circuit_breaker.state';

/** What the checker file hands in: the learner's classes and the harness. */
export interface Target {
  CircuitBreaker: typeof CircuitBreaker;
  CircuitOpenError: typeof CircuitOpenError;
  otel: TraceHarness;
}

export type Reply = 'ok' | 'fail' | 'hold';

export interface Outcome {
  /** How the call through the breaker ended. `rejected` means it rejected with a CircuitOpenError. */
  result: 'succeeded' | 'failed' | 'rejected' | 'other';
  /** Whether the breaker called the operation. */
  called: boolean;
  value?: unknown;
  error?: unknown;
}

export interface Started {
  /** The call's number: its span is the child of the checker's span `request #<index>`. */
  readonly index: number;
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

/** A breaker on a fake clock, in front of a fake downstream; every call runs inside a span `request #<n>` of the checker's. */
export class Rig {
  readonly name = random.pick(['inventory', 'payments', 'shipping', 'pricing', 'search', 'profiles']);
  readonly threshold: number;
  readonly coolDownMs: number;
  readonly clock = new FakeClock(random.int(1_000, 1_000_000));
  readonly downstream: FakeDownstream<string>;
  readonly breaker: CircuitBreaker;
  private count = 0;

  constructor(
    private readonly target: Target,
    options: { threshold?: number; coolDownMs?: number } = {},
  ) {
    this.threshold = options.threshold ?? random.int(2, 5);
    this.coolDownMs = options.coolDownMs ?? random.int(5, 60) * 100;
    this.downstream = new FakeDownstream<string>({ spanName: this.clientSpan });
    this.breaker = new target.CircuitBreaker({ name: this.name, failureThreshold: this.threshold, coolDownMs: this.coolDownMs, clock: this.clock });
  }

  get spanName(): string {
    return `circuit_breaker ${this.name}`;
  }

  get clientSpan(): string {
    return `GET /${this.name}`;
  }

  /** Starts one call through the breaker. If the breaker calls the operation, the downstream answers `reply`. */
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
    const index = this.count++;
    const call = this.target.otel.tracer().startActiveSpan(`request #${index}`, async (span) => {
      try {
        return await this.breaker.call(operation);
      } finally {
        span.end();
      }
    });
    const outcome = call.then(
      (got): Outcome => ({ result: 'succeeded', called, value: got }),
      (thrown: unknown): Outcome => ({
        result: thrown instanceof this.target.CircuitOpenError ? 'rejected' : thrown === error ? 'failed' : 'other',
        called,
        error: thrown,
      }),
    );
    void outcome.then(() => (settled = true));
    return { index, outcome, settled: () => settled, called: () => called, gate: () => gate, error, value };
  }

  /** One call, awaited. */
  async call(reply: 'ok' | 'fail'): Promise<Outcome & { index: number; started: Started }> {
    const started = this.start(reply);
    return { ...(await started.outcome), index: started.index, started };
  }

  /** Opens the breaker with `threshold` failures in a row; resolves with the last one (the one that opened it). */
  async open(): Promise<Started> {
    for (let i = 0; i < this.threshold - 1; i++) await this.call('fail');
    const last = this.start('fail');
    await last.outcome;
    return last;
  }
}

const RESULT_WORDS = { succeeded: 'succeeded', failed: 'failed with the downstream\'s error', rejected: 'was rejected with a CircuitOpenError' } as const;

export function describeOutcome(outcome: Pick<Outcome, 'result' | 'called' | 'error'>): string {
  const called = outcome.called ? 'the downstream was called' : 'the downstream was not called';
  if (outcome.result === 'other') {
    return `it rejected with ${show(outcome.error)}, which is neither the downstream's error nor a CircuitOpenError, and ${called}`;
  }
  return `it ${RESULT_WORDS[outcome.result]}, and ${called}`;
}

/** Fails unless the call ended as expected (result and whether the downstream was called). */
export function expectOutcome(outcome: Outcome, expected: Pick<Outcome, 'result' | 'called'>, what: string): void {
  if (outcome.result === expected.result && outcome.called === expected.called) return;
  fail(`${what}: expected: ${describeOutcome(expected)}. Instead, ${describeOutcome(outcome)}`);
}

export function transitionsOf(span: SpanNode): string[] {
  return span.events.filter((e) => e.name === TRANSITION).map((e) => `${String(e.attributes.from)} → ${String(e.attributes.to)}`);
}

// ---------------------------------------------------------------------------------------------
// The README's state machine, and scenarios played against it and the learner's breaker at once.
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
    if (this.state === 'open' && now - this.openedAt >= this.coolDownMs) {
      this.state = 'half_open';
      return { state: 'half_open', admitted: true, transitions: ['open → half_open'] };
    }
    return { state: this.state, admitted: this.state === 'closed', transitions: [] };
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
}

export type Wait = number | 'the cool-down' | 'the cool-down - 1 ms';
export type Step =
  | { kind: 'call'; ok: boolean }
  | { kind: 'wait'; ms: Wait }
  /** When the breaker is open: wait out the cool-down, hold the trial in flight, send calls before and after a wait, then settle it. */
  | { kind: 'trial'; ok: boolean; before: number; waitMs: number; after: number };

export interface Scenario {
  threshold: number;
  coolDownMs: number;
  steps: Step[];
}

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

export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  threshold: fc.integer({ min: 1, max: 4 }),
  coolDownMs: fc.integer({ min: 1, max: 40 }).map((n) => n * 100),
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 30, size: 'medium' }),
});

const call = (ok: boolean): Step => ({ kind: 'call', ok });
const wait = (ms: Wait): Step => ({ kind: 'wait', ms });
const trial = (ok: boolean, before: number, waitMs: number, after: number): Step => ({ kind: 'trial', ok, before, waitMs, after });

/** Scenarios that run first, every time: the edges of every rule. */
export const EDGE_SCENARIOS: Scenario[] = [
  // A threshold of 1: one failure opens it; 1 ms before the cool-down's end still open; the trial at exactly its end.
  { threshold: 1, coolDownMs: 300, steps: [call(false), call(true), wait('the cool-down - 1 ms'), call(true), wait(1), call(true), call(true)] },
  // A success between failures starts the count again; a failed trial held in flight, calls rejected during it, a fresh cool-down.
  {
    threshold: 3,
    coolDownMs: 500,
    steps: [call(false), call(false), call(true), call(false), call(false), call(true), call(false), call(false), call(false), trial(false, 2, 700, 1), wait('the cool-down - 1 ms'), call(true), wait(1), trial(true, 1, 0, 0), call(false), call(true)],
  },
  // A trial that succeeds after a long flight; the count starts from zero once closed again.
  { threshold: 2, coolDownMs: 1_000, steps: [call(false), call(false), wait('the cool-down'), trial(true, 1, 2_500, 2), call(false), call(true), call(false), call(false), call(true)] },
];

export function describeScenario(scenario: Scenario): string {
  return `failureThreshold=${scenario.threshold}, coolDownMs=${scenario.coolDownMs}, ${scenario.steps.length} steps`;
}

function describeExpected(expected: Expected): string {
  const transitions = expected.transitions.length > 0 ? `, transitions ${expected.transitions.join(', ')}` : '';
  return `arrives in "${expected.state}", ${expected.result}, downstream ${expected.called ? 'called' : 'not called'}${transitions}`;
}

/** Compares one call's span (the child of the checker's `request #<n>` span) with what the model expects. */
function spanDifference(otel: TraceHarness, rig: Rig, index: number, expected: Expected, downstreamFailure: Error): string | undefined {
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
  if (state !== expected.state) return `its span has ${STATE}=${show(state)}, expected "${expected.state}"`;
  const transitions = transitionsOf(span);
  if (transitions.join(', ') !== expected.transitions.join(', ')) {
    return `its span has the "${TRANSITION}" events [${transitions.join(', ')}], expected [${expected.transitions.join(', ')}]`;
  }
  const errorType = span.attributes['error.type'];
  if (expected.result === 'succeeded' && (span.status !== 'unset' || errorType !== undefined)) {
    return `it succeeded, but its span has status ${span.status.toUpperCase()}${errorType === undefined ? '' : ` and error.type=${show(errorType)}`}; expected UNSET, no error.type`;
  }
  const wantType = expected.result === 'rejected' ? 'circuit_open' : downstreamFailure.name;
  if (expected.result !== 'succeeded' && (span.status !== 'error' || errorType !== wantType)) {
    return `its span has status ${span.status.toUpperCase()} and error.type=${show(errorType)}, expected ERROR and "${wantType}"`;
  }
  const clients = span.children.filter((s) => s.kind === 'client').length;
  if (clients !== (expected.called ? 1 : 0)) {
    return `its span has ${clients} CLIENT child span(s), expected ${expected.called ? 1 : 0}: the downstream span appears only when the downstream is called`;
  }
  return undefined;
}

/**
 * Plays a scenario on the learner's breaker and on the model at once, writing down what happens.
 * At the first difference it fails the check with the whole story so far.
 */
export async function runScenario(target: Target, scenario: Scenario): Promise<void> {
  const { otel } = target;
  // Each scenario reads its own spans: `request #<n>` numbers start again with every rig.
  otel.reset();
  const rig = new Rig(target, { threshold: scenario.threshold, coolDownMs: scenario.coolDownMs });
  const model = new Model(scenario.threshold, scenario.coolDownMs);
  const transcript: string[] = [];
  const t0 = rig.clock.now();
  const at = (): string => `t=${rig.clock.now() - t0}`.padEnd(8);
  const diverged = (difference: string): never =>
    fail(
      [
        `a breaker with failureThreshold=${scenario.threshold} and coolDownMs=${scenario.coolDownMs} behaved differently from the README's state machine.`,
        'The sequence (times from the first call; each call is traced inside a span "request #<n>" of the checker):',
        ...transcript,
        `First difference: ${difference}`,
      ].join('\n'),
    );

  const check = async (started: Started, expected: Expected, label: string, mustSettleAtOnce: boolean): Promise<void> => {
    transcript.push(`  ${at()} ${`call #${started.index + 1}: ${label}`.padEnd(50)} → expected: ${describeExpected(expected)}`);
    if (mustSettleAtOnce) {
      await flushMicrotasks();
      if (!started.settled()) diverged(`call #${started.index + 1} (${label}) was not rejected at once: it waited for something`);
    }
    const outcome = await started.outcome;
    if (outcome.result !== expected.result || outcome.called !== expected.called) {
      diverged(`call #${started.index + 1} (${label}): expected: ${describeOutcome(expected)}. Instead, ${describeOutcome(outcome)}`);
    }
    const difference = spanDifference(otel, rig, started.index, expected, started.error);
    if (difference) diverged(`call #${started.index + 1} (${label}): ${difference}`);
  };

  const plainCall = async (ok: boolean): Promise<void> => {
    const arrival = model.arrive(rig.clock.now());
    const started = rig.start(ok ? 'ok' : 'fail');
    const transitions = [...arrival.transitions, ...(arrival.admitted ? model.settle(arrival.state, ok, rig.clock.now()) : [])];
    const result = !arrival.admitted ? 'rejected' : ok ? 'succeeded' : 'failed';
    await check(started, { state: arrival.state, result, called: arrival.admitted, transitions }, `the downstream ${ok ? 'succeeds' : 'fails'}`, !arrival.admitted);
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
    } else if (model.state !== 'open') {
      await plainCall(step.ok);
    } else {
      const left = model.openedAt + scenario.coolDownMs - rig.clock.now();
      if (left > 0) await advance(left, `wait ${left} ms, to the end of the cool-down`);
      const arrival = model.arrive(rig.clock.now());
      const trialCall = rig.start('hold');
      transcript.push(`  ${at()} ${`call #${trialCall.index + 1}: the trial, held in flight`.padEnd(50)} → expected: arrives in "half_open", downstream called, transitions open → half_open`);
      await flushMicrotasks();
      const gate = trialCall.gate();
      if (!trialCall.called() || !gate) {
        diverged(`call #${trialCall.index + 1} (the first call once the cool-down is over) should be the trial and reach the downstream, but ${describeOutcome(await trialCall.outcome)}`);
        return;
      }
      const rejectedDuring: Expected = { state: 'half_open', result: 'rejected', called: false, transitions: [] };
      for (let k = 0; k < step.before; k++) await check(rig.start('ok'), rejectedDuring, 'a call while the trial is in flight', true);
      if (step.waitMs > 0) await advance(step.waitMs, `wait ${step.waitMs} ms, the trial still in flight`);
      for (let k = 0; k < step.after; k++) await check(rig.start('ok'), rejectedDuring, 'a call while the trial is in flight', true);
      transcript.push(`  ${at()} the trial ${step.ok ? 'succeeds' : 'fails'}`);
      if (step.ok) gate.resolve('trial ok');
      else gate.reject(trialCall.error);
      const transitions = [...arrival.transitions, ...model.settle('half_open', step.ok, rig.clock.now())];
      const expected: Expected = { state: 'half_open', result: step.ok ? 'succeeded' : 'failed', called: true, transitions };
      const outcome = await trialCall.outcome;
      if (outcome.result !== expected.result) {
        diverged(`call #${trialCall.index + 1} (the trial): expected: ${describeOutcome(expected)}. Instead, ${describeOutcome(outcome)}`);
      }
      const difference = spanDifference(otel, rig, trialCall.index, expected, trialCall.error);
      if (difference) diverged(`call #${trialCall.index + 1} (the trial, ${describeExpected(expected)}): ${difference}`);
    }
  }
}

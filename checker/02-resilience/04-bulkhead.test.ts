import { expect, it } from 'vitest';
import { absent, expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanShape } from '#checks';
import { ConcurrencyProbe, deferred, FakeClock, flushMicrotasks, type Deferred } from '#kit';
import {
  ATTR_BULKHEAD_QUEUE_WAIT_MS,
  Bulkhead,
  BulkheadFullError,
} from '#target/02-resilience/04-bulkhead/bulkhead.ts';

const otel = useTracing();

const QUEUE_WAIT = 'app.bulkhead.queue_wait_ms';
const CALL = 'test.call';

/** One call the checks sent through the bulkhead, and what became of it. */
interface Call {
  label: string;
  arrivedAt: number;
  /** When the bulkhead called the work, on the fake clock. */
  startedAt: number | undefined;
  workCalls: number;
  gate: Deferred<string>;
  /** What the work resolves with, once the check let it succeed. */
  result: string | undefined;
  /** The error the work fails with, when the check decided it fails. */
  failure: Error | undefined;
  outcome: 'pending' | 'resolved' | 'rejected';
  value: unknown;
  error: unknown;
}

/** What the model of a correct bulkhead says happened to each call. */
type Fate = 'ran' | 'queued' | 'rejected';

function workError(): Error {
  const error = new Error(`downstream answered ${random.int(500, 504)} for order ${random.id()}`);
  error.name = random.pick(['DownstreamError', 'PaymentDeclinedError', 'ConnectionResetError']);
  return error;
}

/**
 * A bulkhead on a fake clock with calls the check controls: every call's work is tracked by a
 * ConcurrencyProbe, makes a `work` span, and runs until the check settles its gate. Every call is
 * sent from a root span `call` of its own, so each call's trace can be found by its label.
 */
function setup(maxConcurrent: number, maxQueue: number) {
  const name = random.pick(['payments', 'inventory', 'search', 'pricing', 'shipping']);
  const clock = new FakeClock(random.int(1_000, 50_000));
  const probe = new ConcurrencyProbe();
  const bulkhead = new Bulkhead({ name, maxConcurrent, maxQueue, clock });
  const tracer = otel.tracer('tracecraft.checker');
  const calls: Call[] = [];

  function send(): Call {
    const label = `call-${calls.length + 1}`;
    const call: Call = {
      label,
      arrivedAt: clock.now(),
      startedAt: undefined,
      workCalls: 0,
      gate: deferred<string>(),
      result: undefined,
      failure: undefined,
      outcome: 'pending',
      value: undefined,
      error: undefined,
    };
    calls.push(call);
    // A gate the check fails is awaited by the work, if it ever ran: never an unhandled rejection of the check's own.
    call.gate.promise.catch(() => undefined);
    const work = (): Promise<string> => {
      call.workCalls++;
      call.startedAt = clock.now();
      return probe.track(label, () =>
        tracer.startActiveSpan('work', { attributes: { [CALL]: label } }, (span) => call.gate.promise.finally(() => span.end())),
      );
    };
    void tracer.startActiveSpan('call', { attributes: { [CALL]: label } }, (span) => {
      let running: Promise<string>;
      try {
        running = bulkhead.execute(work);
      } catch (error) {
        running = Promise.reject(error);
      }
      return running
        .then(
          (value) => {
            call.outcome = 'resolved';
            call.value = value;
          },
          (error: unknown) => {
            call.outcome = 'rejected';
            call.error = error;
          },
        )
        .finally(() => span.end());
    });
    return call;
  }

  /** Lets `call`'s work finish: with its result, or with a failure (`fails`). */
  function finish(call: Call, fails = false): void {
    if (fails) {
      call.failure = workError();
      call.gate.reject(call.failure);
    } else {
      call.result = `result of ${call.label} ${random.id()}`;
      call.gate.resolve(call.result);
    }
  }

  return { name, clock, probe, bulkhead, calls, send, finish };
}

type Setup = ReturnType<typeof setup>;

/**
 * Follows the bulkhead with a model of the rules: after every step, the calls that run, their
 * start order and what each caller got must be what the model says.
 */
function model(t: Setup, maxConcurrent: number, maxQueue: number) {
  const running: Call[] = [];
  const queue: Call[] = [];
  const startOrder: string[] = [];
  const fates = new Map<Call, Fate>();
  let most = 0;

  function start(call: Call): void {
    running.push(call);
    startOrder.push(call.label);
    most = Math.max(most, running.length);
  }

  function expectState(when: string): void {
    expect(t.probe.started.join(', '), `${when}: calls start in arrival order, queued ones first in, first out`).toBe(startOrder.join(', '));
    expect(t.probe.inFlight, `${when}: the number of calls running`).toBe(running.length);
    expect(t.probe.maxInFlight, `${when}: never more than maxConcurrent=${maxConcurrent} calls at once`).toBeLessThanOrEqual(maxConcurrent);
  }

  /** A new call arrives (after `flushMicrotasks`, the bulkhead has decided what to do with it). */
  async function arrive(): Promise<Call> {
    const busy = running.length;
    const waiting = queue.length;
    const call = t.send();
    await flushMicrotasks();
    const state = `${call.label} arrived while ${busy} of ${maxConcurrent} slots were busy and ${waiting} of ${maxQueue} queue places were taken`;
    if (busy < maxConcurrent) {
      fates.set(call, 'ran');
      start(call);
      expect(call.workCalls, `${state}: it must run at once`).toBe(1);
    } else if (waiting < maxQueue) {
      fates.set(call, 'queued');
      queue.push(call);
      expect(call.workCalls, `${state}: it must wait in the queue, not run`).toBe(0);
      expect(call.outcome, `${state}: it must wait in the queue, not be rejected`).toBe('pending');
    } else {
      fates.set(call, 'rejected');
      expect(call.workCalls, `${state}: it must be rejected without running its work`).toBe(0);
      expect(call.outcome, `${state}: it must be rejected at once, not wait`).toBe('rejected');
      expect(call.error, `${state}: the caller gets a BulkheadFullError`).toBeInstanceOf(BulkheadFullError);
    }
    expectState(`after ${call.label} arrived`);
    return call;
  }

  /** Some running calls finish (some failing), in an order the check picks; freed slots go to the queue. */
  async function complete(count: number, failureRate = 0.25): Promise<void> {
    const done: Call[] = [];
    for (let i = 0; i < count && running.length > 0; i++) {
      const call = running.splice(random.int(0, running.length - 1), 1)[0] as Call;
      t.finish(call, Math.random() < failureRate);
      done.push(call);
    }
    await flushMicrotasks();
    while (running.length < maxConcurrent && queue.length > 0) start(queue.shift() as Call);
    const finished = done.map((c) => c.label).join(', ');
    for (const call of done) {
      if (call.failure) {
        expect(call.outcome, `${call.label}'s work failed: execute must reject`).toBe('rejected');
        expect(call.error, `${call.label}'s work failed: execute rejects with the work's own error`).toBe(call.failure);
      } else {
        expect(call.outcome, `${call.label}'s work succeeded: execute must resolve`).toBe('resolved');
        expect(call.value, `${call.label}'s work succeeded: execute resolves with what the work resolved`).toBe(call.result);
      }
    }
    expectState(`after ${finished} finished${done.some((c) => c.failure) ? ' (failed ones too free their slot)' : ''}`);
  }

  async function drain(): Promise<void> {
    while (running.length > 0) await complete(random.int(1, running.length));
  }

  return {
    arrive,
    complete,
    drain,
    fates,
    get most() {
      return most;
    },
    get running() {
      return running.length;
    },
  };
}

/** The span one call must have, from the README's contract. */
function callShape(t: Setup, call: Call, fate: Fate): SpanShape {
  const bulkhead = `bulkhead ${t.name}`;
  let shape: SpanShape;
  if (fate === 'rejected') {
    shape = {
      name: bulkhead,
      kind: 'internal',
      status: 'error',
      attributes: { 'error.type': 'bulkhead_full', [QUEUE_WAIT]: absent() },
      children: [],
      exact: true,
    };
  } else {
    const waited = fate === 'queued' ? (call.startedAt ?? Number.NaN) - call.arrivedAt : absent();
    shape = {
      name: bulkhead,
      kind: 'internal',
      status: call.failure ? 'error' : 'unset',
      attributes: { [QUEUE_WAIT]: waited, 'error.type': call.failure ? call.failure.name : absent() },
      children: [{ name: 'work', attributes: { [CALL]: call.label } }],
    };
  }
  return { name: 'call', attributes: { [CALL]: call.label }, children: [shape] };
}

/** What a learner reads when one call's trace is not what the contract says. */
function concept(call: Call, fate: Fate): string {
  const what = {
    ran: 'a call that found a free slot: no app.bulkhead.queue_wait_ms, and its work runs as the child of its span',
    queued:
      `a queued call carries ${QUEUE_WAIT} = clock.now() when its work started - clock.now() when it arrived (0 included), ` +
      'and its work runs as the child of its own span, not of the span of the call whose end freed the slot',
    rejected: 'a rejected call: ERROR status, error.type="bulkhead_full", and no work span under it because the work never ran',
  }[fate];
  return call.failure ? `${what}; its work failed: recordException, ERROR status, error.type = the error's name` : what;
}

/** Every call of the check has the trace the README draws, and there is one bulkhead span per call. */
function expectCallTraces(t: Setup, fates: ReadonlyMap<Call, Fate>): void {
  expectAllEnded(otel, 'every bulkhead span ends once its call has an answer, whatever the answer');
  for (const call of t.calls) {
    const fate = fates.get(call) ?? 'ran';
    const shape = callShape(t, call, fate);
    const inner = shape.children?.[0];
    if (call.failure && inner) {
      inner.events = [{ name: 'exception', attributes: { 'exception.type': call.failure.name, 'exception.message': call.failure.message } }];
    }
    expectTrace(otel, shape, concept(call, fate));
  }
  expect(spansNamed(otel, `bulkhead ${t.name}`).length, `one span "bulkhead ${t.name}" per call to execute, rejected ones included`).toBe(
    t.calls.length,
  );
}

it('runs at most maxConcurrent calls, queues maxQueue more in arrival order, and rejects the rest at once', async () => {
  const maxConcurrent = random.int(1, 4);
  const maxQueue = random.int(1, 4);
  const t = setup(maxConcurrent, maxQueue);
  const m = model(t, maxConcurrent, maxQueue);
  const burst = maxConcurrent + maxQueue + random.int(1, 4);
  for (let i = 0; i < burst; i++) await m.arrive();
  await t.clock.advance(random.int(1, 500));
  await m.drain();
  expect(t.probe.maxInFlight, `with maxConcurrent=${maxConcurrent} and ${burst} callers, ${maxConcurrent} calls ran at once`).toBe(maxConcurrent);
});

it('follows the rules under random workloads: arrivals, completions in any order, failures and time passing', async () => {
  for (let round = 0; round < 4; round++) {
    const maxConcurrent = random.int(1, 4);
    const maxQueue = random.int(0, 4);
    const t = setup(maxConcurrent, maxQueue);
    const m = model(t, maxConcurrent, maxQueue);
    const steps = random.int(20, 40);
    for (let step = 0; step < steps; step++) {
      const roll = Math.random();
      if (roll < 0.5) await m.arrive();
      else if (roll < 0.8 && m.running > 0) await m.complete(random.int(1, Math.min(3, m.running)));
      else await t.clock.advance(random.int(1, 300));
    }
    await m.drain();
    expect(t.probe.maxInFlight, 'the most calls that ran at once is what the rules allow').toBe(m.most);
  }
});

it('frees the slot of a call whose work fails, for the next call in the queue', async () => {
  const maxConcurrent = random.int(1, 3);
  const t = setup(maxConcurrent, 2);
  const m = model(t, maxConcurrent, 2);
  for (let i = 0; i < maxConcurrent + 2; i++) await m.arrive();
  await t.clock.advance(random.int(1, 100));
  while (m.running > 0) await m.complete(m.running, 1);
  expect(t.probe.started.length, 'every queued call ran once the failed calls gave their slots back').toBe(maxConcurrent + 2);
  for (let i = 0; i < maxConcurrent; i++) await m.arrive();
  expect(t.probe.inFlight, 'after only failures, every slot is free again').toBe(maxConcurrent);
  await m.drain();
});

it('traces a call that runs at once: a span under the caller, the work as its child, no queue wait', async () => {
  const maxConcurrent = random.int(1, 4);
  const t = setup(maxConcurrent, 1);
  const m = model(t, maxConcurrent, 1);
  for (let i = 0; i < maxConcurrent; i++) await m.arrive();
  await t.clock.advance(random.int(1, 300));
  while (m.running > 0) await m.complete(1, 0);
  expectCallTraces(t, m.fates);
});

it('traces a queued call with app.bulkhead.queue_wait_ms, its wait from arrival to start on the clock', async () => {
  const maxConcurrent = random.int(1, 3);
  const maxQueue = random.int(2, 4);
  const t = setup(maxConcurrent, maxQueue);
  const m = model(t, maxConcurrent, maxQueue);
  for (let i = 0; i < maxConcurrent; i++) await m.arrive();
  for (let i = 0; i < maxQueue; i++) {
    await t.clock.advance(random.int(1, 200));
    await m.arrive();
  }
  // A slot frees with no time passing since the last arrival: that queued call waited 0 ms, and says so.
  await m.complete(1, 0);
  while (m.running > 0) {
    await t.clock.advance(random.pick([0, random.int(1, 300)]));
    await m.complete(1, 0);
  }
  expectCallTraces(t, m.fates);
  expect(ATTR_BULKHEAD_QUEUE_WAIT_MS, 'the exported constant names the attribute').toBe(QUEUE_WAIT);
});

it('traces a rejected call as an ERROR span with error.type "bulkhead_full" and no work under it', async () => {
  const maxConcurrent = random.int(1, 3);
  const maxQueue = random.int(0, 2);
  const t = setup(maxConcurrent, maxQueue);
  const m = model(t, maxConcurrent, maxQueue);
  for (let i = 0; i < maxConcurrent + maxQueue + random.int(1, 3); i++) await m.arrive();
  await t.clock.advance(random.int(1, 300));
  while (m.running > 0) await m.complete(1, 0);
  expectCallTraces(t, m.fates);
});

it('traces a call whose work fails as ERROR with error.type = the error\'s name and an exception event', async () => {
  const maxConcurrent = random.int(1, 3);
  const t = setup(maxConcurrent, maxConcurrent);
  const m = model(t, maxConcurrent, maxConcurrent);
  for (let i = 0; i < maxConcurrent * 2; i++) await m.arrive();
  await t.clock.advance(random.int(1, 100));
  await m.complete(maxConcurrent, 1);
  while (m.running > 0) await m.complete(1, 0.5);
  expectCallTraces(t, m.fates);
});

it('traces every call of a random workload as the contract says', async () => {
  const maxConcurrent = random.int(1, 4);
  const maxQueue = random.int(0, 4);
  const t = setup(maxConcurrent, maxQueue);
  const m = model(t, maxConcurrent, maxQueue);
  for (let step = 0; step < 40; step++) {
    const roll = Math.random();
    if (roll < 0.5) await m.arrive();
    else if (roll < 0.8 && m.running > 0) await m.complete(random.int(1, Math.min(3, m.running)));
    else await t.clock.advance(random.int(1, 300));
  }
  await m.drain();
  expectCallTraces(t, m.fates);
});

/**
 * The rig of the bulkhead checks: a bulkhead on a fake clock, calls whose work the checks finish
 * one by one (each counted by a probe and making a `work` span), and a model of the README's three
 * rules that every step is compared with. The code under test is handed in by the checker file
 * (the only one that imports #target).
 */
import { absent, expectAllEnded, expectThat, expectTrace, fail, random, show, spansNamed, verify, type SpanNode, type SpanShape, type TraceHarness } from '#checks';
import { ConcurrencyProbe, deferred, FakeClock, flushMicrotasks, type Deferred } from '#kit';
import type { Bulkhead, BulkheadFullError } from '#target/02-resilience/04-bulkhead/bulkhead.ts';

export const QUEUE_WAIT = 'app.bulkhead.queue_wait_ms';
const CALL = 'test.call';
/** Tells apart the calls of two bulkheads in one check (their labels repeat). */
const RUN = 'test.run';

/** What the checker file hands in: the learner's classes and the harness. */
export interface Target {
  Bulkhead: typeof Bulkhead;
  BulkheadFullError: typeof BulkheadFullError;
  otel: TraceHarness;
}

/** One call the checks sent through the bulkhead, and what became of it. */
export interface Call {
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
  /** execute threw instead of returning a promise. */
  threw: boolean;
  value: unknown;
  error: unknown;
}

/** What the model of a correct bulkhead says happened to each call. */
export type Fate = 'ran' | 'queued' | 'rejected';

function workError(): Error {
  const error = new Error(`card declined for order ${random.id()} (${random.int(500, 504)})`);
  error.name = random.pick(['DownstreamError', 'PaymentDeclinedError', 'ConnectionResetError']);
  return error;
}

/**
 * A bulkhead on a fake clock with calls the check controls: every call's work is tracked by a
 * ConcurrencyProbe, makes a `work` span, and runs until the check settles its gate. Every call is
 * sent from a root span `call` of its own, so each call's trace can be found by its label.
 */
export function setup(target: Target, maxConcurrent: number, maxQueue: number) {
  const name = random.pick(['payments', 'inventory', 'search', 'pricing', 'shipping']);
  const clock = new FakeClock(random.int(1_000, 50_000));
  const probe = new ConcurrencyProbe();
  const bulkhead = new target.Bulkhead({ name, maxConcurrent, maxQueue, clock });
  const tracer = target.otel.tracer('tracecraft.checker');
  const calls: Call[] = [];
  const run = random.id('run-');

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
      threw: false,
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
    void tracer.startActiveSpan('call', { attributes: { [CALL]: label, [RUN]: run } }, (span) => {
      let running: Promise<string>;
      try {
        running = bulkhead.execute(work);
      } catch (error) {
        call.threw = true;
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

  return { name, run, clock, probe, bulkhead, calls, send, finish, target, maxConcurrent, maxQueue };
}

export type Setup = ReturnType<typeof setup>;

/** The bulkhead span of a call, under the checker's `call` span of that label. */
function bulkheadSpanOf(t: Setup, call: Call): SpanNode | undefined {
  const root = spansNamed(t.target.otel, 'call').find((s) => s.attributes[CALL] === call.label && s.attributes[RUN] === t.run);
  return root?.children.find((c) => c.name === `bulkhead ${t.name}`);
}

/**
 * Follows the bulkhead with a model of the rules: after every step, the calls that run, their
 * start order and what each caller got must be what the model says.
 */
export function model(t: Setup) {
  const { maxConcurrent, maxQueue } = t;
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
    verify(t.probe.started, `${when}: the calls whose work started, in order (calls start in arrival order, queued ones first in, first out)`).equals(startOrder);
    verify(t.probe.inFlight, `${when}: the calls running`).hasCount(running.length, 'call');
    verify(t.probe.maxInFlight, `${when}: the most calls that ever ran at once (maxConcurrent=${maxConcurrent})`).isAtMost(maxConcurrent);
  }

  function expectFinished(done: readonly Call[]): void {
    for (const call of done) {
      if (call.failure) {
        expectThat(call.outcome === 'rejected' && call.error === call.failure, `${call.label}'s work failed: execute rejects with the work's own error (${show(call.failure)})`, describeCall(call));
      } else {
        expectThat(call.outcome === 'resolved' && call.value === call.result, `${call.label}'s work succeeded: execute resolves with what the work resolved (${show(call.result)})`, describeCall(call));
      }
    }
  }

  /** Where a new arrival must go, given the model's state now; checks what the bulkhead did with it. */
  function expectArrival(call: Call, busy: number, waiting: number): void {
    const state = `${call.label} arrived while ${busy} of ${maxConcurrent} slots were busy and ${waiting} of ${maxQueue} queue places were taken`;
    if (busy < maxConcurrent) {
      fates.set(call, 'ran');
      start(call);
      expectThat(call.workCalls === 1, `${state}: it runs at once`, describeCall(call));
    } else if (waiting < maxQueue) {
      fates.set(call, 'queued');
      queue.push(call);
      expectThat(call.workCalls === 0 && call.outcome === 'pending', `${state}: it waits in the queue (not running, not rejected)`, describeCall(call));
    } else {
      fates.set(call, 'rejected');
      expectThat(call.workCalls === 0, `${state}: it is rejected without running its work`, 'its work was called');
      expectThat(!call.threw, `${state}: execute returns a promise that rejects (a rejection is not a synchronous throw)`, 'execute threw');
      expectThat(call.outcome === 'rejected', `${state}: it is rejected at once, not made to wait`, describeCall(call));
      verify(call.error, `${state}: what the caller got`).isInstanceOf(t.target.BulkheadFullError);
      const span = bulkheadSpanOf(t, call);
      expectThat(span?.ended === true, `${state}: its span "bulkhead ${t.name}" ends at once`, span ? 'it was still open' : 'it had no such span under the caller\'s span');
    }
  }

  /** A new call arrives (after `flushMicrotasks`, the bulkhead has decided what to do with it). */
  async function arrive(): Promise<Call> {
    const busy = running.length;
    const waiting = queue.length;
    const call = t.send();
    await flushMicrotasks();
    expectArrival(call, busy, waiting);
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
    expectFinished(done);
    const finished = done.map((c) => c.label).join(', ');
    expectState(`after ${finished} finished${done.some((c) => c.failure) ? ' (failed ones free their slot too)' : ''}`);
  }

  /**
   * With every slot busy and a call waiting: one running call finishes, and `ticks` microtasks later
   * (before or after the bulkhead has handed the slot over, but before the waiter has woken up) a new
   * call arrives. The slot belongs to the oldest waiter: the newcomer must queue behind it.
   */
  async function handOver(ticks: number, fails: boolean): Promise<void> {
    if (running.length !== maxConcurrent || queue.length !== 1 || maxQueue < 2) fail('the check needs every slot busy, one call waiting and room for one more in the queue');
    const done = running.splice(random.int(0, running.length - 1), 1)[0] as Call;
    const waiter = queue.shift() as Call;
    t.finish(done, fails);
    start(waiter);
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    const call = t.send();
    await flushMicrotasks();
    expectFinished([done]);
    const when = `${done.label} finished while ${waiter.label} waited, and ${call.label} arrived ${ticks} microtask${ticks === 1 ? '' : 's'} later`;
    expectThat(
      waiter.workCalls === 1,
      `${when}: the freed slot goes straight to ${waiter.label}, the oldest waiter, and its work starts`,
      `${waiter.label}'s work had not started${call.workCalls > 0 ? `, and ${call.label} took the slot instead: it jumped the queue` : ''}`,
    );
    expectArrival(call, maxConcurrent, 0);
    expectState(when);
  }

  async function drain(): Promise<void> {
    while (running.length > 0) await complete(random.int(1, running.length));
  }

  return {
    arrive,
    complete,
    handOver,
    drain,
    fates,
    get most() {
      return most;
    },
    get running() {
      return running.length;
    },
    get queued() {
      return queue.length;
    },
  };
}

function describeCall(call: Call): string {
  const work = call.workCalls === 0 ? 'its work never ran' : `its work ran${call.workCalls > 1 ? ` ${call.workCalls} times` : ''}`;
  const outcome = call.outcome === 'pending' ? 'the caller is still waiting' : call.outcome === 'resolved' ? `the caller got ${show(call.value)}` : `the caller got an error: ${show(call.error)}`;
  return `${work}, and ${outcome}`;
}

/** The span one call must have, from the README's contract, under the checker's `call` span. */
function callShape(t: Setup, call: Call, fate: Fate): SpanShape {
  const name = `bulkhead ${t.name}`;
  let shape: SpanShape;
  if (fate === 'rejected') {
    shape = { name, kind: 'internal', scope: 'tracecraft.bulkhead', status: 'error', attributes: { 'error.type': 'bulkhead_full', [QUEUE_WAIT]: absent() }, children: [], exact: true };
  } else {
    const waited = fate === 'queued' ? (call.startedAt ?? Number.NaN) - call.arrivedAt : absent();
    shape = {
      name,
      kind: 'internal',
      scope: 'tracecraft.bulkhead',
      status: call.failure ? 'error' : 'unset',
      attributes: { [QUEUE_WAIT]: waited, 'error.type': call.failure ? call.failure.name : absent() },
      ...(call.failure ? { events: [{ name: 'exception', attributes: { 'exception.type': call.failure.name, 'exception.message': call.failure.message } }] } : {}),
      children: [{ name: 'work', attributes: { [CALL]: call.label } }],
    };
  }
  return { name: 'call', attributes: { [CALL]: call.label, [RUN]: t.run }, children: [shape] };
}

/** What a learner reads when one call's trace is not what the contract says. */
function concept(call: Call, fate: Fate): string {
  const what = {
    ran: `${call.label} found a free slot: no ${QUEUE_WAIT}, and its work runs as the child of its span`,
    queued:
      `${call.label} waited in the queue: ${QUEUE_WAIT} = clock.now() when its work started - clock.now() when it arrived ` +
      `(${call.startedAt ?? '?'} - ${call.arrivedAt} = ${(call.startedAt ?? Number.NaN) - call.arrivedAt}, 0 included), ` +
      'and its work runs as the child of its own span, not of the span of the call whose end freed the slot',
    rejected: `${call.label} was rejected: ERROR status, error.type="bulkhead_full", and no work span under it because the work never ran`,
  }[fate];
  return call.failure ? `${what}; its work failed: an exception event, ERROR status, error.type = the error's name` : what;
}

/** Every call of the check has the trace the README draws, and there is one bulkhead span per call. */
export function expectCallTraces(t: Setup, fates: ReadonlyMap<Call, Fate>): void {
  const { otel } = t.target;
  expectAllEnded(otel, 'every bulkhead span ends once its call has an answer, whatever the answer');
  for (const call of t.calls) {
    const fate = fates.get(call) ?? 'ran';
    expectTrace(otel, callShape(t, call, fate), concept(call, fate));
  }
  verify(spansNamed(otel, `bulkhead ${t.name}`), `${t.calls.length} calls to execute, rejected ones included`).hasCount(t.calls.length, `"bulkhead ${t.name}" span`);
}

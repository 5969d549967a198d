import { it } from 'vitest';
import { absent, expectAllEnded, expectThat, expectTrace, holds, random, show, spansNamed, useTracing, verify, type SpanShape } from '#checks';
import { flushMicrotasks } from '#kit';
import { CircuitBreaker, CircuitOpenError, type BreakerState } from '#target/02-resilience/03-circuit-breaker/breaker.ts';
import {
  EDGE_SCENARIOS,
  Rig,
  STATE,
  TRANSITION,
  describeOutcome,
  describeScenario,
  expectOutcome,
  runScenario,
  scenarioArbitrary,
  transitionsOf,
  type Outcome,
  type Started,
  type Target,
} from './03-circuit-breaker.rig.ts';

const otel = useTracing();
const target: Target = { CircuitBreaker, CircuitOpenError, otel };
const rig = (options: { threshold?: number; coolDownMs?: number } = {}): Rig => new Rig(target, options);

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('lets calls through while closed, passing results and errors on; only N consecutive failures open it', async () => {
  const r = rig();
  const n = r.threshold;
  const ok = await r.call('ok');
  expectOutcome(ok, { result: 'succeeded', called: true }, 'a call to a closed breaker');
  verify(ok.value, 'what the call resolved with (the downstream\'s own answer)').is(ok.started.value);
  const failed = await r.call('fail');
  expectThat(failed.error === failed.started.error, `a failed call rejects with the downstream's own error (${show(failed.started.error)}), unchanged`, `it rejected with ${show(failed.error)}`);
  for (let i = 1; i < n - 1; i++) await r.call('fail');
  expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, `after ${n - 1} failures (threshold ${n}), the breaker is still closed`);
  for (let i = 0; i < n - 1; i++) {
    expectOutcome(await r.call('fail'), { result: 'failed', called: true }, `a success starts the count again: failure ${i + 1} after it still reaches the downstream (threshold ${n})`);
  }
  expectOutcome(await r.call('fail'), { result: 'failed', called: true }, `failure ${n} in a row still reaches the downstream, and opens the breaker`);
  expectOutcome(await r.call('ok'), { result: 'rejected', called: false }, `after ${n} consecutive failures (threshold ${n}), the next call`);
});

it('opens at a threshold of 1 on the first failure', async () => {
  const r = rig({ threshold: 1 });
  expectOutcome(await r.call('fail'), { result: 'failed', called: true }, 'the first failure, with failureThreshold 1');
  expectOutcome(await r.call('ok'), { result: 'rejected', called: false }, 'the call after one failure, with failureThreshold 1 (it opened)');
});

it('opens after N consecutive failures and then rejects fast with a CircuitOpenError, without calling the downstream', async () => {
  const r = rig();
  await r.open();
  const calls = r.downstream.calls.length;
  const attempts = random.int(3, 8);
  for (let i = 0; i < attempts; i++) {
    const started = r.start('ok');
    await flushMicrotasks();
    expectThat(started.settled(), 'an open breaker answers at once: the rejection must not wait for anything', `call ${i + 1} while open was still waiting`);
    const outcome = await started.outcome;
    expectOutcome(outcome, { result: 'rejected', called: false }, `call ${i + 1} while open (threshold ${r.threshold}, cool-down ${r.coolDownMs} ms)`);
    verify(outcome.error, 'what a rejected call rejects with').isInstanceOf(CircuitOpenError);
    await r.clock.advance(Math.floor((r.coolDownMs - 1) / attempts));
  }
  verify(r.downstream.calls.length - calls, 'the calls that reached the downstream while open').hasCount(0, 'call');
});

it('counts the cool-down from when the failure that opened the breaker came back, not from when that call started', async () => {
  const r = rig();
  for (let i = 0; i < r.threshold - 1; i++) await r.call('fail');
  const opener = r.start('hold');
  await flushMicrotasks();
  const slowMs = random.int(1, 4) * r.coolDownMs + random.int(1, 99);
  await r.clock.advance(slowMs);
  opener.gate()?.reject(opener.error);
  expectOutcome(await opener.outcome, { result: 'failed', called: true }, `failure ${r.threshold} in a row, which took ${slowMs} ms to come back`);
  await r.clock.advance(r.coolDownMs - 1);
  expectOutcome(
    await r.call('ok'),
    { result: 'rejected', called: false },
    `${r.coolDownMs - 1} ms after that failure came back (the call had taken ${slowMs} ms), with a cool-down of ${r.coolDownMs} ms, a call`,
  );
  await r.clock.advance(1);
  expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, `exactly ${r.coolDownMs} ms after the failure came back, the first call is the trial`);
});

it('after the cool-down lets exactly one trial call through, and closes again when it succeeds', async () => {
  const r = rig();
  await r.open();
  await r.clock.advance(r.coolDownMs - 1);
  expectOutcome(await r.call('ok'), { result: 'rejected', called: false }, `1 ms before the cool-down of ${r.coolDownMs} ms is over`);
  await r.clock.advance(1);
  expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, `the first call once the cool-down of ${r.coolDownMs} ms is over is the trial`);
  const after = random.int(2, 5);
  for (let i = 0; i < after; i++) {
    expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, `call ${i + 1} after the successful trial (closed again)`);
  }
  for (let i = 0; i < r.threshold - 1; i++) {
    expectOutcome(await r.call('fail'), { result: 'failed', called: true }, 'closing starts the failure count from zero');
  }
  expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, `after ${r.threshold - 1} new failures (threshold ${r.threshold}), the breaker is still closed`);
});

it('rejects the calls that arrive while the trial is in flight, and reopens with a fresh cool-down when the trial fails', async () => {
  const r = rig();
  await r.open();
  await r.clock.advance(r.coolDownMs + random.int(0, 3) * 100);
  const trial = r.start('hold');
  await flushMicrotasks();
  expectThat(trial.called(), 'the first call after the cool-down is the trial: it reaches the downstream', 'the downstream was not called');
  const during: Started[] = [];
  for (let i = random.int(1, 4); i > 0; i--) during.push(r.start('ok'));
  const flightMs = random.int(1, 3 * r.coolDownMs);
  await r.clock.advance(flightMs);
  for (let i = random.int(1, 3); i > 0; i--) during.push(r.start('ok'));
  await flushMicrotasks();
  for (const [i, call] of during.entries()) {
    expectThat(call.settled(), 'a call during the trial is rejected at once, not held until the trial ends', `call ${i + 1} during the trial was still waiting`);
    expectOutcome(await call.outcome, { result: 'rejected', called: false }, `call ${i + 1} that arrived while the trial was in flight (half-open lets exactly one call through, however long it takes)`);
  }
  trial.gate()?.reject(trial.error);
  expectOutcome(await trial.outcome, { result: 'failed', called: true }, `the trial, failing after ${flightMs} ms in flight`);
  await r.clock.advance(r.coolDownMs - 1);
  expectOutcome(
    await r.call('ok'),
    { result: 'rejected', called: false },
    `the trial failed: the breaker is open again, for a fresh cool-down of ${r.coolDownMs} ms counted from the trial's failure; 1 ms before its end, a call`,
  );
  await r.clock.advance(1);
  expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, 'once the fresh cool-down is over, the next call is a new trial');
  expectOutcome(await r.call('ok'), { result: 'succeeded', called: true }, 'after that trial succeeded, the breaker is closed');
});

it('agrees with the reference state machine on random sequences of calls, waits and concurrent calls during trials', async () => {
  await holds(scenarioArbitrary, (scenario) => runScenario(target, scenario), {
    examples: EDGE_SCENARIOS,
    runs: 30,
    describe: describeScenario,
    replay: otel,
  });
});

// ---------------------------------------------------------------------------------------------
// Trace: each call runs inside the checker's span `request #<n>`; the breaker's span is its child.
// ---------------------------------------------------------------------------------------------

it('gives every call a span with the state it arrived in, and the downstream call as its CLIENT child', async () => {
  const r = rig();
  const calls = random.int(1, 4);
  let last = 0;
  for (let i = 0; i < calls; i++) last = (await r.call('ok')).index;
  expectAllEnded(otel, 'every call span ends');
  expectCall(
    last,
    callShape(r, 'closed', { status: 'unset', attributes: { 'error.type': absent() }, events: [], children: [{ name: r.clientSpan, kind: 'client' }] }),
    'a call through a closed breaker: an INTERNAL span "circuit_breaker <name>" with app.circuit_breaker.state="closed", the downstream span inside it',
  );
  verify(spansNamed(otel, r.spanName), `${calls} calls`).hasCount(calls, `"${r.spanName}" span`);
  verify(spansNamed(otel, r.spanName).flatMap(transitionsOf), 'the transitions recorded by successful calls to a closed breaker').equals([]);
});

it('records closed → open as an event on the span of the failure that opened the breaker', async () => {
  const r = rig();
  const opener = await r.open();
  expectCall(
    opener.index,
    callShape(r, 'closed', {
      status: 'error',
      attributes: { 'error.type': opener.error.name },
      events: [transition('closed', 'open')],
      children: [{ name: r.clientSpan, kind: 'client', status: 'error' }],
    }),
    `failure ${r.threshold} in a row (the threshold) arrived while closed, failed (ERROR, error.type = the error's name), and opened the breaker: a "${TRANSITION}" event from="closed" to="open" on its span`,
  );
  const spans = spansNamed(otel, r.spanName);
  verify(spans, `${r.threshold} failures`).hasCount(r.threshold, `"${r.spanName}" span`);
  verify(
    spans.map(transitionsOf).filter((t) => t.length > 0),
    'the transitions recorded, span by span (only the failure that opened the breaker records one; the failures before it do not)',
  ).equals([['closed → open']]);
});

it('marks a rejected call ERROR with error.type "circuit_open", and it has no downstream span', async () => {
  const r = rig();
  await r.open();
  const rejected = random.int(1, 4);
  let last = 0;
  for (let i = 0; i < rejected; i++) last = (await r.call('ok')).index;
  expectAllEnded(otel, 'a rejected call\'s span ends too');
  expectCall(
    last,
    callShape(r, 'open', { status: 'error', attributes: { 'error.type': 'circuit_open' }, children: [], exact: true }),
    'a call rejected by an open breaker: state "open", ERROR with error.type="circuit_open", and no child span, because the downstream was never called',
  );
  const spans = spansNamed(otel, r.spanName);
  verify(spans, `${r.threshold} failures and ${rejected} rejected calls`).hasCount(r.threshold + rejected, `"${r.spanName}" span`);
  verify(spansNamed(otel, r.clientSpan), `the calls that reached the downstream (${r.threshold}, the failures)`).hasCount(r.threshold, `"${r.clientSpan}" span`);
  verify(spans.slice(r.threshold).flatMap(transitionsOf), 'the transitions recorded by rejected calls (a rejection changes nothing)').equals([]);
});

it('records open → half_open and then half_open → closed on the span of a successful trial', async () => {
  const r = rig();
  await r.open();
  await r.clock.advance(r.coolDownMs + random.int(0, 10) * 50);
  const trial = await r.call('ok');
  expectTrialHappened(r, trial);
  expectCall(
    trial.index,
    callShape(r, 'half_open', {
      status: 'unset',
      attributes: { 'error.type': absent() },
      events: [transition('open', 'half_open'), transition('half_open', 'closed')],
      children: [{ name: r.clientSpan, kind: 'client' }],
    }),
    'the first call after the cool-down is the trial: it moved the breaker to half_open when it arrived and closed it when it succeeded, so its state is "half_open" and it carries both transitions, in order',
  );
  const next = await r.call('ok');
  expectCall(next.index, callShape(r, 'closed', { status: 'unset', events: [], children: [{ name: r.clientSpan, kind: 'client' }] }), 'the call after a successful trial arrives in state "closed", and changes nothing');
});

it('records half_open → open on a failed trial, and rejects the calls during the trial with state "half_open"', async () => {
  const r = rig();
  await r.open();
  await r.clock.advance(r.coolDownMs);
  const trial = r.start('hold');
  await flushMicrotasks();
  const during = r.start('ok');
  await during.outcome;
  trial.gate()?.reject(trial.error);
  expectTrialHappened(r, await trial.outcome);
  expectAllEnded(otel, 'every call span ends');
  expectCall(
    trial.index,
    callShape(r, 'half_open', {
      status: 'error',
      attributes: { 'error.type': trial.error.name },
      events: [transition('open', 'half_open'), transition('half_open', 'open')],
      children: [{ name: r.clientSpan, kind: 'client', status: 'error' }],
    }),
    'a failed trial: state "half_open", ERROR with the error\'s name, and the transitions open → half_open then half_open → open',
  );
  expectCall(
    during.index,
    callShape(r, 'half_open', { status: 'error', attributes: { 'error.type': 'circuit_open' }, events: [], children: [], exact: true }),
    'a call that arrives while the trial is in flight is rejected: state "half_open", ERROR with error.type="circuit_open", no transition, no downstream span',
  );
});

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

/** Before looking at a trial's span: the trial happened (the call after the cool-down reached the downstream). */
function expectTrialHappened(r: Rig, trial: Outcome): void {
  expectThat(
    trial.called,
    `once the cool-down of ${r.coolDownMs} ms is over, the next call is the half-open trial and reaches the downstream`,
    `${describeOutcome(trial)}: the trial never happened, so there is no trial span to look at`,
  );
}

/**
 * The breaker's span of call `index`, inside the checker's span `request #<index>`: it has the
 * shape, and exactly the transition events listed in the shape (in order, no others).
 */
function expectCall(index: number, shape: SpanShape, concept: string): void {
  expectTrace(otel, { name: `request #${index}`, children: [shape] }, concept);
  const span = spansNamed(otel, `request #${index}`)[0]?.children.find((c) => c.name === shape.name);
  const expected = (shape.events ?? []).map((e) => `${String(e.attributes?.from)} → ${String(e.attributes?.to)}`);
  if (span) verify(transitionsOf(span), `${concept}: the "${TRANSITION}" events of its span, in order`).equals(expected);
}

function callShape(r: Rig, state: BreakerState, extra: Omit<SpanShape, 'name'>): SpanShape {
  return {
    name: r.spanName,
    kind: 'internal',
    ...extra,
    attributes: { 'app.circuit_breaker.name': r.name, [STATE]: state, ...extra.attributes },
  };
}

function transition(from: BreakerState, to: BreakerState): { name: string; attributes: Record<string, string> } {
  return { name: TRANSITION, attributes: { from, to } };
}

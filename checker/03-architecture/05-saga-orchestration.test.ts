import { it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing, verify } from '#checks';
import { runSaga } from '#target/03-architecture/05-saga-orchestration/saga.ts';
import { orderSteps } from '#target/03-architecture/05-saga-orchestration/place-order.ts';
import {
  DOES,
  FAILED_UNDOS,
  STEPS,
  UNDOES,
  compensateAllAgain,
  compensateShape,
  describeScenario,
  edgeSagas,
  firstFailure,
  placeOrder,
  plan,
  runToEnd,
  scriptedSaga,
  stepShape,
  story,
  type ScriptedSaga,
  type StepName,
} from './05-saga-orchestration.rig.ts';
import { verifySequence } from './sequences.ts';

const otel = useTracing();
const target = { runSaga, orderSteps };

// ---------------------------------------------------------------------------------------------
// Behaviour: the place-order saga
// ---------------------------------------------------------------------------------------------

it('places the order when every step succeeds: reserved, charged, shipped, nothing undone', async () => {
  const { order, shop, result } = await placeOrder(target);
  verify({ outcome: result.outcome, failedStep: result.failedStep, error: result.error }, 'the SagaResult when every step succeeded').equals({
    outcome: 'completed',
    failedStep: undefined,
    error: undefined,
  });
  verifySequence(result.pendingCompensations ?? [], [], 'pendingCompensations when every step succeeded');
  verifySequence(story(shop), ['reserve', 'charge', 'ship'], 'the shop\'s calls, in order (each step once)');
  const [reserved, charged, shipped] = shop.journal;
  verify({ sku: reserved?.sku, quantity: reserved?.quantity }, 'what reserve-inventory held').equals({ sku: order.sku, quantity: order.quantity });
  verify(charged?.amountCents, 'the amount charge-payment charged').is(order.amountCents);
  verify(shipped?.address, 'the address ship-order shipped to').is(order.address);
  verify([reserved, charged, shipped].map((e) => e?.orderId), 'the order each call was for').equals([order.id, order.id, order.id]);
});

it('when a step fails, compensates the completed steps in reverse order, and only those', async () => {
  for (const failAt of STEPS) {
    const { order, shop, result } = await placeOrder(target, { failAt });
    const { completed, compensations } = plan(failAt);
    verifySequence(
      story(shop),
      [...completed.map((s) => DOES[s]), `${DOES[failAt]} failed`, ...compensations.map((s) => UNDOES[s])],
      `the shop's calls, in order, when ${failAt} fails (the steps after it never run; the completed ones are undone last first)`,
    );
    verify({ outcome: result.outcome, failedStep: result.failedStep }, `the SagaResult when ${failAt} failed and every compensation succeeded`).equals({
      outcome: 'compensated',
      failedStep: failAt,
    });
    verifySequence(result.pendingCompensations ?? [], [], `pendingCompensations when ${failAt} failed and every compensation succeeded`);
    verify(result.error, `the SagaResult's error when ${failAt} failed (what the step rejected with)`).is(firstFailure(shop));
    verify(shop.held(order.id), `the stock still held for the order after ${failAt} failed`).is(0);
    verify(shop.netCharged(order.id), `the money still kept from the order after ${failAt} failed`).is(0);
  }
});

it('a failing compensation stops the rollback there: the outcome is "compensation_failed" and what is left to undo is reported', async () => {
  for (const scenario of FAILED_UNDOS) {
    const failAt = scenario.failAt as StepName;
    const failing = scenario.failUndo as StepName;
    const { compensations } = plan(failAt);
    const { order, shop, result } = await placeOrder(target, scenario);
    const what = describeScenario(scenario);
    verify({ outcome: result.outcome, failedStep: result.failedStep }, `the SagaResult when ${what}`).equals({ outcome: 'compensation_failed', failedStep: failAt });
    verify(result.error, `the SagaResult's error when ${what} (still what the failed step rejected with)`).is(firstFailure(shop));
    verifySequence(
      result.pendingCompensations ?? [],
      compensations.slice(compensations.indexOf(failing)),
      `pendingCompensations when ${what} (the one that failed, then those not attempted, in the order to run them)`,
    );
    verifySequence(
      shop.journal.filter((e) => e.operation === 'release' || e.operation === 'refund').map((e) => e.operation),
      compensations.slice(0, compensations.indexOf(failing) + 1).map((s) => UNDOES[s]),
      `the compensations attempted when ${what} (none after the one that failed)`,
    );
    verify(shop.done('ship', order.id), `the shipments when ${what}`).hasCount(0, 'shipment');
  }
});

it('compensations are idempotent: run again after the rollback, they undo nothing twice', async () => {
  for (const failAt of ['charge-payment', 'ship-order'] as const) {
    const { order, shop, steps, result } = await placeOrder(target, { failAt });
    verify(result.outcome, `the outcome when ${failAt} failed`).is('compensated');
    for (let again = random.int(1, 3); again > 0; again--) await compensateAllAgain(steps);
    const what = `${failAt} failed, and the compensations ran again after the rollback`;
    verify(shop.done('release', order.id), `the releases when ${what} (the inventory puts stock back on every release)`).hasCount(1, 'release');
    verify(shop.done('refund', order.id), `the refunds when ${what} (the bank refunds on every call)`).hasCount(failAt === 'ship-order' ? 1 : 0, 'refund');
    verify(shop.held(order.id), `the stock still held when ${what}`).is(0);
    verify(shop.netCharged(order.id), `the money still kept when ${what}`).is(0);
  }
});

it('the compensation of a step that never completed does nothing', async () => {
  for (const failAt of ['reserve-inventory', 'charge-payment'] as const) {
    const { order, shop, steps } = await placeOrder(target, { failAt });
    const before = story(shop);
    await compensateAllAgain(steps);
    verifySequence(story(shop), before, `the shop's calls when ${failAt} failed and every compensation ran again (a step that never completed has nothing to undo)`);
    verify(shop.held(order.id), 'the stock still held for the order').is(0);
    verify(shop.netCharged(order.id), 'the money still kept from the order').is(0);
  }
});

it('after "compensation_failed", running the compensations again finishes the rollback without repeating what was done', async () => {
  for (const scenario of FAILED_UNDOS) {
    const { order, shop, steps, result } = await placeOrder(target, scenario);
    const what = describeScenario(scenario);
    verify(result.outcome, `the outcome when ${what}`).is('compensation_failed');
    await compensateAllAgain(steps);
    const retried = `${what}, then every compensation ran again`;
    verify(shop.done('release', order.id), `the successful releases when ${retried} (a failed compensation can run again; a done one does not run twice)`).hasCount(1, 'release');
    verify(shop.done('refund', order.id), `the successful refunds when ${retried}`).hasCount(scenario.failAt === 'ship-order' ? 1 : 0, 'refund');
    verify(shop.held(order.id), `the stock still held when ${retried}`).is(0);
    verify(shop.netCharged(order.id), `the money still kept when ${retried}`).is(0);
  }
});

// ---------------------------------------------------------------------------------------------
// Behaviour: runSaga on steps of the checker's own
// ---------------------------------------------------------------------------------------------

it('runSaga works for any steps: runs them in order and compensates the completed ones last first', async () => {
  for (const saga of [...edgeSagas(), ...Array.from({ length: 4 }, () => scriptedSaga())]) {
    const result = await runToEnd(target, saga.name, saga.steps, saga.describe());
    verifySequence(saga.log, saga.expectedLog(), `what ran, in order, with the steps ${saga.describe()}`);
    const steps = `with the steps ${saga.describe()}`;
    verify({ outcome: result.outcome, failedStep: result.failedStep }, `the SagaResult ${steps}`).equals({
      outcome: saga.failAt === undefined ? 'completed' : 'compensated',
      failedStep: saga.failAt === undefined ? undefined : saga.steps[saga.failAt]?.name,
    });
    verify(result.error, `the SagaResult's error ${steps} (what the failed step rejected with)`).is(saga.error);
    verifySequence(result.pendingCompensations ?? [], [], `pendingCompensations ${steps}`);
  }
});

it('runSaga stops the rollback at a failing compensation, for any steps, and reports the compensations still to run', async () => {
  const sagas = [
    // A step without a compensation among those still to undo: it is never listed.
    scriptedSaga({ count: 4, failAt: 3, withCompensation: [true, false, true, false], compensationFails: 'first' }),
    scriptedSaga({ compensationFails: 'first' }),
    scriptedSaga({ compensationFails: 'last' }),
    scriptedSaga({ compensationFails: 'random' }),
  ];
  for (const saga of sagas) {
    const result = await runToEnd(target, saga.name, saga.steps, saga.describe());
    verifySequence(saga.log, saga.expectedLog(), `what ran, in order, with the steps ${saga.describe()}`);
    verify(result.outcome, `the outcome with the steps ${saga.describe()}`).is('compensation_failed');
    verifySequence(result.pendingCompensations ?? [], saga.expectedPending(), `pendingCompensations with the steps ${saga.describe()} (the failed one, then those not attempted)`);
  }
});

// ---------------------------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------------------------

/** "Otherwise not ERROR": UNSET or OK are both right. */
function expectNotError(names: readonly string[], why: string): void {
  for (const name of names) {
    for (const span of spansNamed(otel, name)) verify(span.status.toUpperCase(), `the status of "${name}" (${why})`).isNot('ERROR');
  }
}

it('traces the saga: one span "saga place-order" parents a span per step, outcome "completed"', async () => {
  await otel.tracer('tracecraft.checker').startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, async (span) => {
    try {
      await placeOrder(target);
    } finally {
      span.end();
    }
  });
  expectTrace(
    otel,
    {
      name: 'POST /orders',
      children: [
        {
          name: 'saga place-order',
          attributes: { 'app.saga.outcome': 'completed' },
          children: STEPS.map((s) => stepShape(s)),
          ordered: true,
          exact: true,
        },
      ],
    },
    'the saga span is a child of the span active when runSaga is called, and each step runs in its own active span under it (the shop\'s CLIENT spans go under the step)',
  );
  verify(spansNamed(otel, 'saga place-order'), 'the saga spans of one run').hasCount(1, '"saga place-order" span');
  expectNotError(['saga place-order', ...STEPS.map((s) => `step ${s}`)], 'every step succeeded');
  expectAllEnded(otel);
});

it('traces a rollback: the failed step is the only ERROR span, and the compensations run after it, last step first', async () => {
  for (const failAt of STEPS) {
    otel.reset();
    const { shop } = await placeOrder(target, { failAt });
    const { completed, compensations } = plan(failAt);
    expectTrace(
      otel,
      {
        name: 'saga place-order',
        attributes: { 'app.saga.outcome': 'compensated' },
        children: [...completed.map((s) => stepShape(s)), stepShape(failAt, firstFailure(shop)), ...compensations.map((s) => compensateShape(s))],
        ordered: true,
        exact: true,
      },
      `${failAt} failed: its span is ERROR with error.type, the steps after it have no span, and every completed step with a compensation gets a "compensate <step>" span under the saga, last step first; ` +
        'a clean rollback is the saga doing its job, so no other span is ERROR',
    );
    expectNotError(
      ['saga place-order', ...completed.map((s) => `step ${s}`), ...compensations.map((s) => `compensate ${s}`)],
      `${failAt} failed and the rollback was clean: the failed step is the only ERROR span`,
    );
    verifySequence(
      otel.finishedSpans().map((s) => s.name).filter((n) => n.startsWith('compensate ')),
      compensations.map((s) => `compensate ${s}`),
      `the compensation spans when ${failAt} failed, in the order they ended (last step first)`,
    );
    expectAllEnded(otel);
  }
});

it('traces a failed compensation: that compensation and the saga are ERROR, outcome "compensation_failed"', async () => {
  for (const scenario of FAILED_UNDOS) {
    otel.reset();
    const failAt = scenario.failAt as StepName;
    const failing = scenario.failUndo as StepName;
    const { compensations } = plan(failAt);
    const { shop } = await placeOrder(target, scenario);
    const attempted = compensations.slice(0, compensations.indexOf(failing) + 1);
    expectTrace(
      otel,
      {
        name: 'saga place-order',
        status: 'error',
        attributes: { 'app.saga.outcome': 'compensation_failed' },
        children: [
          ...plan(failAt).completed.map((s) => stepShape(s)),
          stepShape(failAt, firstFailure(shop)),
          ...attempted.map((s) => (s === failing ? compensateShape(s, 'ServiceUnavailableError') : compensateShape(s))),
        ],
        ordered: true,
        exact: true,
      },
      `${describeScenario(scenario)}: that compensation's span is ERROR with error.type, no compensation after it is attempted, and the saga span is ERROR`,
    );
    expectNotError(
      [...plan(failAt).completed.map((s) => `step ${s}`), ...attempted.filter((s) => s !== failing).map((s) => `compensate ${s}`)],
      `${describeScenario(scenario)}: only the failed step, the failed compensation and the saga are ERROR`,
    );
    expectAllEnded(otel);
  }
});

it('names the spans after the saga and its steps, one saga span per run, each run a trace of its own', async () => {
  const sagas: ScriptedSaga[] = [scriptedSaga({ failAt: random.int(1, 2), count: 3 }), scriptedSaga({ failAt: 'none' }), scriptedSaga({ compensationFails: 'random' })];
  for (const saga of sagas) await runToEnd(target, saga.name, saga.steps, saga.describe());
  for (const saga of sagas) {
    const outcome = saga.expectedPending().length > 0 ? 'compensation_failed' : saga.failAt === undefined ? 'completed' : 'compensated';
    expectTrace(
      otel,
      { name: `saga ${saga.name}`, attributes: { 'app.saga.outcome': outcome }, children: saga.expectedSpans(), ordered: true, exact: true },
      `runSaga(${JSON.stringify(saga.name)}, …) with the steps ${saga.describe()}: span names come from the saga's and the steps' names`,
    );
    verify(spansNamed(otel, `saga ${saga.name}`), `the spans of the run of "${saga.name}"`).hasCount(1, `"saga ${saga.name}" span`);
  }
  verify(new Set(sagas.map((saga) => spansNamed(otel, `saga ${saga.name}`)[0]?.traceId)).size, `the traces of ${sagas.length} runs, started with no span active`).hasCount(sagas.length, 'trace');
});

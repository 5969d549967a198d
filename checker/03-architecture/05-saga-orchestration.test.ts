import { expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing, type SpanShape } from '#checks';
import { FakeShop, type ShopOperation } from '#kit';
import { runSaga, type SagaResult, type SagaStep } from '#target/03-architecture/05-saga-orchestration/saga.ts';
import { orderSteps, type Order } from '#target/03-architecture/05-saga-orchestration/place-order.ts';

const otel = useTracing();

// ---------------------------------------------------------------------------------------------
// The place-order saga over the fake shop
// ---------------------------------------------------------------------------------------------

const STEPS = ['reserve-inventory', 'charge-payment', 'ship-order'] as const;
type StepName = (typeof STEPS)[number];

/** The shop operation each step calls, and the one its compensation calls. */
const DOES: Record<StepName, ShopOperation> = { 'reserve-inventory': 'reserve', 'charge-payment': 'charge', 'ship-order': 'ship' };
const UNDOES: Partial<Record<StepName, ShopOperation>> = { 'reserve-inventory': 'release', 'charge-payment': 'refund' };
const BACKEND_SPAN: Record<ShopOperation, string> = {
  reserve: 'inventory/reserve',
  release: 'inventory/release',
  charge: 'payments/charge',
  refund: 'payments/refund',
  ship: 'shipping/ship',
};

function randomOrder(): Order {
  return {
    id: random.id('order-'),
    sku: random.id('sku-'),
    quantity: random.int(1, 9),
    amountCents: random.int(100, 99_999),
    address: `${random.int(1, 999)} ${random.word(7)} street`,
  };
}

interface Placed {
  order: Order;
  shop: FakeShop;
  steps: SagaStep[];
  result: SagaResult;
}

interface Scenario {
  /** The step whose shop call fails; none: the saga completes. */
  failAt?: StepName;
  /** Compensations whose shop call fails once. */
  failUndo?: StepName[];
}

/** Places a random order with the steps of orderSteps, run by runSaga('place-order', …). */
async function placeOrder({ failAt, failUndo = [] }: Scenario = {}): Promise<Placed> {
  const order = randomOrder();
  const shop = new FakeShop();
  if (failAt) shop.fail(DOES[failAt], { orderId: order.id });
  for (const step of failUndo) {
    const undo = UNDOES[step];
    if (undo) shop.fail(undo, { orderId: order.id, times: 1 });
  }
  const steps = orderSteps(order, shop);
  expect(steps.map((s) => s.name), 'orderSteps returns the three steps, in order').toEqual([...STEPS]);
  const result = await runSaga('place-order', steps);
  return { order, shop, steps, result };
}

/** The steps that completed before `failAt` failed, and the compensations due, last step first. */
function plan(failAt: StepName): { completed: StepName[]; compensations: StepName[] } {
  const completed = STEPS.slice(0, STEPS.indexOf(failAt));
  return { completed, compensations: [...completed].reverse().filter((s) => UNDOES[s] !== undefined) };
}

/** The shop's journal in words: "reserve", "charge failed", … */
function story(shop: FakeShop): string[] {
  return shop.journal.map((e) => (e.ok ? e.operation : `${e.operation} failed`));
}


/** What an operator does after a rollback: every compensation again, last step first. Idempotency makes it safe. */
async function compensateAllAgain(steps: readonly SagaStep[]): Promise<void> {
  for (const step of [...steps].reverse()) {
    if (step.compensate) {
      await expect(step.compensate(), `compensate() of "${step.name}", run again, must resolve`).resolves.toBeUndefined();
    }
  }
}

const randomFailingStep = (): StepName => random.pick(STEPS);
const failureOf = (shop: FakeShop): unknown => shop.journal.find((e) => !e.ok)?.error;

it('places the order when every step succeeds: reserved, charged, shipped, nothing undone', async () => {
  const { order, shop, result } = await placeOrder();
  expect(result.outcome, 'every step succeeded: the outcome is "completed"').toBe('completed');
  expect(result.failedStep, 'no step failed').toBeUndefined();
  expect(result.pendingCompensations, 'nothing is left to compensate').toEqual([]);
  expect(story(shop), 'the steps run in order, each once: reserve, charge, ship').toEqual(['reserve', 'charge', 'ship']);
  expect(shop.journal[0], 'reserve-inventory holds the order\'s sku and quantity').toMatchObject({ orderId: order.id, sku: order.sku, quantity: order.quantity });
  expect(shop.journal[1], 'charge-payment charges the order\'s amount').toMatchObject({ orderId: order.id, amountCents: order.amountCents });
  expect(shop.journal[2], 'ship-order ships to the order\'s address').toMatchObject({ orderId: order.id, address: order.address });
});

it('when a step fails, compensates the completed steps in reverse order, and only those', async () => {
  for (const failAt of STEPS) {
    const { order, shop, result } = await placeOrder({ failAt });
    const { completed, compensations } = plan(failAt);
    const expected = [...completed.map((s) => DOES[s]), `${DOES[failAt]} failed`, ...compensations.map((s) => UNDOES[s])];
    expect(
      story(shop),
      `when ${failAt} fails, the steps after it never run, and the completed ones are undone last first ` +
        `(${compensations.map((s) => `compensate ${s}`).join(', then ') || 'nothing to undo'})`,
    ).toEqual(expected);
    expect(result.outcome, `${failAt} failed and every compensation succeeded: the outcome is "compensated"`).toBe('compensated');
    expect(result.failedStep, 'failedStep names the step that failed').toBe(failAt);
    expect(result.error, 'error is what the failed step rejected with').toBe(failureOf(shop));
    expect(result.pendingCompensations, 'nothing is left to compensate').toEqual([]);
    expect(shop.held(order.id), 'the stock is back: nothing stays held for a failed order').toBe(0);
    expect(shop.netCharged(order.id), 'the money is back: nothing stays charged for a failed order').toBe(0);
  }
});

it('runSaga works for any steps: runs them in order and compensates the completed ones last first', async () => {
  for (let round = 0; round < 5; round++) {
    const saga = scriptedSaga({ compensationFailsAt: undefined });
    const result = await runSaga(saga.name, saga.steps);
    expect(saga.log, `with the steps ${saga.describe()}`).toEqual(saga.expectedLog());
    expect(result.outcome, `with the steps ${saga.describe()}: the outcome`).toBe(saga.failAt === undefined ? 'completed' : 'compensated');
    expect(result.failedStep, 'failedStep names the step that failed').toBe(saga.failAt === undefined ? undefined : saga.steps[saga.failAt]?.name);
    expect(result.error, 'error is what the failed step rejected with').toBe(saga.error);
    expect(result.pendingCompensations, 'nothing is left to compensate').toEqual([]);
  }
});

it('a failing compensation stops the rollback there: the outcome is "compensation_failed" and what is left to undo is reported', async () => {
  // The place-order saga: a refund or a release that fails.
  const failAt = random.pick<StepName>(['charge-payment', 'ship-order']);
  const { compensations } = plan(failAt);
  const failing = random.pick(compensations);
  const { order, shop, result } = await placeOrder({ failAt, failUndo: [failing] });
  const pending = compensations.slice(compensations.indexOf(failing));
  expect(result.outcome, `${failAt} failed, then compensate ${failing} failed: the outcome is "compensation_failed"`).toBe('compensation_failed');
  expect(result.failedStep, 'failedStep still names the step that failed').toBe(failAt);
  expect(result.error, 'error is still what the failed step rejected with').toBe(shop.journal.find((e) => !e.ok)?.error);
  expect(result.pendingCompensations, 'pendingCompensations: the compensation that failed, then those not attempted, in the order to run them').toEqual(pending);
  const attempted = compensations.slice(0, compensations.indexOf(failing) + 1).map((s) => UNDOES[s]);
  expect(
    shop.journal.filter((e) => e.operation === 'release' || e.operation === 'refund').map((e) => e.operation),
    'the compensations after the failed one are not attempted',
  ).toEqual(attempted);
  expect(shop.done('ship', order.id), 'nothing runs forward after the failure').toHaveLength(0);

  // Any steps.
  for (let round = 0; round < 4; round++) {
    const saga = scriptedSaga({ compensationFailsAt: 'random' });
    const generic = await runSaga(saga.name, saga.steps);
    expect(saga.log, `with the steps ${saga.describe()}`).toEqual(saga.expectedLog());
    expect(generic.outcome, `with the steps ${saga.describe()}`).toBe('compensation_failed');
    expect(generic.pendingCompensations, `with the steps ${saga.describe()}: pendingCompensations`).toEqual(saga.expectedPending());
  }
});

it('compensations are idempotent: run again after the rollback, they undo nothing twice', async () => {
  const failAt = random.pick<StepName>(['charge-payment', 'ship-order']);
  const { order, shop, steps, result } = await placeOrder({ failAt });
  expect(result.outcome, `${failAt} failed: the saga compensates`).toBe('compensated');
  for (let again = random.int(1, 3); again > 0; again--) await compensateAllAgain(steps);
  expect(
    shop.done('release', order.id),
    'the inventory puts stock back on every release: compensate reserve-inventory must release the reservation once, however often it runs',
  ).toHaveLength(1);
  expect(shop.done('refund', order.id), 'the bank refunds on every call: compensate charge-payment must refund once, however often it runs').toHaveLength(
    failAt === 'ship-order' ? 1 : 0,
  );
  expect(shop.held(order.id), 'stock held for the order').toBe(0);
  expect(shop.netCharged(order.id), 'money kept from the order').toBe(0);
});

it('the compensation of a step that never completed does nothing', async () => {
  const failAt = random.pick<StepName>(['reserve-inventory', 'charge-payment']);
  const { order, shop, steps } = await placeOrder({ failAt });
  const before = story(shop);
  await compensateAllAgain(steps);
  expect(
    story(shop),
    `${failAt} failed, so it holds nothing to undo (and the steps after it never ran): their compensations must not call the shop`,
  ).toEqual(before);
  expect(shop.held(order.id), 'stock held for the order').toBe(0);
  expect(shop.netCharged(order.id), 'money kept from the order').toBe(0);
});

it('after "compensation_failed", running the compensations again finishes the rollback without repeating what was done', async () => {
  const cases: Scenario[] = [
    { failAt: 'ship-order', failUndo: ['charge-payment'] },
    { failAt: 'ship-order', failUndo: ['reserve-inventory'] },
    { failAt: 'charge-payment', failUndo: ['reserve-inventory'] },
  ];
  for (const scenario of cases) {
    const { order, shop, steps, result } = await placeOrder(scenario);
    const what = `${scenario.failAt} failed, then compensate ${scenario.failUndo?.[0]} failed once`;
    expect(result.outcome, `${what}: the outcome`).toBe('compensation_failed');
    await compensateAllAgain(steps);
    expect(
      shop.done('release', order.id),
      `${what}; then every compensation ran again: one successful release in all (a compensation that failed must still be able to run; one that succeeded must not run twice)`,
    ).toHaveLength(1);
    expect(
      shop.done('refund', order.id),
      `${what}; then every compensation ran again: ${scenario.failAt === 'ship-order' ? 'one successful refund in all' : 'no refund: nothing was charged'}`,
    ).toHaveLength(scenario.failAt === 'ship-order' ? 1 : 0);
    expect(shop.held(order.id), `${what}; after the retry, stock held for the order`).toBe(0);
    expect(shop.netCharged(order.id), `${what}; after the retry, money kept from the order`).toBe(0);
  }
});

// ---------------------------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------------------------

function stepShape(name: StepName, failed = false, error?: unknown): SpanShape {
  return {
    name: `step ${name}`,
    ...(failed ? { status: 'error' as const, attributes: { 'error.type': (error as Error | undefined)?.name ?? '' } } : {}),
    children: [{ name: BACKEND_SPAN[DOES[name]], kind: 'client' }],
  };
}

function compensateShape(name: StepName, failedWith?: string): SpanShape {
  const undo = UNDOES[name] as ShopOperation;
  return {
    name: `compensate ${name}`,
    ...(failedWith ? { status: 'error' as const, attributes: { 'error.type': failedWith } } : {}),
    children: [{ name: BACKEND_SPAN[undo], kind: 'client' }],
  };
}

function expectNotError(names: string[], why: string): void {
  for (const name of names) {
    for (const span of spansNamed(otel, name)) expect(span.status, `"${name}" ${why}`).not.toBe('error');
  }
}

it('traces the saga: one span "saga place-order" parents a span per step, outcome "completed"', async () => {
  const caller = otel.tracer('tracecraft.checker');
  await caller.startActiveSpan('POST /orders', { kind: SpanKind.SERVER }, async (span) => {
    await placeOrder();
    span.end();
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
          exact: true,
        },
      ],
    },
    'the saga span is a child of the span active when runSaga is called, and each step runs in its own active span under it (the shop\'s CLIENT spans go under the step)',
  );
  expect(spansNamed(otel, 'saga place-order'), 'one saga span per run').toHaveLength(1);
  expectNotError(['saga place-order', ...STEPS.map((s) => `step ${s}`)], 'succeeded: it is not ERROR');
  expectAllEnded(otel);
});

it('traces a rollback: the failed step is the only ERROR span, and the compensations run after it, last step first', async () => {
  const failAt = randomFailingStep();
  const { shop } = await placeOrder({ failAt });
  const { completed, compensations } = plan(failAt);
  const error = failureOf(shop);
  expectTrace(
    otel,
    {
      name: 'saga place-order',
      attributes: { 'app.saga.outcome': 'compensated' },
      children: [...completed.map((s) => stepShape(s)), stepShape(failAt, true, error), ...compensations.map((s) => compensateShape(s))],
      exact: true,
    },
    `${failAt} failed: its span is ERROR with error.type, the steps after it have no span, and every completed step with a compensation gets a "compensate <step>" span under the saga`,
  );
  const ended = otel
    .finishedSpans()
    .map((s) => s.name)
    .filter((n) => n.startsWith('compensate '));
  expect(ended, 'the compensation spans, in the order they ran: last step first').toEqual(compensations.map((s) => `compensate ${s}`));
  expectNotError(
    ['saga place-order', ...completed.map((s) => `step ${s}`), ...compensations.map((s) => `compensate ${s}`)],
    'is not ERROR: the failed step is the only ERROR span of a clean rollback',
  );
  expectAllEnded(otel);
});

it('traces a failed compensation: that compensation and the saga are ERROR, outcome "compensation_failed"', async () => {
  const { compensations } = plan('ship-order');
  const failing = random.pick(compensations);
  await placeOrder({ failAt: 'ship-order', failUndo: [failing] });
  const attempted = compensations.slice(0, compensations.indexOf(failing) + 1);
  expectTrace(
    otel,
    {
      name: 'saga place-order',
      status: 'error',
      attributes: { 'app.saga.outcome': 'compensation_failed' },
      children: [
        stepShape('reserve-inventory'),
        stepShape('charge-payment'),
        { name: 'step ship-order', status: 'error' },
        ...attempted.map((s) => compensateShape(s, s === failing ? 'ServiceUnavailableError' : undefined)),
      ],
      exact: true,
    },
    `compensate ${failing} failed: its span is ERROR with error.type, no compensation after it is attempted, and the saga span is ERROR`,
  );
  expectAllEnded(otel);
});

it('names the spans after the saga and its steps, one saga span per run, each run a trace of its own', async () => {
  const first = scriptedSaga({ compensationFailsAt: undefined, mustFail: true });
  const second = scriptedSaga({ compensationFailsAt: undefined, mustFail: false });
  await runSaga(first.name, first.steps);
  await runSaga(second.name, second.steps);
  for (const saga of [first, second]) {
    expectTrace(
      otel,
      {
        name: `saga ${saga.name}`,
        attributes: { 'app.saga.outcome': saga.failAt === undefined ? 'completed' : 'compensated' },
        children: saga.expectedSpans(),
        exact: true,
      },
      `runSaga(${JSON.stringify(saga.name)}, …): span names come from the saga's and the steps' names`,
    );
    expect(spansNamed(otel, `saga ${saga.name}`), `one "saga ${saga.name}" span per run`).toHaveLength(1);
  }
});

// ---------------------------------------------------------------------------------------------
// Scripted steps, for runSaga on its own
// ---------------------------------------------------------------------------------------------

const VERBS = ['book', 'hold', 'open', 'notify', 'allocate', 'register', 'lock', 'issue'];
const ERRORS = ['ConflictError', 'QuotaExceededError', 'ValidationError', 'UpstreamError'];

interface ScriptedSaga {
  name: string;
  steps: SagaStep[];
  log: string[];
  failAt: number | undefined;
  error: Error | undefined;
  describe(): string;
  expectedLog(): string[];
  expectedPending(): string[];
  expectedSpans(): SpanShape[];
}

/**
 * 2 to 6 steps with random names, a random one failing (or none), some without a compensation;
 * every run and compensation is logged. `compensationFailsAt: 'random'` makes one due compensation fail.
 */
function scriptedSaga(options: { compensationFailsAt: 'random' | undefined; mustFail?: boolean }): ScriptedSaga {
  const log: string[] = [];
  const count = random.int(options.compensationFailsAt ? 3 : 2, 6);
  const names = Array.from({ length: count }, (_, i) => `${random.pick(VERBS)}-${random.word(5)}-${i + 1}`);
  const mustFail = options.mustFail ?? (options.compensationFailsAt !== undefined || random.int(0, 3) > 0);
  const failAt = mustFail ? random.int(options.compensationFailsAt ? 2 : 1, count - 1) : undefined;
  const withCompensation = names.map(() => random.int(0, 3) > 0);
  // A compensation due (a completed step with one) that fails, when asked.
  const due = failAt === undefined ? [] : names.slice(0, failAt).map((_, i) => i).filter((i) => withCompensation[i]).reverse();
  if (options.compensationFailsAt && due.length === 0) {
    withCompensation[0] = true;
    due.push(0);
  }
  const failingCompensation = options.compensationFailsAt ? random.pick(due) : undefined;
  const error = failAt === undefined ? undefined : Object.assign(new Error(`step ${names[failAt]} failed`), { name: random.pick(ERRORS) });
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const steps: SagaStep[] = names.map((name, i) => {
    const step: SagaStep = {
      name,
      run: async () => {
        await tick();
        log.push(`run ${name}`);
        if (i === failAt) throw error;
      },
    };
    if (withCompensation[i]) {
      step.compensate = async () => {
        await tick();
        log.push(`compensate ${name}`);
        if (i === failingCompensation) throw Object.assign(new Error(`cannot undo ${name}`), { name: 'UndoFailedError' });
      };
    }
    return step;
  });
  const attemptedCompensations = (): number[] =>
    failingCompensation === undefined ? due : due.slice(0, due.indexOf(failingCompensation) + 1);
  return {
    name: `${random.word(5)}-${random.word(4)}`,
    steps,
    log,
    failAt,
    error,
    describe: () =>
      names
        .map((n, i) => `${n}${i === failAt ? ' (fails)' : ''}${withCompensation[i] ? (i === failingCompensation ? ' [compensation fails]' : '') : ' [no compensation]'}`)
        .join(', '),
    expectedLog: () => [
      ...names.slice(0, failAt === undefined ? count : failAt + 1).map((n) => `run ${n}`),
      ...attemptedCompensations().map((i) => `compensate ${names[i]}`),
    ],
    expectedPending: () =>
      failingCompensation === undefined ? [] : due.slice(due.indexOf(failingCompensation)).map((i) => names[i] ?? ''),
    expectedSpans: () => [
      ...names
        .slice(0, failAt === undefined ? count : failAt + 1)
        .map((n, i): SpanShape => (i === failAt ? { name: `step ${n}`, status: 'error', attributes: { 'error.type': error?.name ?? '' } } : { name: `step ${n}` })),
      ...attemptedCompensations().map((i): SpanShape => ({ name: `compensate ${names[i]}` })),
    ],
  };
}

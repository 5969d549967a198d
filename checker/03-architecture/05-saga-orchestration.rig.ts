/**
 * The rig of the saga-orchestration checks: the place-order saga over a FakeShop with scripted
 * failures, and sagas of the checker's own (random step names, a chosen step failing, some steps
 * without a compensation) whose every run and compensation is logged.
 */
import { fail, random, show, type SpanShape } from '#checks';
import { FakeShop, type ShopOperation } from '#kit';
import type { SagaResult, SagaStep } from '#target/03-architecture/05-saga-orchestration/saga.ts';
import type { Order } from '#target/03-architecture/05-saga-orchestration/place-order.ts';

export const STEPS = ['reserve-inventory', 'charge-payment', 'ship-order'] as const;
export type StepName = (typeof STEPS)[number];

/** The shop operation each step calls, and the one its compensation calls. */
export const DOES: Record<StepName, ShopOperation> = { 'reserve-inventory': 'reserve', 'charge-payment': 'charge', 'ship-order': 'ship' };
export const UNDOES: Partial<Record<StepName, ShopOperation>> = { 'reserve-inventory': 'release', 'charge-payment': 'refund' };
export const BACKEND_SPAN: Record<ShopOperation, string> = {
  reserve: 'inventory/reserve',
  release: 'inventory/release',
  charge: 'payments/charge',
  refund: 'payments/refund',
  ship: 'shipping/ship',
};

/** The learner's code, handed over by the checker file (which imports it through #target/). */
export interface Target {
  runSaga(name: string, steps: readonly SagaStep[]): Promise<SagaResult>;
  orderSteps(order: Order, shop: FakeShop): SagaStep[];
}

export function randomOrder(): Order {
  return {
    id: random.id('order-'),
    sku: random.id('sku-'),
    quantity: random.int(1, 9),
    amountCents: random.int(100, 99_999),
    address: `${random.int(1, 999)} ${random.word(7)} street`,
  };
}

export interface Scenario {
  /** The step whose shop call fails; none: the saga completes. */
  failAt?: StepName;
  /** The compensation whose shop call fails, once. */
  failUndo?: StepName;
}

export function describeScenario({ failAt, failUndo }: Scenario): string {
  if (!failAt) return 'every step succeeds';
  return `${failAt} fails${failUndo ? `, then compensate ${failUndo} fails once` : ''}`;
}

/** Scenarios in which a compensation fails: every due compensation, for every step that leaves one due. */
export const FAILED_UNDOS: readonly Scenario[] = [
  { failAt: 'charge-payment', failUndo: 'reserve-inventory' },
  { failAt: 'ship-order', failUndo: 'charge-payment' },
  { failAt: 'ship-order', failUndo: 'reserve-inventory' },
];

export interface Placed {
  order: Order;
  shop: FakeShop;
  steps: SagaStep[];
  result: SagaResult;
}

/** runSaga must resolve, never reject: a rejection fails the check in words. */
export async function runToEnd(target: Target, name: string, steps: readonly SagaStep[], what: string): Promise<SagaResult> {
  try {
    return await target.runSaga(name, steps);
  } catch (error) {
    fail(`runSaga(${show(name)}, …) must resolve with a SagaResult, never reject (${what}), but it rejected with ${show(error)}`);
  }
}

/** Places a random order with the steps of orderSteps, run by runSaga('place-order', …). */
export async function placeOrder(target: Target, scenario: Scenario = {}): Promise<Placed> {
  const order = randomOrder();
  const shop = new FakeShop();
  if (scenario.failAt) shop.fail(DOES[scenario.failAt], { orderId: order.id });
  const undo = scenario.failUndo && UNDOES[scenario.failUndo];
  if (undo) shop.fail(undo, { orderId: order.id, times: 1 });
  const steps = target.orderSteps(order, shop);
  const names = steps.map((s) => s.name);
  if (names.join() !== STEPS.join()) fail(`orderSteps returns the three steps in order, ${show([...STEPS])}, but it returned ${show(names)}`);
  const result = await runToEnd(target, 'place-order', steps, describeScenario(scenario));
  return { order, shop, steps, result };
}

/** The steps that completed before `failAt` failed, and the compensations due, last step first. */
export function plan(failAt: StepName): { completed: StepName[]; compensations: StepName[] } {
  const completed = STEPS.slice(0, STEPS.indexOf(failAt));
  return { completed, compensations: [...completed].reverse().filter((s) => UNDOES[s] !== undefined) };
}

/** The shop's journal in words: "reserve", "charge failed", … */
export function story(shop: FakeShop): string[] {
  return shop.journal.map((e) => (e.ok ? e.operation : `${e.operation} failed`));
}

export function firstFailure(shop: FakeShop): unknown {
  return shop.journal.find((e) => !e.ok)?.error;
}

/** What an operator does after a rollback: every compensation again, last step first. Idempotency makes it safe. */
export async function compensateAllAgain(steps: readonly SagaStep[]): Promise<void> {
  for (const step of [...steps].reverse()) {
    if (!step.compensate) continue;
    try {
      await step.compensate();
    } catch (error) {
      fail(`compensate() of "${step.name}", run again after the rollback, must resolve, but it rejected with ${show(error)}`);
    }
  }
}

export function stepShape(name: StepName, error?: unknown): SpanShape {
  return {
    name: `step ${name}`,
    ...(error === undefined ? {} : { status: 'error' as const, attributes: { 'error.type': error instanceof Error ? error.name : String(error) } }),
    children: [{ name: BACKEND_SPAN[DOES[name]], kind: 'client' }],
  };
}

export function compensateShape(name: StepName, failedWith?: string): SpanShape {
  const undo = UNDOES[name] ?? 'release';
  return {
    name: `compensate ${name}`,
    ...(failedWith ? { status: 'error' as const, attributes: { 'error.type': failedWith } } : {}),
    children: [{ name: BACKEND_SPAN[undo], kind: 'client' }],
  };
}

// ---------------------------------------------------------------------------------------------
// Sagas of the checker's own, for runSaga on its own
// ---------------------------------------------------------------------------------------------

const VERBS = ['book', 'hold', 'open', 'notify', 'allocate', 'register', 'lock', 'issue'];
const ERRORS = ['ConflictError', 'QuotaExceededError', 'ValidationError', 'UpstreamError'];

export interface ScriptedSaga {
  name: string;
  steps: SagaStep[];
  /** Every run and compensation, in the order they happened: "run book-x-1", "compensate book-x-1". */
  log: string[];
  failAt: number | undefined;
  error: Error | undefined;
  describe(): string;
  expectedLog(): string[];
  expectedPending(): string[];
  expectedSpans(): SpanShape[];
}

export interface Script {
  /** How many steps (default: 2 to 6). */
  count?: number;
  /** The step that fails, by index; `undefined` for none (default: random, or none). */
  failAt?: number | 'none';
  /** Which steps have a compensation (default: most of them, at random). */
  withCompensation?: boolean[];
  /** Which due compensation fails: `first` (the last completed step's), `last`, `random`; default none. */
  compensationFails?: 'first' | 'last' | 'random';
}

/** A saga whose steps log what they do. */
export function scriptedSaga(script: Script = {}): ScriptedSaga {
  const log: string[] = [];
  const count = script.count ?? random.int(script.compensationFails ? 3 : 2, 6);
  const names = Array.from({ length: count }, (_, i) => `${random.pick(VERBS)}-${random.word(5)}-${i + 1}`);
  const failAt =
    script.failAt === 'none'
      ? undefined
      : (script.failAt ?? (script.compensationFails || random.int(0, 3) > 0 ? random.int(script.compensationFails ? 1 : 0, count - 1) : undefined));
  const withCompensation = script.withCompensation ?? names.map(() => random.int(0, 3) > 0);
  // The compensations due (completed steps with one), last step first.
  const due = failAt === undefined ? [] : names.slice(0, failAt).map((_, i) => i).filter((i) => withCompensation[i]).reverse();
  if (script.compensationFails && due.length === 0 && failAt !== undefined && failAt > 0) {
    withCompensation[0] = true;
    due.push(0);
  }
  const failingCompensation =
    script.compensationFails === undefined ? undefined : script.compensationFails === 'first' ? due[0] : script.compensationFails === 'last' ? due.at(-1) : random.pick(due);
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
  const attempted = (): number[] => (failingCompensation === undefined ? due : due.slice(0, due.indexOf(failingCompensation) + 1));
  const ran = names.slice(0, failAt === undefined ? count : failAt + 1);
  return {
    name: `${random.word(5)}-${random.word(4)}`,
    steps,
    log,
    failAt,
    error,
    describe: () =>
      names
        .map((n, i) => `${n}${i === failAt ? ' (fails)' : ''}${withCompensation[i] ? (i === failingCompensation ? ' [its compensation fails]' : '') : ' [no compensation]'}`)
        .join(', '),
    expectedLog: () => [...ran.map((n) => `run ${n}`), ...attempted().map((i) => `compensate ${names[i]}`)],
    expectedPending: () => (failingCompensation === undefined ? [] : due.slice(due.indexOf(failingCompensation)).map((i) => names[i] ?? '')),
    expectedSpans: () => [
      ...ran.map((n, i): SpanShape => (i === failAt ? { name: `step ${n}`, status: 'error', attributes: { 'error.type': error?.name ?? '' } } : { name: `step ${n}` })),
      ...attempted().map((i): SpanShape => ({ name: `compensate ${names[i]}`, ...(i === failingCompensation ? { status: 'error' as const, attributes: { 'error.type': 'UndoFailedError' } } : {}) })),
    ],
  };
}

/** The edges every run: the first step fails (nothing to undo), the last one fails, none fails, a step without a compensation in the middle. */
export function edgeSagas(): ScriptedSaga[] {
  return [
    scriptedSaga({ count: random.int(2, 5), failAt: 0 }),
    scriptedSaga({ count: 4, failAt: 3, withCompensation: [true, false, true, false] }),
    scriptedSaga({ failAt: 'none' }),
    scriptedSaga({ count: 3, failAt: 2, withCompensation: [true, true, true] }),
  ];
}

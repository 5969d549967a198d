/**
 * The rig of the cqrs checks: a bus, two separately instrumented stores, the learner's app, and a
 * reference that folds the commands the way the README says the bank behaves. Every command runs
 * inside a SERVER span of the checker's, in a trace of its own.
 */
import { SpanKind } from '@opentelemetry/api';
import { fail, random, show, verify, type SpanNode, type TraceHarness, type TraceTree } from '#checks';
import { MessageBus, TracedStore } from '#kit';
import type { BankApp, BankAppOptions } from '#target/03-architecture/03-cqrs/app.ts';
import type { BankTopics } from '#target/03-architecture/03-cqrs/events.ts';
import type { Account } from '#target/03-architecture/03-cqrs/command/write-model.ts';
import type { AccountView } from '#target/03-architecture/03-cqrs/query/read-model.ts';
import { verifySequence } from './sequences.ts';

/** The collections of the two stores: their spans are `get accounts`, `set account_views`… */
export const WRITE = 'accounts';
export const READ = 'account_views';
export const PROCESS = 'process account-events';
export const QUERY = 'query account';
export const GET_ACCOUNT = 'GET /accounts/:id';

export type Command =
  | { kind: 'open'; accountId: string; owner: string }
  | { kind: 'deposit'; accountId: string; amountCents: number }
  | { kind: 'withdraw'; accountId: string; amountCents: number };

export const COMMAND_SPAN = { open: 'command open-account', deposit: 'command deposit', withdraw: 'command withdraw' } as const;
export const REQUEST_SPAN = { open: 'POST /accounts', deposit: 'POST /accounts/:id/deposits', withdraw: 'POST /accounts/:id/withdrawals' } as const;
export const EVENT_TYPE = { open: 'AccountOpened', deposit: 'MoneyDeposited', withdraw: 'MoneyWithdrawn' } as const;

export function describe(command: Command): string {
  switch (command.kind) {
    case 'open':
      return `openAccount("${command.accountId}", "${command.owner}")`;
    case 'deposit':
      return `deposit("${command.accountId}", ${command.amountCents})`;
    case 'withdraw':
      return `withdraw("${command.accountId}", ${command.amountCents})`;
  }
}

/** What the README says the bank does: the views the queries must show, and which commands are refused. */
export class Reference {
  readonly views = new Map<string, AccountView>();

  /** The name of the error `command` must be refused with, or undefined when it is accepted. */
  refusal(command: Command): string | undefined {
    const view = this.views.get(command.accountId);
    if (command.kind === 'open') return view ? 'DuplicateAccountError' : undefined;
    if (!view) return 'UnknownAccountError';
    if (command.kind === 'withdraw' && command.amountCents > view.balanceCents) return 'InsufficientFundsError';
    return undefined;
  }

  /** Applies an accepted command to the views. */
  apply(command: Command): void {
    if (command.kind === 'open') {
      this.views.set(command.accountId, { accountId: command.accountId, owner: command.owner, balanceCents: 0, movements: [] });
      return;
    }
    const view = this.views.get(command.accountId);
    if (!view) return;
    view.balanceCents += command.kind === 'deposit' ? command.amountCents : -command.amountCents;
    view.movements.push({ kind: command.kind === 'deposit' ? 'deposit' : 'withdrawal', amountCents: command.amountCents, balanceAfterCents: view.balanceCents });
  }

  ids(): string[] {
    return [...this.views.keys()];
  }
}

export interface Handled {
  command: Command;
  /** The trace of the checker's request span around the command. */
  traceId: string;
  /** What the command rejected with, if it did. */
  error: unknown;
  /** The refusal the reference expects, or the store's failure the rig caused. */
  expectedError: string | undefined;
}

export interface Rig {
  app: BankApp;
  bus: MessageBus<BankTopics>;
  writeStore: TracedStore<Account>;
  readStore: TracedStore<AccountView>;
  reference: Reference;
  history: Handled[];
  /** Makes the write store's next `set` of `accountId` reject with an error of that name. */
  failNextSave(accountId: string, errorName: string): void;
}

/** A fresh bank: the learner's app over a new bus and two new stores. */
export function newRig(createBankApp: (options: BankAppOptions) => BankApp): Rig {
  const failing = new Map<string, string>();
  const bus = new MessageBus<BankTopics>();
  const writeStore = new TracedStore<Account>(WRITE, {
    fault: (call) => {
      const name = call.operation === 'set' ? failing.get(call.key) : undefined;
      if (name === undefined) return undefined;
      failing.delete(call.key);
      return Object.assign(new Error(`the write store could not save ${call.key}`), { name });
    },
  });
  const readStore = new TracedStore<AccountView>(READ);
  const app = createBankApp({ bus, writeStore, readStore });
  return {
    app,
    bus,
    writeStore,
    readStore,
    reference: new Reference(),
    history: [],
    failNextSave: (accountId, errorName) => void failing.set(accountId, errorName),
  };
}

/** Runs `work` inside a SERVER span of the checker's, in a new trace: each call is a request of its own. */
export function inRequest<T>(otel: TraceHarness, name: string, work: () => Promise<T>): Promise<{ traceId: string; value: T | undefined; error: unknown }> {
  return otel.tracer('tracecraft.checker').startActiveSpan(name, { kind: SpanKind.SERVER, root: true }, async (span) => {
    const traceId = span.spanContext().traceId;
    try {
      return { traceId, value: await work(), error: undefined };
    } catch (error) {
      return { traceId, value: undefined, error: error ?? new Error('rejected with nothing') };
    } finally {
      span.end();
    }
  });
}

function send(app: BankApp, command: Command): Promise<void> {
  switch (command.kind) {
    case 'open':
      return app.commands.openAccount(command.accountId, command.owner);
    case 'deposit':
      return app.commands.deposit(command.accountId, command.amountCents);
    case 'withdraw':
      return app.commands.withdraw(command.accountId, command.amountCents);
  }
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

/**
 * Sends one command and checks it was accepted or rejected as the README says. `failedSave` names
 * the error the write store's save was made to fail with: the command must reject with it.
 */
export async function run(otel: TraceHarness, r: Rig, command: Command, failedSave?: string): Promise<Handled> {
  const refusal = r.reference.refusal(command);
  const expectedError = refusal ?? failedSave;
  const { traceId, error } = await inRequest(otel, REQUEST_SPAN[command.kind], () => send(r.app, command));
  if (expectedError === undefined) {
    if (error !== undefined) fail(`${describe(command)} must succeed, but it rejected with ${show(error)}`);
    r.reference.apply(command);
  } else {
    const why = refusal ? `the write model's ${refusal}` : `the store's error (${failedSave}): its save failed`;
    if (error === undefined) fail(`${describe(command)} must reject with ${why}, but it succeeded`);
    verify(errorName(error), `the name of the error ${describe(command)} rejected with (expected ${why})`).is(expectedError);
  }
  const handled = { command, traceId, error, expectedError };
  r.history.push(handled);
  return handled;
}

export function accountId(): string {
  return random.id('acc-');
}

export function owner(): string {
  return `${random.pick(['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'frances'])}-${random.word(4)}`;
}

/** A random amount; for a withdrawal, sometimes more than the balance so that it is refused. */
function amount(r: Rig, id: string, kind: 'deposit' | 'withdraw'): number {
  if (kind === 'deposit') return random.int(1, 50_000);
  const balance = r.reference.views.get(id)?.balanceCents ?? 0;
  return random.int(1, Math.max(1, Math.floor(balance * 1.3)));
}

/** A random command against the accounts opened so far: mostly deposits and withdrawals, now and then an unknown account or a second open. */
export function randomCommand(r: Rig): Command {
  const ids = r.reference.ids();
  const roll = random.int(1, 20);
  if (roll === 1 || ids.length === 0) return { kind: 'open', accountId: accountId(), owner: owner() };
  if (roll === 2) return { kind: 'open', accountId: random.pick(ids), owner: owner() };
  if (roll === 3) return { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 1000) };
  const id = random.pick(ids);
  const kind = roll % 2 === 0 ? 'deposit' : 'withdraw';
  return { kind, accountId: id, amountCents: amount(r, id, kind) };
}

export async function openAccounts(otel: TraceHarness, r: Rig, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = accountId();
    await run(otel, r, { kind: 'open', accountId: id, owner: owner() });
    ids.push(id);
  }
  return ids;
}

/**
 * A busy bank: some accounts, then every kind of command at least once (a deposit, a withdrawal,
 * each refusal) among random ones.
 */
export async function busyBank(otel: TraceHarness, r: Rig): Promise<void> {
  const [id = accountId()] = await openAccounts(otel, r, random.int(2, 4));
  const deposited = random.int(100, 50_000);
  const fixed: Command[] = [
    { kind: 'deposit', accountId: id, amountCents: deposited },
    { kind: 'withdraw', accountId: id, amountCents: random.int(1, deposited) },
    { kind: 'withdraw', accountId: id, amountCents: deposited + random.int(1, 5_000) },
    { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 1_000) },
    { kind: 'open', accountId: id, owner: owner() },
  ];
  for (const command of fixed) await run(otel, r, command);
  for (let i = random.int(3, 8); i > 0; i--) await run(otel, r, randomCommand(r));
}

/** Lets the projection catch up, and fails when it threw on the way. */
export async function caughtUp(r: Rig): Promise<void> {
  await r.bus.drain();
  const failure = r.bus.failures[0];
  if (failure) {
    const message = r.bus.published.find((m) => m.id === failure.messageId);
    fail(`the projection threw while applying message ${failure.messageId} (${show(message?.body)}): ${show(failure.error)}`);
  }
}

/** Compares every query answer with the reference. */
export async function expectViews(r: Rig, when: string): Promise<void> {
  for (const [id, expected] of r.reference.views) {
    const view = await r.app.queries.getAccount(id);
    const asked = `queries.getAccount("${id}") ${when}`;
    if (view === undefined) fail(`${asked} is undefined, expected the account as the commands left it (${show(expected)})`);
    const { movements, ...account } = view;
    const { movements: expectedMovements, ...expectedAccount } = expected;
    verify(account, `${asked} (the account as the commands left it)`).equals(expectedAccount);
    verifySequence(movements, expectedMovements, `the movements of ${asked} (the statement, oldest first)`);
  }
}

export function traceOf(otel: TraceHarness, traceId: string): TraceTree[] {
  return otel.traces().filter((t) => t.traceId === traceId);
}

export function spansOf(otel: TraceHarness, traceId: string): SpanNode[] {
  return otel.spans().filter((s) => s.traceId === traceId);
}

export function storeSpans(spans: readonly SpanNode[], collection: string): SpanNode[] {
  return spans.filter((s) => s.attributes['db.collection.name'] === collection);
}

/** The learner's command span: in the trace of the checker's request span. */
export function commandSpan(otel: TraceHarness, handled: Handled): SpanNode | undefined {
  return spansOf(otel, handled.traceId).find((s) => s.name === COMMAND_SPAN[handled.command.kind]);
}

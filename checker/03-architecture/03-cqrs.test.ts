import { expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import {
  expectAllEnded,
  expectNoViolations,
  expectTrace,
  forbidImports,
  random,
  readImportGraph,
  spansNamed,
  targetFolder,
  useTracing,
  type SpanNode,
  type SpanShape,
  type TraceTree,
} from '#checks';
import { MessageBus, TracedStore } from '#kit';
import { createBankApp, type BankApp } from '#target/03-architecture/03-cqrs/app.ts';
import type { BankTopics } from '#target/03-architecture/03-cqrs/events.ts';
import type { Account } from '#target/03-architecture/03-cqrs/command/write-model.ts';
import type { AccountView } from '#target/03-architecture/03-cqrs/query/read-model.ts';

const otel = useTracing();

/** The collections of the two stores the checks hand to createBankApp: their spans are `get accounts`, `set account_views`… */
const WRITE = 'accounts';
const READ = 'account_views';
const PROCESS = 'process account-events';
const QUERY = 'query account';
const GET_ACCOUNT = 'GET /accounts/:id';

// ---------------------------------------------------------------------------------------------
// The rig: a bus, two separately instrumented stores, the app, and a reference of what it should show
// ---------------------------------------------------------------------------------------------

type Command =
  | { kind: 'open'; accountId: string; owner: string }
  | { kind: 'deposit'; accountId: string; amountCents: number }
  | { kind: 'withdraw'; accountId: string; amountCents: number };

const COMMAND_SPAN = { open: 'command open-account', deposit: 'command deposit', withdraw: 'command withdraw' } as const;
const REQUEST_SPAN = { open: 'POST /accounts', deposit: 'POST /accounts/:id/deposits', withdraw: 'POST /accounts/:id/withdrawals' } as const;
const EVENT_TYPE = { open: 'AccountOpened', deposit: 'MoneyDeposited', withdraw: 'MoneyWithdrawn' } as const;

function show(command: Command): string {
  switch (command.kind) {
    case 'open':
      return `openAccount("${command.accountId}", "${command.owner}")`;
    case 'deposit':
      return `deposit("${command.accountId}", ${command.amountCents})`;
    case 'withdraw':
      return `withdraw("${command.accountId}", ${command.amountCents})`;
  }
}

/** What the README says the bank does, kept by the checker: the views the queries must show, and which commands fail. */
class Reference {
  readonly views = new Map<string, AccountView>();

  /** Applies `command`; returns the name of the error it must fail with, or undefined when it is accepted. */
  apply(command: Command): string | undefined {
    const view = this.views.get(command.accountId);
    if (command.kind === 'open') {
      if (view) return 'DuplicateAccountError';
      this.views.set(command.accountId, { accountId: command.accountId, owner: command.owner, balanceCents: 0, movements: [] });
      return undefined;
    }
    if (!view) return 'UnknownAccountError';
    if (command.kind === 'withdraw' && command.amountCents > view.balanceCents) return 'InsufficientFundsError';
    const delta = command.kind === 'deposit' ? command.amountCents : -command.amountCents;
    view.balanceCents += delta;
    view.movements.push({ kind: command.kind === 'deposit' ? 'deposit' : 'withdrawal', amountCents: command.amountCents, balanceAfterCents: view.balanceCents });
    return undefined;
  }

  ids(): string[] {
    return [...this.views.keys()];
  }
}

interface Handled {
  command: Command;
  /** The trace of the checker's request span around the command. */
  traceId: string;
  /** The error the command rejected with, if any. */
  error: unknown;
  /** What the reference says it must fail with. */
  expectedError: string | undefined;
}

interface Rig {
  app: BankApp;
  bus: MessageBus<BankTopics>;
  writeStore: TracedStore<Account>;
  readStore: TracedStore<AccountView>;
  reference: Reference;
  history: Handled[];
}

function rig(): Rig {
  const bus = new MessageBus<BankTopics>();
  const writeStore = new TracedStore<Account>(WRITE);
  const readStore = new TracedStore<AccountView>(READ);
  const app = createBankApp({ bus, writeStore, readStore });
  return { app, bus, writeStore, readStore, reference: new Reference(), history: [] };
}

/** Runs `work` inside a SERVER span of the checker's, in a new trace: each call is a request of its own. */
async function inRequest<T>(name: string, work: () => Promise<T>): Promise<{ traceId: string; value: T | undefined; error: unknown }> {
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

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

/** Sends one command, checks it was accepted or rejected as the README says, and remembers it. */
async function run(r: Rig, command: Command): Promise<Handled> {
  const expectedError = r.reference.apply(command);
  const { traceId, error } = await inRequest(REQUEST_SPAN[command.kind], () => send(r.app, command));
  if (expectedError === undefined) {
    expect(error, `${show(command)} must succeed, but it rejected with ${errorName(error)}`).toBeUndefined();
  } else {
    expect(error, `${show(command)} must reject with ${expectedError}, but it succeeded`).toBeDefined();
    expect(errorName(error), `${show(command)} must reject with the write model's ${expectedError}`).toBe(expectedError);
  }
  const handled = { command, traceId, error, expectedError };
  r.history.push(handled);
  return handled;
}

function accountId(): string {
  return random.id('acc-');
}

function owner(): string {
  return `${random.pick(['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'frances'])}-${random.word(4)}`;
}

/** A random amount; for a withdrawal, sometimes more than the balance so that it is refused. */
function amount(r: Rig, id: string, kind: 'deposit' | 'withdraw'): number {
  if (kind === 'deposit') return random.int(1, 50_000);
  const balance = r.reference.views.get(id)?.balanceCents ?? 0;
  return random.int(1, Math.max(1, Math.floor(balance * 1.3)));
}

/** A random command against the accounts opened so far: mostly deposits and withdrawals, now and then an unknown account or a second open. */
function randomCommand(r: Rig): Command {
  const ids = r.reference.ids();
  const roll = random.int(1, 20);
  if (roll === 1 || ids.length === 0) return { kind: 'open', accountId: accountId(), owner: owner() };
  if (roll === 2) return { kind: 'open', accountId: random.pick(ids), owner: owner() };
  if (roll === 3) return { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 1000) };
  const id = random.pick(ids);
  const kind = roll % 2 === 0 ? 'deposit' : 'withdraw';
  return { kind, accountId: id, amountCents: amount(r, id, kind) };
}

async function openAccounts(r: Rig, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = accountId();
    await run(r, { kind: 'open', accountId: id, owner: owner() });
    ids.push(id);
  }
  return ids;
}

/** Lets the projection catch up, and fails when it threw on the way. */
async function caughtUp(r: Rig): Promise<void> {
  await r.bus.drain();
  const failure = r.bus.failures[0];
  expect(
    failure,
    failure && `the projection threw while applying message ${failure.messageId} (${JSON.stringify(r.bus.published.find((m) => m.id === failure.messageId)?.body)}): ${errorName(failure.error)}: ${failure.error instanceof Error ? failure.error.message : ''}`,
  ).toBeUndefined();
}

/** Compares every query answer with the reference. */
async function expectViews(r: Rig, when: string): Promise<void> {
  for (const [id, expected] of r.reference.views) {
    const view = await r.app.queries.getAccount(id);
    expect(
      view,
      `${when}, queries.getAccount("${id}") must show the account as the commands left it (balance ${expected.balanceCents}, ${expected.movements.length} movements, oldest first)`,
    ).toEqual(expected);
  }
}

function traceOf(traceId: string): TraceTree[] {
  return otel.traces().filter((t) => t.traceId === traceId);
}

function spansOf(traceId: string): SpanNode[] {
  return otel.spans().filter((s) => s.traceId === traceId);
}

function storeSpans(spans: readonly SpanNode[], collection: string): SpanNode[] {
  return spans.filter((s) => s.attributes['db.collection.name'] === collection);
}

/** The learner's command span: the child of the checker's request span. */
function commandSpan(handled: Handled): SpanNode | undefined {
  return spansOf(handled.traceId).find((s) => s.name === COMMAND_SPAN[handled.command.kind]);
}

/** A busy bank: some accounts, a random mix of commands, some of them refused. */
async function busyBank(r: Rig, commands = random.int(6, 12)): Promise<void> {
  await openAccounts(r, random.int(2, 4));
  for (let i = 0; i < commands; i++) await run(r, randomCommand(r));
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('once the projection has caught up, a query answers each account as the commands left it, statement included', async () => {
  const r = rig();
  await openAccounts(r, random.int(2, 4));
  const commands = random.int(8, 16);
  for (let i = 0; i < commands; i++) {
    await run(r, randomCommand(r));
    if (random.int(1, 3) === 1) {
      await caughtUp(r);
      await expectViews(r, `after ${r.history.length} commands and bus.drain()`);
    }
  }
  await caughtUp(r);
  await expectViews(r, `after ${r.history.length} commands and bus.drain()`);
  const unknown = accountId();
  expect(await r.app.queries.getAccount(unknown), `no account "${unknown}" was ever opened: getAccount answers undefined`).toBeUndefined();
});

it('a refused command changes nothing: it rejects with the write model\'s error and publishes no event', async () => {
  const r = rig();
  const [id = ''] = await openAccounts(r, 1);
  const deposited = random.int(100, 90_000);
  await run(r, { kind: 'deposit', accountId: id, amountCents: deposited });
  await caughtUp(r);
  const published = r.bus.published.length;
  const before = await r.app.queries.getAccount(id);

  const refused: Command[] = [
    { kind: 'withdraw', accountId: id, amountCents: deposited + random.int(1, 5_000) },
    { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 5_000) },
    { kind: 'open', accountId: id, owner: owner() },
  ];
  for (const command of refused) {
    await run(r, command);
    expect(r.bus.published.length, `${show(command)} was refused: it must publish no event (nothing happened)`).toBe(published);
  }
  expect(r.writeStore.peek(id)?.balanceCents, `the refused commands must leave account ${id} in the write store as it was`).toBe(deposited);
  await caughtUp(r);
  expect(await r.app.queries.getAccount(id), 'the refused commands must leave the read model as it was').toEqual(before);
});

it('the command side uses only the write store: a command never reads or writes the read store', async () => {
  const r = rig();
  await openAccounts(r, random.int(1, 3));
  await caughtUp(r);
  const commands = random.int(4, 8);
  for (let i = 0; i < commands; i++) {
    const command = randomCommand(r);
    const readCalls = r.readStore.calls.length;
    const writeCalls = r.writeStore.calls.length;
    const viewWrites = r.readStore.count('set', command.accountId);
    const handled = await run(r, command);
    expect(
      r.readStore.calls.slice(readCalls),
      `while ${show(command)} ran, it used the read store: the command side decides on the write model only, and the read model is updated later, by the projection`,
    ).toEqual([]);
    expect(r.writeStore.calls.length, `${show(command)} must load the account from the write store`).toBeGreaterThan(writeCalls);
    await caughtUp(r);
    if (handled.expectedError === undefined) {
      expect(
        r.readStore.count('set', command.accountId),
        `after ${show(command)} and bus.drain(), the projection must have written the view of ${command.accountId} to the read store`,
      ).toBeGreaterThan(viewWrites);
    }
  }
});

it('the query side uses only the read store: a query never touches the write store', async () => {
  const r = rig();
  await busyBank(r);
  await caughtUp(r);
  const writeCalls = r.writeStore.calls.length;
  const ids = [...r.reference.ids(), accountId()];
  const queries = random.int(3, 8);
  for (let i = 0; i < queries; i++) {
    const id = random.pick(ids);
    const reads = r.readStore.count('get', id);
    await r.app.queries.getAccount(id);
    expect(r.writeStore.calls.slice(writeCalls), `getAccount("${id}") used the write store: queries read the read model only`).toEqual([]);
    expect(r.readStore.count('get', id), `getAccount("${id}") must read the view from the read store`).toBeGreaterThan(reads);
  }
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('trace: a command\'s trace holds write-store spans only, and a query\'s trace read-store spans only', async () => {
  const r = rig();
  await busyBank(r);
  await caughtUp(r);
  const asked = random.pick(r.reference.ids());
  const query = await inRequest(GET_ACCOUNT, () => r.app.queries.getAccount(asked));
  expectAllEnded(otel);

  for (const handled of r.history) {
    const { command } = handled;
    expectTrace(
      traceOf(handled.traceId),
      {
        name: REQUEST_SPAN[command.kind],
        children: [
          {
            name: COMMAND_SPAN[command.kind],
            kind: 'internal',
            attributes: { 'app.account.id': command.accountId },
            children: [{ name: new RegExp(`^(get|set) ${WRITE}$`), kind: 'client' }],
          },
        ],
      },
      `${show(command)}: the command span is a child of the caller's span, and the write store's spans are its children`,
    );
    const wrong = storeSpans(spansOf(handled.traceId), READ).map((s) => `"${s.name}"`);
    const joined = spansOf(handled.traceId).some((s) => s.name === PROCESS)
      ? ` The projection's "${PROCESS}" span joined this trace: it must start a trace of its own, and link to the command.`
      : '';
    expect(wrong, `the trace of ${show(command)} holds read-store spans (${wrong.join(', ')}): a command must not touch the read model.${joined}`).toEqual([]);
  }

  expectTrace(
    traceOf(query.traceId),
    {
      name: GET_ACCOUNT,
      children: [{ name: QUERY, kind: 'internal', attributes: { 'app.account.id': asked }, children: [{ name: `get ${READ}`, kind: 'client' }] }],
    },
    `getAccount("${asked}"): the query span is a child of the caller's span, and the read store's span is its child`,
  );
  const wrong = storeSpans(spansOf(query.traceId), WRITE).map((s) => `"${s.name}"`);
  expect(wrong, `the trace of getAccount("${asked}") holds write-store spans (${wrong.join(', ')}): a query must not touch the write model`).toEqual([]);
});

it('trace: a refused command\'s span is ERROR with error.type, and no projection span follows it', async () => {
  const r = rig();
  const [id = ''] = await openAccounts(r, 1);
  const deposited = random.int(100, 90_000);
  await run(r, { kind: 'deposit', accountId: id, amountCents: deposited });
  const command: Command = random.pick<Command>([
    { kind: 'withdraw', accountId: id, amountCents: deposited + random.int(1, 5_000) },
    { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 5_000) },
  ]);
  const refused = await run(r, command);
  await caughtUp(r);
  expectAllEnded(otel);
  expectTrace(
    traceOf(refused.traceId),
    {
      name: REQUEST_SPAN[command.kind],
      children: [{ name: COMMAND_SPAN[command.kind], status: 'error', attributes: { 'error.type': refused.expectedError ?? '' } }],
    },
    `${show(command)} is refused: its command span is ERROR with error.type = the error's name`,
  );
  const span = commandSpan(refused);
  const following = spansNamed(otel, PROCESS).filter((p) => p.links.some((l) => l.spanId === span?.spanId));
  expect(following, 'a refused command publishes no event, so no projection span links to it').toEqual([]);
});

it('trace: the projection runs in a trace of its own, a CONSUMER span linked to the command that caused it', async () => {
  const r = rig();
  await busyBank(r);
  await caughtUp(r);
  expectAllEnded(otel);

  const accepted = r.history.filter((h) => h.expectedError === undefined);
  const commandTraces = new Set(r.history.map((h) => h.traceId));
  const processed = spansNamed(otel, PROCESS);
  for (const span of processed) {
    const parent = otel.spans().find((s) => s.spanId === span.parentSpanId);
    expect(
      parent && `"${PROCESS}" is a child of "${parent.name}"`,
      `the projection's span must be a root: it runs later, in no request, so a command can't be its parent. Link to the command instead of making it the parent`,
    ).toBeUndefined();
    expect(commandTraces.has(span.traceId), `"${PROCESS}" must start a trace of its own, not join a command's trace`).toBe(false);
    const wrong = storeSpans(spansOf(span.traceId), WRITE).map((s) => `"${s.name}"`);
    expect(wrong, `the projection's trace holds write-store spans (${wrong.join(', ')}): the projection reads the event, never the write model`).toEqual([]);
  }

  for (const handled of accepted) {
    const { command } = handled;
    const cause = commandSpan(handled);
    expect(cause, `${show(command)}: no "${COMMAND_SPAN[command.kind]}" span in its trace`).toBeDefined();
    const shape: SpanShape = {
      name: PROCESS,
      kind: 'consumer',
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'account-events',
        'app.event.type': EVENT_TYPE[command.kind],
        'app.account.id': command.accountId,
      },
      linkCount: 1,
      links: [{ to: { traceId: cause?.traceId ?? '', spanId: cause?.spanId ?? '' } }],
      children: [{ name: `set ${READ}`, kind: 'client' }],
    };
    expectTrace(
      otel,
      shape,
      `${show(command)} published ${EVENT_TYPE[command.kind]}: the projection's span that applied it is a root CONSUMER span with one link, to the "${COMMAND_SPAN[command.kind]}" span (inject its context into the event's headers while it is active)`,
    );
  }
  expect(processed.length, `${accepted.length} commands were accepted, so ${accepted.length} events were projected: one "${PROCESS}" span each`).toBe(accepted.length);
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('structure: the two sides meet only through events.ts: command/ never imports query/, and query/ never imports command/', async () => {
  const graph = await readImportGraph(targetFolder('03-architecture/03-cqrs'));
  expectNoViolations(
    [
      ...forbidImports(graph, {
        from: 'command/**',
        to: 'query/**',
        because: 'the command side must not know how the read model is shaped; it only publishes events',
      }),
      ...forbidImports(graph, {
        from: 'query/**',
        to: 'command/**',
        because: 'the query side must not know the write model; all it learns comes from the events',
      }),
    ],
    'the sides of CQRS depend on the event contract, never on each other',
  );
});

it('structure: the models and the event contract import no OpenTelemetry', async () => {
  const graph = await readImportGraph(targetFolder('03-architecture/03-cqrs'));
  expectNoViolations(
    forbidImports(graph, {
      from: ['events.ts', 'command/write-model.ts', 'query/read-model.ts'],
      to: '@opentelemetry/*',
      because: 'tracing belongs where the sides do their work (handlers, projection, queries), not in the models',
      transitive: true,
    }),
    'the models stay free of tracing',
  );
});

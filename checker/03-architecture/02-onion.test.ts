import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import {
  absent,
  expectAllEnded,
  expectNoViolations,
  expectTrace,
  forbidImports,
  layersPointInward,
  matchesGlob,
  random,
  readImportGraph,
  spansNamed,
  targetFolder,
  CheckFailure,
  useTracing,
  type SpanNode,
  type SpanShape,
  type TraceTree,
} from '#checks';
import { deferred, httpRequest, InMemoryDatabase, startHttpServer, type DatabaseCall, type LoopbackServer } from '#kit';
import { createApp } from '#target/03-architecture/02-onion/presentation/app.ts';

const otel = useTracing();

const EXERCISE = '03-architecture/02-onion';
const RINGS = ['domain', 'application', 'infrastructure', 'presentation'];
const SERVER = 'POST /transfers';
const USE_CASE = 'TransferMoney';
const GET = 'AccountRepository.get';
const COMMIT = 'UnitOfWork.commit';
const EVENT = 'MoneyTransferred';
const HANDLERS = ['NotifyPayer', 'NotifyPayee'];
const ANSWER_MS = 1500;

const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Notification {
  accountId: string;
  kind: 'debit' | 'credit';
  amountCents: number;
}

interface Bank {
  url: string;
  database: InMemoryDatabase;
  notifications: readonly Notification[];
  ids: string[];
}

interface BankOptions {
  accounts?: number;
  fault?: (call: DatabaseCall) => Error | undefined;
  latency?: (call: DatabaseCall) => Promise<void>;
}

/** Accounts with random ids and balances in the `accounts` table, and the learner's app serving them. */
async function openBank(options: BankOptions = {}): Promise<Bank> {
  const ids = Array.from({ length: options.accounts ?? random.int(3, 5) }, () => random.id('acc-'));
  const database = new InMemoryDatabase({
    seed: { accounts: ids.map((id) => [id, { id, balanceCents: random.int(1_000, 50_000) }] as const) },
    ...(options.fault ? { fault: options.fault } : {}),
    ...(options.latency ? { latency: options.latency } : {}),
  });
  const app = createApp({ database });
  const server = await startHttpServer(app.handler);
  servers.push(server);
  return { url: server.url, database, notifications: app.notifications, ids };
}

function balanceOf(bank: Bank, id: string): number {
  return bank.database.peek<{ balanceCents: number }>('accounts', id)?.balanceCents ?? NaN;
}

function balances(bank: Bank): Record<string, number> {
  return Object.fromEntries(bank.ids.map((id) => [id, balanceOf(bank, id)]));
}

async function postTransfer(url: string, from: string, to: string, amountCents: number): Promise<number> {
  const response = await httpRequest(`${url}/transfers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to, amountCents }),
    timeoutMs: ANSWER_MS,
  }).catch((error: unknown) => {
    throw new CheckFailure(`POST /transfers got no answer (${(error as Error).message}): does the handler end every response?`);
  });
  return response.status;
}

/** The server may end its span just after the answer left: give open spans a moment to end. */
async function spansSettled(): Promise<void> {
  const deadline = Date.now() + 500;
  while (otel.openSpans().length > 0 && Date.now() < deadline) await sleep(5);
}

function twoAccounts(bank: Bank): [string, string] {
  const from = random.pick(bank.ids);
  const to = random.pick(bank.ids.filter((id) => id !== from));
  return [from, to];
}

function sorted(notifications: readonly Notification[]): string[] {
  return notifications.map((n) => `${n.kind} ${n.amountCents} ${n.accountId}`).sort();
}

function commitFault(): Error {
  const error = new Error(`could not commit: connection to the database lost after ${random.int(1, 900)} ms`);
  error.name = random.pick(['DatabaseUnavailableError', 'SerializationFailure', 'ConnectionResetError']);
  return error;
}

function requestTrace(): TraceTree | undefined {
  return otel.traces().find((t) => t.roots.some((root) => root.name === SERVER));
}

function namedIn(trace: TraceTree | undefined, name: string): SpanNode[] {
  return trace?.spans.filter((span) => span.name === name) ?? [];
}

function domainEventsOn(span: SpanNode | undefined): string[] {
  return span?.events.filter((e) => e.name === EVENT).map((e) => e.name) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('moves the money: balances after a run of random transfers, and a notification to each side of each one', async () => {
  const bank = await openBank();
  const expected = balances(bank);
  const notifications: Notification[] = [];
  const story: string[] = [];
  for (let i = 0; i < 8; i++) {
    const [from, to] = twoAccounts(bank);
    const available = expected[from] ?? 0;
    const affordable = available > 0 && random.int(0, 3) > 0;
    const amountCents = affordable ? random.int(1, available) : available + random.int(1, 5_000);
    const status = await postTransfer(bank.url, from, to, amountCents);
    story.push(`${amountCents} from ${from} (balance ${available}) to ${to}`);
    if (affordable) {
      expect(status, `transfer ${story.at(-1)}: answered 200`).toBe(200);
      expected[from] = available - amountCents;
      expected[to] = (expected[to] ?? 0) + amountCents;
      notifications.push({ accountId: from, kind: 'debit', amountCents }, { accountId: to, kind: 'credit', amountCents });
    } else {
      expect(status, `transfer ${story.at(-1)}: more than the balance, answered 422`).toBe(422);
    }
  }
  expect(balances(bank), `the balances in the accounts table after: ${story.join('; ')}`).toEqual(expected);
  expect(
    sorted(bank.notifications),
    'each transfer done notifies the payer (debit) and the payee (credit), once; a rejected one notifies nobody',
  ).toEqual(sorted(notifications));
});

it('rejects a transfer beyond the balance with 422: nothing changes, nobody is notified', async () => {
  const bank = await openBank();
  const before = balances(bank);
  const [from, to] = twoAccounts(bank);
  const status = await postTransfer(bank.url, from, to, (before[from] ?? 0) + random.int(1, 10_000));
  expect(status, 'insufficient funds: answered 422').toBe(422);
  expect(balances(bank), 'a rejected transfer changes no balance').toEqual(before);
  expect(bank.notifications, 'a rejected transfer notifies nobody: no MoneyTransferred happened').toEqual([]);
});

it('announces nothing when the commit fails: no balance changes, no notification', async () => {
  const fault = commitFault();
  const bank = await openBank({ fault: (call) => (call.operation === 'commit' ? fault : undefined) });
  const before = balances(bank);
  const [from, to] = twoAccounts(bank);
  const status = await postTransfer(bank.url, from, to, random.int(1, before[from] ?? 1));
  expect(status, `the commit failed (${fault.name}): answered 500`).toBe(500);
  expect(balances(bank), 'a transfer whose commit failed changes no balance').toEqual(before);
  expect(
    bank.notifications,
    'the commit failed, so the money never moved: a domain event is dispatched only after its commit succeeded',
  ).toEqual([]);
});

it('dispatches the event only once the commit has succeeded, not while it is in flight', async () => {
  const gate = deferred<void>();
  let committing = false;
  const bank = await openBank({
    latency: async (call) => {
      if (call.operation !== 'commit') return;
      committing = true;
      await gate.promise;
    },
  });
  const [from, to] = twoAccounts(bank);
  const amountCents = random.int(1, balanceOf(bank, from));
  const answer = postTransfer(bank.url, from, to, amountCents);
  const deadline = Date.now() + 1000;
  while (!committing && Date.now() < deadline) await sleep(2);
  expect(committing, 'the transfer commits its unit of work').toBe(true);
  await sleep(10);
  const early = [...bank.notifications];
  gate.resolve();
  expect(await answer, 'the transfer is answered 200 once the commit is done').toBe(200);
  expect(early, 'while the commit is still in flight, no handler has run: the event is not a fact yet').toEqual([]);
  expect(sorted(bank.notifications), 'after the commit, both sides are notified').toEqual(
    sorted([
      { accountId: from, kind: 'debit', amountCents },
      { accountId: to, kind: 'credit', amountCents },
    ]),
  );
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('every import points inward: domain ← application ← infrastructure ← presentation', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  for (const ring of RINGS) {
    expect(graph.files.filter((file) => matchesGlob(file, ring)), `the ${ring} ring lives in ${ring}/`).not.toEqual([]);
  }
  expect(
    graph.files.filter((file) => !RINGS.some((ring) => matchesGlob(file, ring))),
    'every file belongs to one of the four rings (a folder of its own)',
  ).toEqual([]);
  expectNoViolations(layersPointInward(graph, RINGS), 'dependencies point inward only, type-only imports included');
});

it('the domain never imports OpenTelemetry', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  expectNoViolations(
    forbidImports(graph, { from: 'domain/**', to: '@opentelemetry/*', because: 'the domain is pure business rules' }),
    'the domain ring must not depend on OpenTelemetry',
  );
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function handlerShape(name: string): SpanShape {
  return { name, kind: 'internal', attributes: { 'app.domain_event.name': EVENT } };
}

it('traces a transfer ring by ring, with the domain event on the use case span and a child span per handler', async () => {
  const bank = await openBank();
  const [from, to] = twoAccounts(bank);
  const amountCents = random.int(1, balanceOf(bank, from));
  await postTransfer(bank.url, from, to, amountCents);
  await spansSettled();
  expectAllEnded(otel, 'every span ends');
  expectTrace(
    otel,
    {
      name: SERVER,
      kind: 'server',
      status: 'unset',
      attributes: { 'http.request.method': 'POST', 'http.route': '/transfers', 'http.response.status_code': 200 },
      children: [
        {
          name: USE_CASE,
          kind: 'internal',
          status: 'unset',
          events: [
            {
              name: EVENT,
              attributes: { 'app.transfer.from': from, 'app.transfer.to': to, 'app.transfer.amount_cents': amountCents },
            },
          ],
          children: [
            { name: GET, kind: 'client', attributes: { 'app.account.id': from } },
            { name: GET, kind: 'client', attributes: { 'app.account.id': to } },
            { name: COMMIT, kind: 'client', status: 'unset' },
            ...HANDLERS.map(handlerShape),
          ],
        },
      ],
    },
    'presentation (POST /transfers) → application (TransferMoney) → infrastructure (AccountRepository.get, UnitOfWork.commit); ' +
      'the MoneyTransferred event is a span event on TransferMoney, and each handler a child span of it',
  );
  const trace = requestTrace();
  const useCase = namedIn(trace, USE_CASE);
  expect(useCase.length, 'one TransferMoney span per request').toBe(1);
  expect(domainEventsOn(useCase[0]), 'one MoneyTransferred span event per transfer').toEqual([EVENT]);
  expect(
    HANDLERS.map((name) => `${name} ×${namedIn(trace, name).length}`),
    'each handler runs once per event: one span each',
  ).toEqual(HANDLERS.map((name) => `${name} ×1`));
  const commit = namedIn(trace, COMMIT)[0];
  for (const name of HANDLERS) {
    const handler = namedIn(trace, name)[0];
    expect(
      (handler?.seq ?? -1) > (commit?.seq ?? Infinity),
      `${name} starts after ${COMMIT}: the event is dispatched after the commit`,
    ).toBe(true);
  }
});

it('traces insufficient funds: TransferMoney is ERROR, and there is no event and no handler span', async () => {
  const bank = await openBank();
  const [from, to] = twoAccounts(bank);
  await postTransfer(bank.url, from, to, balanceOf(bank, from) + random.int(1, 10_000));
  await spansSettled();
  expectAllEnded(otel, 'every span ends, also when the use case rejects');
  expectTrace(
    otel,
    {
      name: SERVER,
      kind: 'server',
      status: 'unset',
      attributes: { 'http.response.status_code': 422, 'error.type': absent() },
      children: [{ name: USE_CASE, kind: 'internal', status: 'error', attributes: { 'error.type': 'InsufficientFundsError' } }],
    },
    'the domain refused the transfer: TransferMoney is ERROR with error.type; the server answered 422 correctly, so it is not ERROR',
  );
  const trace = requestTrace();
  expect(domainEventsOn(namedIn(trace, USE_CASE)[0]), 'no money moved: no MoneyTransferred span event').toEqual([]);
  expect(HANDLERS.flatMap((name) => namedIn(trace, name)).map((s) => s.name), 'no event, so no handler span').toEqual([]);
});

it('traces a failed commit: ERROR from the commit up to the server, and no event nor handler span', async () => {
  const fault = commitFault();
  const bank = await openBank({ fault: (call) => (call.operation === 'commit' ? fault : undefined) });
  const [from, to] = twoAccounts(bank);
  await postTransfer(bank.url, from, to, random.int(1, balanceOf(bank, from)));
  await spansSettled();
  expectAllEnded(otel, 'every span ends, also when the commit rejects');
  expectTrace(
    otel,
    {
      name: SERVER,
      kind: 'server',
      status: 'error',
      attributes: { 'http.response.status_code': 500, 'error.type': '500' },
      children: [
        {
          name: USE_CASE,
          kind: 'internal',
          status: 'error',
          attributes: { 'error.type': fault.name },
          children: [{ name: COMMIT, kind: 'client', status: 'error', attributes: { 'error.type': fault.name } }],
        },
      ],
    },
    `the commit failed (${fault.name}): its span is ERROR, so is the use case that could not complete, and the server that answered 500`,
  );
  const trace = requestTrace();
  expect(domainEventsOn(namedIn(trace, USE_CASE)[0]), 'the commit failed: no MoneyTransferred span event').toEqual([]);
  expect(
    HANDLERS.flatMap((name) => spansNamed(otel, name)).map((s) => s.name),
    'the commit failed: no handler ran, so no handler span',
  ).toEqual([]);
});

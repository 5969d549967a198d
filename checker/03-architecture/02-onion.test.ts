import { it } from 'vitest';
import {
  absent,
  closeAfter,
  expectAllEnded,
  expectNoViolations,
  expectThat,
  expectTrace,
  fail,
  forbidImports,
  layersPointInward,
  matchesGlob,
  random,
  readImportGraph,
  spansNamed,
  targetFolder,
  useTracing,
  verify,
  type SpanNode,
  type SpanShape,
  type TraceTree,
} from '#checks';
import { deferred, httpRequest, InMemoryDatabase, startHttpServer, type DatabaseCall } from '#kit';
import { createApp } from '#target/03-architecture/02-onion/presentation/app.ts';
import { verifySequence } from './sequences.ts';

const otel = useTracing();

const EXERCISE = '03-architecture/02-onion';
const RINGS = ['domain', 'application', 'infrastructure', 'presentation'];
const SERVER = 'POST /transfers';
const USE_CASE = 'TransferMoney';
const GET = 'AccountRepository.get';
const COMMIT = 'UnitOfWork.commit';
const EVENT = 'MoneyTransferred';
const HANDLERS = ['NotifyPayer', 'NotifyPayee'] as const;
/** Which notification each handler sends. */
const SENDS = { NotifyPayer: 'debit', NotifyPayee: 'credit' } as const;
const ANSWER_MS = 1500;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('moves the money: balances after a run of random transfers, and a notification to each side of each one', async () => {
  const bank = await openBank();
  const expected = balances(bank);
  const notifications: Notification[] = [];
  const story: string[] = [];
  // The edges every run: the whole balance (allowed) and one cent more (refused), among random transfers.
  const kinds = random.shuffle(['whole balance', 'one cent too many', ...Array.from({ length: 6 }, () => random.pick(['affordable', 'affordable', 'too much']))]);
  for (const kind of kinds) {
    const [from, to] = twoAccounts(bank);
    const available = expected[from] ?? 0;
    const amountCents =
      kind === 'whole balance' ? available : kind === 'one cent too many' ? available + 1 : kind === 'affordable' ? random.int(1, Math.max(1, available)) : available + random.int(2, 5_000);
    const affordable = amountCents <= available;
    const status = await postTransfer(bank.url, { from, to, amountCents });
    story.push(`${amountCents} from ${from} (balance ${available}) to ${to}`);
    verify(status, `the status of the answer to the transfer of ${story.at(-1)}`).is(affordable ? 200 : 422);
    if (affordable) {
      expected[from] = available - amountCents;
      expected[to] = (expected[to] ?? 0) + amountCents;
      notifications.push({ accountId: from, kind: 'debit', amountCents }, { accountId: to, kind: 'credit', amountCents });
    }
  }
  verify(balances(bank), `the balances in the accounts table after the transfers of ${story.join('; ')}`).equals(expected);
  verifySequence(
    sorted(bank.notifications),
    sorted(notifications),
    'the notifications sent (sorted): each transfer done notifies the payer (debit) and the payee (credit) once, a refused one nobody',
  );
});

it('rejects a transfer beyond the balance with 422: nothing changes, nobody is notified', async () => {
  const bank = await openBank();
  const before = balances(bank);
  const [from, to] = twoAccounts(bank);
  const status = await postTransfer(bank.url, { from, to, amountCents: (before[from] ?? 0) + random.int(1, 10_000) });
  verify(status, 'the status of the answer to a transfer beyond the payer\'s balance').is(422);
  verify(balances(bank), 'the balances after a transfer beyond the balance').equals(before);
  verify(bank.notifications, 'the notifications sent for a refused transfer (no MoneyTransferred happened)').hasCount(0, 'notification');
});

it('rejects a transfer that makes no sense with 400 and one to an unknown account with 404: nothing changes, nobody is notified', async () => {
  const bank = await openBank();
  const before = balances(bank);
  const [from, to] = twoAccounts(bank);
  const available = before[from] ?? 0;
  const unknown = random.id('acc-');
  const cases: { what: string; body: Transfer; status: number }[] = [
    { what: 'an amount of 0', body: { from, to, amountCents: 0 }, status: 400 },
    { what: 'a negative amount', body: { from, to, amountCents: -random.int(1, available) }, status: 400 },
    { what: 'a fraction of a cent', body: { from, to, amountCents: random.int(1, available - 1) + 0.5 }, status: 400 },
    { what: 'the same account twice', body: { from, to: from, amountCents: random.int(1, available) }, status: 400 },
    { what: 'an unknown payer', body: { from: unknown, to, amountCents: random.int(1, 1_000) }, status: 404 },
    { what: 'an unknown payee', body: { from, to: unknown, amountCents: random.int(1, available) }, status: 404 },
  ];
  for (const { what, body, status } of random.shuffle(cases)) {
    verify(await postTransfer(bank.url, body), `the status of the answer to a transfer with ${what}`).is(status);
    verify(balances(bank), `the balances after a transfer with ${what}`).equals(before);
    verify(bank.notifications, `the notifications sent after a transfer with ${what}`).hasCount(0, 'notification');
  }
});

it('announces nothing when the commit fails: 500, no balance changes, no notification', async () => {
  const fault = commitFault();
  const bank = await openBank({ fault: (call) => (call.operation === 'commit' ? fault : undefined) });
  const before = balances(bank);
  const [from, to] = twoAccounts(bank);
  const status = await postTransfer(bank.url, { from, to, amountCents: random.int(1, before[from] ?? 1) });
  verify(status, `the status of the answer when the commit failed (${fault.name})`).is(500);
  verify(balances(bank), 'the balances after a transfer whose commit failed').equals(before);
  verify(
    bank.notifications,
    'the commit failed, so the money never moved: a domain event is dispatched only after its commit succeeded. The notifications sent',
  ).hasCount(0, 'notification');
});

it('dispatches the event only once the commit has succeeded, not while it is in flight', async () => {
  const committing = deferred<void>();
  const gate = deferred<void>();
  const bank = await openBank({
    latency: async (call) => {
      if (call.operation !== 'commit') return;
      committing.resolve();
      await gate.promise;
    },
  });
  const [from, to] = twoAccounts(bank);
  const amountCents = random.int(1, balanceOf(bank, from));
  const answer = postTransfer(bank.url, { from, to, amountCents });
  const started = await Promise.race([committing.promise.then(() => true), sleep(1_000).then(() => false)]);
  expectThat(started, 'the transfer commits its unit of work', 'no commit started within a second');
  await sleep(10);
  const early = [...bank.notifications];
  gate.resolve();
  verify(await answer, 'the status of the answer once the commit is done').is(200);
  verify(early, 'the notifications sent while the commit was still in flight (the event is not a fact yet)').hasCount(0, 'notification');
  verifySequence(
    sorted(bank.notifications),
    sorted([
      { accountId: from, kind: 'debit', amountCents },
      { accountId: to, kind: 'credit', amountCents },
    ]),
    'the notifications sent after the commit (sorted)',
  );
});

it('a handler that throws after the commit does not fail the transfer, and the other handler still runs', async () => {
  // Each handler fails once, every run: whichever runs first, the other must still run.
  for (const failing of HANDLERS) {
    const notifier = failingNotifier(SENDS[failing]);
    const bank = await openBank({ notifier });
    const before = balances(bank);
    const [from, to] = twoAccounts(bank);
    const amountCents = random.int(1, before[from] ?? 1);
    const status = await postTransfer(bank.url, { from, to, amountCents });
    verify(status, `the status of the answer when ${failing} threw after the commit (the transfer is committed)`).is(200);
    verify(balances(bank), `the balances after a transfer whose ${failing} threw`).equals({
      ...before,
      [from]: (before[from] ?? 0) - amountCents,
      [to]: (before[to] ?? 0) + amountCents,
    });
    const other = HANDLERS.find((name) => name !== failing) ?? HANDLERS[0];
    const otherSide = SENDS[other] === 'debit' ? from : to;
    verify(notifier.sent, `the notifications sent when ${failing} threw: ${other} still runs`).equals([{ accountId: otherSide, kind: SENDS[other], amountCents }]);
  }
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('every import points inward: domain ← application ← infrastructure ← presentation', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  for (const ring of RINGS) {
    verify(graph.files.filter((file) => matchesGlob(file, ring)), `the files of the ${ring} ring, in ${ring}/`).isNot([]);
  }
  verify(
    graph.files.filter((file) => !RINGS.some((ring) => matchesGlob(file, ring))),
    'the files outside the four rings (every file belongs to one ring, a folder of its own)',
  ).equals([]);
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

it('traces a transfer ring by ring, with the domain event on the use case span and a child span per handler, after the commit', async () => {
  const bank = await openBank();
  const [from, to] = twoAccounts(bank);
  const amountCents = random.int(1, balanceOf(bank, from));
  await postTransfer(bank.url, { from, to, amountCents });
  await otel.settled();
  expectAllEnded(otel, 'every span ends');
  expectTrace(
    otel,
    serverShape(200, {
      name: USE_CASE,
      kind: 'internal',
      status: 'unset',
      events: [{ name: EVENT, attributes: { 'app.transfer.from': from, 'app.transfer.to': to, 'app.transfer.amount_cents': amountCents } }],
      children: [
        { name: GET, kind: 'client', attributes: { 'app.account.id': from } },
        { name: GET, kind: 'client', attributes: { 'app.account.id': to } },
        { name: COMMIT, kind: 'client', status: 'unset' },
        ...HANDLERS.map((name) => handlerShape(name)),
      ],
    }),
    'presentation (POST /transfers) → application (TransferMoney) → infrastructure (AccountRepository.get, UnitOfWork.commit); ' +
      'the MoneyTransferred event is a span event on TransferMoney, and each handler a child span of it',
  );
  const trace = requestTrace();
  verify(namedIn(trace, USE_CASE), 'the spans of one request').hasCount(1, `"${USE_CASE}" span`);
  verify(domainEventsOn(namedIn(trace, USE_CASE)[0]), `the span events of "${USE_CASE}" for one transfer`).hasCount(1, `"${EVENT}" event`);
  verify(Object.fromEntries(HANDLERS.map((name) => [name, namedIn(trace, name).length])), 'the handler spans of one event (each handler runs once)').equals(
    Object.fromEntries(HANDLERS.map((name) => [name, 1])),
  );
  expectHandlersAfterCommit(trace);
});

it('traces a handler that throws: its own span is ERROR with error.type, and the transfer above it is not', async () => {
  const failing = random.pick(HANDLERS);
  const notifier = failingNotifier(SENDS[failing]);
  const bank = await openBank({ notifier });
  const [from, to] = twoAccounts(bank);
  await postTransfer(bank.url, { from, to, amountCents: random.int(1, balanceOf(bank, from)) });
  await otel.settled();
  expectAllEnded(otel, 'every span ends, also when a handler throws');
  expectTrace(
    otel,
    serverShape(200, {
      name: USE_CASE,
      kind: 'internal',
      status: 'unset',
      attributes: { 'error.type': absent() },
      events: [{ name: EVENT }],
      children: [
        { name: COMMIT, kind: 'client', status: 'unset' },
        ...HANDLERS.map((name) => (name === failing ? handlerShape(name, notifier.errorName) : handlerShape(name))),
      ],
    }),
    `${failing} threw (${notifier.errorName}) after the commit: its own span is ERROR with error.type = the error's name; ` +
      'the transfer is committed, so TransferMoney and the SERVER span (200) are not ERROR',
  );
});

it('traces insufficient funds: TransferMoney is ERROR, and there is no event and no handler span', async () => {
  const bank = await openBank();
  const [from, to] = twoAccounts(bank);
  await postTransfer(bank.url, { from, to, amountCents: balanceOf(bank, from) + random.int(1, 10_000) });
  await otel.settled();
  expectAllEnded(otel, 'every span ends, also when the use case rejects');
  expectTrace(
    otel,
    serverShape(422, { name: USE_CASE, kind: 'internal', status: 'error', attributes: { 'error.type': 'InsufficientFundsError' } }),
    'the domain refused the transfer: TransferMoney is ERROR with error.type; the server answered 422 correctly, so it is not ERROR',
  );
  const trace = requestTrace();
  verify(domainEventsOn(namedIn(trace, USE_CASE)[0]), 'no money moved: the span events of TransferMoney').hasCount(0, `"${EVENT}" event`);
  verify(HANDLERS.flatMap((name) => namedIn(trace, name)).map((s) => s.name), 'no event, so no handler: the handler spans').equals([]);
});

it('traces a failed commit: ERROR from the commit up to the server, and no event nor handler span', async () => {
  const fault = commitFault();
  const bank = await openBank({ fault: (call) => (call.operation === 'commit' ? fault : undefined) });
  const [from, to] = twoAccounts(bank);
  await postTransfer(bank.url, { from, to, amountCents: random.int(1, balanceOf(bank, from)) });
  await otel.settled();
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
  verify(domainEventsOn(namedIn(trace, USE_CASE)[0]), 'the commit failed: the span events of TransferMoney').hasCount(0, `"${EVENT}" event`);
  verify(HANDLERS.flatMap((name) => spansNamed(otel, name)).map((s) => s.name), 'the commit failed, so no handler ran: the handler spans').equals([]);
});

// ---------------------------------------------------------------------------------------------
// The rig: a bank of random accounts in an InMemoryDatabase, the learner's app on a loopback server
// ---------------------------------------------------------------------------------------------

interface Notification {
  accountId: string;
  kind: 'debit' | 'credit';
  amountCents: number;
}

interface Transfer {
  from: string;
  to: string;
  amountCents: number;
}

interface Bank {
  url: string;
  database: InMemoryDatabase;
  notifications: readonly Notification[];
  ids: string[];
}

interface BankOptions {
  fault?: (call: DatabaseCall) => Error | undefined;
  latency?: (call: DatabaseCall) => Promise<void>;
  notifier?: { send(notification: Notification): Promise<void> };
}

/** Accounts with random ids and balances in the `accounts` table, and the learner's app serving them. */
async function openBank(options: BankOptions = {}): Promise<Bank> {
  const ids = Array.from({ length: random.int(3, 5) }, () => random.id('acc-'));
  const database = new InMemoryDatabase({
    seed: { accounts: ids.map((id) => [id, { id, balanceCents: random.int(1_000, 50_000) }] as const) },
    ...(options.fault ? { fault: options.fault } : {}),
    ...(options.latency ? { latency: options.latency } : {}),
  });
  const app = createApp({ database, ...(options.notifier ? { notifier: options.notifier } : {}) });
  const server = closeAfter(await startHttpServer(app.handler));
  return { url: server.url, database, notifications: app.notifications, ids };
}

/** A notifier that fails every notification of one kind, and keeps the others. */
function failingNotifier(kind: Notification['kind']) {
  const errorName = random.pick(['SmtpUnavailableError', 'PushGatewayError', 'RateLimitedError']);
  const sent: Notification[] = [];
  return {
    errorName,
    sent,
    async send(notification: Notification): Promise<void> {
      await Promise.resolve();
      if (notification.kind === kind) throw Object.assign(new Error(`could not send the ${kind} notice`), { name: errorName });
      sent.push({ accountId: notification.accountId, kind: notification.kind, amountCents: notification.amountCents });
    },
  };
}

function balanceOf(bank: Bank, id: string): number {
  return bank.database.peek<{ balanceCents: number }>('accounts', id)?.balanceCents ?? NaN;
}

function balances(bank: Bank): Record<string, number> {
  return Object.fromEntries(bank.ids.map((id) => [id, balanceOf(bank, id)]));
}

async function postTransfer(url: string, transfer: Transfer): Promise<number> {
  const response = await httpRequest(`${url}/transfers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(transfer),
    timeoutMs: ANSWER_MS,
  }).catch((error: unknown) => fail(`POST /transfers got no answer (${(error as Error).message}): does the handler end every response?`));
  return response.status;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function twoAccounts(bank: Bank): [string, string] {
  const [from = '', to = ''] = random.sample(bank.ids, 2);
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

function serverShape(status: number, useCase: SpanShape): SpanShape {
  return {
    name: SERVER,
    kind: 'server',
    status: 'unset',
    attributes: { 'http.request.method': 'POST', 'http.route': '/transfers', 'http.response.status_code': status, 'error.type': absent() },
    children: [useCase],
  };
}

function handlerShape(name: string, failedWith?: string): SpanShape {
  return {
    name,
    kind: 'internal',
    ...(failedWith ? { status: 'error' as const } : {}),
    attributes: { 'app.domain_event.name': EVENT, ...(failedWith ? { 'error.type': failedWith } : {}) },
  };
}

/** Each handler span starts once the commit span has ended: the event is dispatched after the commit. */
function expectHandlersAfterCommit(trace: TraceTree | undefined): void {
  const commit = namedIn(trace, COMMIT)[0];
  const committed = commit?.end;
  if (committed === undefined) fail(`no ended "${COMMIT}" span in the request's trace`);
  for (const name of HANDLERS) {
    const handler = namedIn(trace, name)[0];
    if (!handler) fail(`no "${name}" span in the request's trace`);
    expectThat(
      handler.start >= committed - 0.001,
      `"${name}" starts after "${COMMIT}" has ended: the event is dispatched once the commit succeeded`,
      `it started ${(committed - handler.start).toFixed(2)} ms before the commit span ended`,
    );
  }
}

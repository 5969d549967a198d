import { it } from 'vitest';
import {
  expectAllEnded,
  expectNoViolations,
  expectThat,
  expectTrace,
  forbidImports,
  random,
  readImportGraph,
  spansNamed,
  targetFolder,
  useTracing,
  verify,
  type SpanShape,
} from '#checks';
import { createBankApp } from '#target/03-architecture/03-cqrs/app.ts';
import {
  COMMAND_SPAN,
  EVENT_TYPE,
  GET_ACCOUNT,
  PROCESS,
  QUERY,
  READ,
  REQUEST_SPAN,
  WRITE,
  accountId,
  busyBank,
  caughtUp,
  commandSpan,
  describe,
  expectViews,
  inRequest,
  newRig,
  openAccounts,
  owner,
  randomCommand,
  run,
  spansOf,
  storeSpans,
  traceOf,
  type Command,
} from './03-cqrs.rig.ts';

const otel = useTracing();

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('once the projection has caught up, a query answers each account as the commands left it, statement included', async () => {
  const r = newRig(createBankApp);
  await busyBank(otel, r);
  await caughtUp(r);
  await expectViews(r, `after ${r.history.length} commands and bus.drain()`);
  for (let i = random.int(4, 10); i > 0; i--) {
    await run(otel, r, randomCommand(r));
    if (random.int(1, 3) === 1) {
      await caughtUp(r);
      await expectViews(r, `after ${r.history.length} commands and bus.drain()`);
    }
  }
  await caughtUp(r);
  await expectViews(r, `after ${r.history.length} commands and bus.drain()`);
  const unknown = accountId();
  verify(await r.app.queries.getAccount(unknown), `queries.getAccount("${unknown}"), an account never opened`).is(undefined);
});

it('a refused command changes nothing: it rejects with the write model\'s error, saves nothing and publishes no event', async () => {
  const r = newRig(createBankApp);
  const [id = ''] = await openAccounts(otel, r, 1);
  const deposited = random.int(100, 90_000);
  await run(otel, r, { kind: 'deposit', accountId: id, amountCents: deposited });
  await caughtUp(r);
  const before = await r.app.queries.getAccount(id);
  const refused: Command[] = [
    { kind: 'withdraw', accountId: id, amountCents: deposited + random.int(1, 5_000) },
    { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 5_000) },
    { kind: 'withdraw', accountId: accountId(), amountCents: random.int(1, 5_000) },
    { kind: 'open', accountId: id, owner: owner() },
  ];
  for (const command of random.shuffle(refused)) {
    const published = r.bus.published.length;
    const saves = r.writeStore.count('set') + r.readStore.count('set');
    await run(otel, r, command);
    verify(r.bus.published.length - published, `the events published by ${describe(command)}, which was refused (nothing happened)`).hasCount(0, 'event');
    verify(r.writeStore.count('set') + r.readStore.count('set') - saves, `the saves ${describe(command)} made, refused`).hasCount(0, 'save');
  }
  verify(r.writeStore.peek(id)?.balanceCents, `the balance of ${id} in the write store after the refused commands`).is(deposited);
  await caughtUp(r);
  verify(await r.app.queries.getAccount(id), `queries.getAccount("${id}") after the refused commands`).equals(before);
});

it('publishes an event only once its save succeeded: a command whose save fails publishes nothing', async () => {
  const r = newRig(createBankApp);
  const [id = ''] = await openAccounts(otel, r, 1);
  await run(otel, r, { kind: 'deposit', accountId: id, amountCents: random.int(1_000, 90_000) });
  await caughtUp(r);
  const before = await r.app.queries.getAccount(id);
  const opened = accountId();
  const failing: Command[] = [
    { kind: 'deposit', accountId: id, amountCents: random.int(1, 5_000) },
    { kind: 'withdraw', accountId: id, amountCents: random.int(1, 500) },
    { kind: 'open', accountId: opened, owner: owner() },
  ];
  for (const command of random.shuffle(failing)) {
    const errorName = random.pick(['StoreUnavailableError', 'WriteTimeoutError', 'DiskFullError']);
    r.failNextSave(command.accountId, errorName);
    const published = r.bus.published.length;
    await run(otel, r, command, errorName);
    verify(
      r.bus.published.slice(published).map((m) => (m.body as { type?: unknown }).type),
      `the events published by ${describe(command)}, whose save in the write store failed (${errorName}): an event says what was saved`,
    ).equals([]);
  }
  await caughtUp(r);
  verify(await r.app.queries.getAccount(id), `queries.getAccount("${id}") after commands whose saves failed`).equals(before);
  verify(await r.app.queries.getAccount(opened), `queries.getAccount("${opened}"), whose opening failed to save`).is(undefined);
});

it('the command side uses only the write store: a command never reads or writes the read store', async () => {
  const r = newRig(createBankApp);
  await openAccounts(otel, r, random.int(1, 3));
  await caughtUp(r);
  for (let i = random.int(4, 8); i > 0; i--) {
    const command = randomCommand(r);
    const readCalls = r.readStore.calls.length;
    const writeCalls = r.writeStore.calls.length;
    const viewWrites = r.readStore.count('set', command.accountId);
    const handled = await run(otel, r, command);
    verify(
      r.readStore.calls.slice(readCalls),
      `the read-store calls while ${describe(command)} ran (the command side decides on the write model only; the projection updates the read model later)`,
    ).equals([]);
    verify(r.writeStore.calls.length - writeCalls, `the write-store calls of ${describe(command)}, which loads the account`).isAtLeast(1);
    await caughtUp(r);
    if (handled.expectedError === undefined) {
      verify(
        r.readStore.count('set', command.accountId) - viewWrites,
        `the views of ${command.accountId} the projection wrote after ${describe(command)} and bus.drain()`,
      ).isAtLeast(1);
    }
  }
});

it('the query side uses only the read store: a query never touches the write store', async () => {
  const r = newRig(createBankApp);
  await busyBank(otel, r);
  await caughtUp(r);
  const writeCalls = r.writeStore.calls.length;
  const ids = [...r.reference.ids(), accountId()];
  for (let i = random.int(3, 8); i > 0; i--) {
    const id = random.pick(ids);
    const reads = r.readStore.count('get', id);
    await r.app.queries.getAccount(id);
    verify(r.writeStore.calls.slice(writeCalls), `the write-store calls of getAccount("${id}") (queries read the read model only)`).equals([]);
    verify(r.readStore.count('get', id) - reads, `the read-store reads of getAccount("${id}")`).isAtLeast(1);
  }
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('trace: a command\'s trace holds write-store spans only, and a query\'s trace read-store spans only', async () => {
  const r = newRig(createBankApp);
  await busyBank(otel, r);
  await caughtUp(r);
  const asked = random.pick(r.reference.ids());
  const query = await inRequest(otel, GET_ACCOUNT, () => r.app.queries.getAccount(asked));
  expectAllEnded(otel);

  for (const handled of r.history) {
    const { command } = handled;
    expectTrace(
      traceOf(otel, handled.traceId),
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
      `${describe(command)}: the command span is a child of the caller's span, and the write store's spans are its children`,
    );
    const inTrace = spansOf(otel, handled.traceId);
    if (handled.expectedError === undefined) {
      const span = commandSpan(otel, handled);
      verify(span?.status.toUpperCase(), `the status of "${COMMAND_SPAN[command.kind]}" for ${describe(command)}, which was accepted`).isNot('ERROR');
    }
    const joined = inTrace.some((s) => s.name === PROCESS)
      ? ` (the projection's "${PROCESS}" span joined this trace: it must start a trace of its own, and link to the command)`
      : '';
    verify(storeSpans(inTrace, READ).map((s) => s.name), `the read-store spans in the trace of ${describe(command)}${joined}`).equals([]);
  }

  expectTrace(
    traceOf(otel, query.traceId),
    {
      name: GET_ACCOUNT,
      children: [{ name: QUERY, kind: 'internal', attributes: { 'app.account.id': asked }, children: [{ name: `get ${READ}`, kind: 'client' }] }],
    },
    `getAccount("${asked}"): the query span is a child of the caller's span, and the read store's span is its child`,
  );
  verify(storeSpans(spansOf(otel, query.traceId), WRITE).map((s) => s.name), `the write-store spans in the trace of getAccount("${asked}")`).equals([]);
});

it('trace: a refused command\'s span is ERROR with error.type, and no projection span follows it', async () => {
  const r = newRig(createBankApp);
  const [id = ''] = await openAccounts(otel, r, 1);
  const deposited = random.int(100, 90_000);
  await run(otel, r, { kind: 'deposit', accountId: id, amountCents: deposited });
  const refused: Command[] = random.shuffle([
    { kind: 'withdraw', accountId: id, amountCents: deposited + random.int(1, 5_000) },
    { kind: 'deposit', accountId: accountId(), amountCents: random.int(1, 5_000) },
    { kind: 'open', accountId: id, owner: owner() },
  ]);
  const handled = [];
  for (const command of refused) handled.push(await run(otel, r, command));
  await caughtUp(r);
  expectAllEnded(otel);
  for (const refusal of handled) {
    const { command } = refusal;
    expectTrace(
      traceOf(otel, refusal.traceId),
      {
        name: REQUEST_SPAN[command.kind],
        children: [{ name: COMMAND_SPAN[command.kind], status: 'error', attributes: { 'app.account.id': command.accountId, 'error.type': refusal.expectedError ?? '' } }],
      },
      `${describe(command)} is refused: its command span is ERROR with error.type = the error's name`,
    );
    const span = commandSpan(otel, refusal);
    verify(
      spansNamed(otel, PROCESS).filter((p) => p.links.some((l) => l.spanId === span?.spanId)).map((p) => p.name),
      `the projection spans linked to ${describe(command)}, which was refused and published nothing`,
    ).equals([]);
  }
});

it('trace: the projection runs in a trace of its own, a CONSUMER span linked to the command that caused it', async () => {
  const r = newRig(createBankApp);
  await busyBank(otel, r);
  await caughtUp(r);
  expectAllEnded(otel);

  const accepted = r.history.filter((h) => h.expectedError === undefined);
  const commandTraces = new Set(r.history.map((h) => h.traceId));
  const processed = spansNamed(otel, PROCESS);
  for (const span of processed) {
    const parent = otel.spans().find((s) => s.spanId === span.parentSpanId);
    expectThat(
      parent === undefined && span.parentSpanId === undefined,
      `the projection's "${PROCESS}" span is a root: it runs later, in no request, so a command can't be its parent (link to the command instead)`,
      `it is a child of ${parent ? `"${parent.name}"` : 'a span that was not recorded'}`,
    );
    expectThat(!commandTraces.has(span.traceId), `"${PROCESS}" starts a trace of its own`, 'it joined the trace of a command');
    verify(storeSpans(spansOf(otel, span.traceId), WRITE).map((s) => s.name), 'the write-store spans in a projection\'s trace (it reads the event, never the write model)').equals([]);
  }

  verify(processed, `the projection spans for ${accepted.length} accepted commands (one event each)`).hasCount(accepted.length, `"${PROCESS}" span`);
  // The events of one account are applied in the order they were published: the k-th command of a
  // kind on an account is applied by the k-th projection span with that event type and account.
  const seen = new Map<string, number>();
  for (const handled of accepted) {
    const { command } = handled;
    const cause = commandSpan(otel, handled);
    if (!cause) verify(cause, `the "${COMMAND_SPAN[command.kind]}" span in the trace of ${describe(command)}`).isDefined();
    const key = `${EVENT_TYPE[command.kind]} ${command.accountId}`;
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    const applied = processed.filter((p) => p.attributes['app.event.type'] === EVENT_TYPE[command.kind] && p.attributes['app.account.id'] === command.accountId)[nth];
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
      applied ? traceOf(otel, applied.traceId) : otel,
      shape,
      `${describe(command)} published ${EVENT_TYPE[command.kind]}: the projection's span that applied it is a root CONSUMER span with one link, to the "${COMMAND_SPAN[command.kind]}" span (inject its context into the event's headers while it is active)`,
    );
  }
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

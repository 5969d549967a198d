import { beforeEach, it } from 'vitest';
import {
  expectAllEnded,
  expectNoViolations,
  expectThat,
  expectTrace,
  fail,
  forbidImports,
  random,
  readImportGraph,
  show,
  spansNamed,
  targetFolder,
  useTracing,
  verify,
  withoutTracing,
  type SpanNode,
  type SpanShape,
} from '#checks';
// db.ts first: the runner loads these in this order, and the load-order check reads them so.
import { createPool } from '#target/05-infrastructure/01-event-store-postgres/db.ts';
import { migrate } from '#target/05-infrastructure/01-event-store-postgres/migrations.ts';
import { ConcurrencyError, PostgresEventStore } from '#target/05-infrastructure/01-event-store-postgres/event-store.ts';
import { PostgresSnapshotStore } from '#target/05-infrastructure/01-event-store-postgres/snapshot-store.ts';
import { StockItems } from '#target/05-infrastructure/01-event-store-postgres/stock-items.ts';
import type { StockCommand, StockState } from '#target/05-infrastructure/01-event-store-postgres/domain/stock-item.ts';
import {
  APPEND,
  ATTR,
  LOAD,
  PG_QUERY,
  SNAPSHOT,
  TEXT,
  anyEvent,
  errorName,
  expectLoadOrder,
  expectNoOpenTransaction,
  expectQueriesUnder,
  firstWord,
  fold,
  handle,
  handleAll,
  leakedValues,
  loseTheRace,
  newStream,
  openRig,
  prepare,
  queriesUnder,
  queryText,
  receive,
  refuseInsert,
  settle,
  showCommand,
  snapshotVersions,
  sortedState,
  storedVersions,
  times,
  uniqueKeys,
  columnsOf,
  wrongVersions,
} from './01-event-store-postgres.rig.ts';
import { verifySequence } from '../03-architecture/sequences.ts';
import { takePostgresTurn } from './postgres-turns.ts';

const otel = useTracing();
const target = { createPool, migrate, PostgresEventStore, PostgresSnapshotStore, StockItems, ConcurrencyError };
const EXERCISE = '05-infrastructure/01-event-store-postgres';
/** The modules the checks import, in the order the runner loads them. */
const ENTRIES = ['db.ts', 'migrations.ts', 'event-store.ts', 'snapshot-store.ts', 'stock-items.ts'];
// Every check on PostgreSQL waits for its turn here, outside its own time limit (see postgres-turns.ts).
beforeEach(takePostgresTurn);

/** A command the item accepts at `onHand`, of a random kind. */
function acceptedCommand(onHand: number): StockCommand {
  const kind = random.pick(['receive', 'ship', 'count'] as const);
  if (kind === 'ship') return { type: 'ship', quantity: random.int(0, onHand), orderId: random.id('order-') };
  if (kind === 'count') return { type: 'count', quantity: random.int(0, 300) };
  return receive();
}

/** Commands of every kind; every run ends with refusals: a ship beyond the stock, and a receive after discontinue. */
function mixedHistory(length: number): StockCommand[] {
  const commands: StockCommand[] = [receive()];
  for (let i = 1; i < length; i++) {
    commands.push(
      random.pick<StockCommand>([receive(), { type: 'ship', quantity: random.int(1, 400), orderId: random.id('order-') }, { type: 'count', quantity: random.int(0, 60) }]),
    );
  }
  return [...commands, { type: 'ship', quantity: 100_000, orderId: random.id('order-') }, { type: 'discontinue' }, receive()];
}

// ---------------------------------------------------------------------------------------------
// The tables
// ---------------------------------------------------------------------------------------------

it('migrate creates events with UNIQUE (stream_id, version) and snapshots, and running it again keeps every row', async () => {
  const r = await openRig(target, 3);
  for (const [table, columns] of [
    ['events', ['stream_id', 'version', 'type', 'data']],
    ['snapshots', ['stream_id', 'version', 'state']],
  ] as const) {
    const found = await columnsOf(r, table);
    if (found.length === 0) fail(`after migrate(pool) the schema has no table "${table}"`);
    for (const column of columns) verify(found, `the columns of the "${table}" table`).includes(column);
  }
  const keys = await uniqueKeys(r, 'events');
  expectThat(
    keys.some((k) => k.join(',') === 'stream_id,version'),
    'the events table has UNIQUE (stream_id, version): the database itself refuses a second event with a version the stream already has',
    `its unique keys are ${keys.length === 0 ? 'none' : keys.map((k) => `(${k.join(', ')})`).join(', ')}`,
  );
  const s = newStream();
  await prepare(r, s, times(random.int(2, 4), receive));
  const again = await settle(withoutTracing(() => migrate(r.pool)));
  if (!again.ok) fail(`migrate(pool) run a second time rejected with ${show(again.error)}: every instance runs it when it starts, so it must be safe to run again`);
  verify(await storedVersions(r, s.sku), `the versions of "${s.sku}" in events after migrate ran again (it must keep every row)`).equals(times(s.accepted.length, (i) => i + 1));
});

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('the events of each command are rows of events, versions 1…n, and load and read give them back', async () => {
  const r = await openRig(target, random.int(2, 4));
  const s = newStream();
  await handleAll(r, s, mixedHistory(random.int(3, 5)));
  verify(await storedVersions(r, s.sku), `the versions of "${s.sku}" in the events table`).equals(times(s.accepted.length, (i) => i + 1));
  const read = await r.events.read(s.sku);
  verifySequence(
    read.map((e) => ({ streamId: e.streamId, version: e.version, event: e.event })),
    s.accepted.map((event, i) => ({ streamId: s.sku, version: i + 1, event })),
    `events.read("${s.sku}") (each event as it was appended, with its version)`,
  );
  const after = random.int(0, s.accepted.length);
  const upTo = random.int(after, s.accepted.length);
  verify(
    (await r.events.read(s.sku, after, upTo)).map((e) => e.version),
    `the versions events.read("${s.sku}", ${after}, ${upTo}) gave (after ${after}, up to ${upTo})`,
  ).equals(times(upTo - after, (i) => after + i + 1));
  const loaded = await r.items.load(s.sku);
  verify({ state: sortedState(loaded.state), version: loaded.version }, `load("${s.sku}")`).equals({ state: sortedState(fold(s.accepted)), version: s.accepted.length });
  verify(await r.events.read(newStream().sku), 'events.read of a stream with no events').equals([]);
});

it('a snapshot row is saved every snapshotEvery events, and the state as of any version is the same from snapshots or from events', async () => {
  const snapshotEvery = random.int(2, 3);
  const r = await openRig(target, snapshotEvery);
  const s = newStream();
  const count = 2 * snapshotEvery + random.int(1, snapshotEvery - 1);
  await handleAll(r, s, times(count, () => acceptedCommand(fold(s.accepted).onHand)));
  verify(await snapshotVersions(r, s.sku), `the versions of "${s.sku}" in the snapshots table after ${count} events (snapshotEvery = ${snapshotEvery})`).equals([
    snapshotEvery,
    2 * snapshotEvery,
  ]);
  for (const at of [snapshotEvery, 2 * snapshotEvery]) {
    const snapshot = await r.snapshots.latest(s.sku, at);
    verify(snapshot?.version, `the version of snapshots.latest("${s.sku}", ${at})`).is(at);
    verify(sortedState(snapshot?.state), `the state in the snapshot at version ${at} (the state after the first ${at} events)`).equals(sortedState(fold(s.accepted.slice(0, at))));
  }
  verify((await r.snapshots.latest(s.sku, snapshotEvery - 1))?.version, `snapshots.latest("${s.sku}", ${snapshotEvery - 1}), before the first snapshot`).is(undefined);
  verify((await r.snapshots.latest(s.sku))?.version, `the version of snapshots.latest("${s.sku}")`).is(2 * snapshotEvery);
  // Every version, from the snapshots (the learner's stores) and from the events alone.
  const noSnapshots = new StockItems({ events: r.events, snapshots: { save: async () => undefined, latest: async () => undefined } as unknown as PostgresSnapshotStore<StockState>, snapshotEvery });
  for (let version = 0; version <= count; version++) {
    const expected = sortedState(fold(s.accepted.slice(0, version)));
    const got = await settle(r.items.loadAt(s.sku, version));
    if (!got.ok) fail(`loadAt("${s.sku}", ${version}) rejected with ${show(got.error)}, expected the state after the first ${version} events`);
    verify(sortedState(got.value), `loadAt("${s.sku}", ${version}) with snapshots at ${snapshotEvery} and ${2 * snapshotEvery} (the state after the first ${version} events)`).equals(expected);
    if (version === count || version === snapshotEvery - 1) {
      verify(sortedState(await noSnapshots.loadAt(s.sku, version)), `loadAt("${s.sku}", ${version}) replaying every event, with no snapshot`).equals(expected);
    }
  }
});

it('an append with a wrong expected version (behind or ahead) is refused with a ConcurrencyError, writes nothing, and leaves no transaction open', async () => {
  const r = await openRig(target, 50);
  const s = newStream();
  await prepare(r, s, times(random.int(1, 5), receive));
  const current = s.accepted.length;
  for (const expectedVersion of wrongVersions(current)) {
    const batch = times(random.int(1, 3), anyEvent);
    const call = `append("${s.sku}", ${expectedVersion}, ${batch.length} events) on a stream at version ${current}`;
    const got = await settle(r.events.append(s.sku, expectedVersion, batch));
    if (got.ok) fail(`${call} must reject with a ConcurrencyError, but it resolved ${show(got.value)}`);
    verify(got.error, `what ${call} rejected with`).isInstanceOf(ConcurrencyError);
    const error = got.error as ConcurrencyError;
    verify({ streamId: error.streamId, expectedVersion: error.expectedVersion, actualVersion: error.actualVersion }, `the ConcurrencyError of ${call}`).equals({
      streamId: s.sku,
      expectedVersion,
      actualVersion: current,
    });
    await expectNoOpenTransaction(r, `the refused ${call}`);
    verify(await storedVersions(r, s.sku), `the versions in events after the refused ${call} (it writes nothing)`).equals(times(current, (i) => i + 1));
  }
  const batch = times(random.int(1, 3), anyEvent);
  verify(await r.events.append(s.sku, current, batch), `append("${s.sku}", ${current}, ${batch.length} events) with the right expected version, after the refusals`).is(current + batch.length);
});

it('two appends racing on the same expected version: exactly one is written, the other is a ConcurrencyError', async () => {
  const r = await openRig(target, 50);
  const s = newStream();
  await prepare(r, s, times(random.int(0, 4), receive));
  const version = s.accepted.length;
  const first = [anyEvent()];
  const second = times(random.int(1, 3), anyEvent);
  const [a, b] = await Promise.all([settle(r.events.append(s.sku, version, first)), settle(r.events.append(s.sku, version, second))]);
  const race = `two appends expecting version ${version}, started together`;
  verify([a, b].filter((x) => x.ok), `${race}: the appends that were written`).hasCount(1, 'append');
  const loser = a.ok ? b : a;
  if (!loser.ok) verify(errorName(loser.error), `the error the other of ${race} rejected with`).is('ConcurrencyError');
  const winner = a.ok ? first : second;
  verify(await storedVersions(r, s.sku), `the versions in events after ${race} (no version twice, no gap)`).equals(times(version + winner.length, (i) => i + 1));
  verifySequence((await r.events.read(s.sku, version)).map((e) => e.event), winner, `the events after ${race}: the winner's only, in order`);
});

it('an append whose INSERT meets a version another append committed meanwhile (23505) is refused with a ConcurrencyError', async () => {
  const r = await openRig(target, 50);
  const s = newStream();
  await prepare(r, s, times(random.int(0, 4), receive));
  const current = s.accepted.length;
  const batch = times(random.int(1, 2), anyEvent);
  const call = `append("${s.sku}", ${current}, ${batch.length} events) while another transaction commits version ${current + 1}`;
  const got = await loseTheRace(r, s.sku, current + 1, () => r.events.append(s.sku, current, batch));
  if (got.ok) fail(`${call} must reject with a ConcurrencyError, but it resolved ${show(got.value)}`);
  expectThat(
    got.error instanceof ConcurrencyError,
    `${call}: the unique violation (SQLSTATE 23505) PostgreSQL answers the INSERT with becomes a ConcurrencyError`,
    `it rejected with ${show(got.error)}${(got.error as { code?: string }).code ? ` (SQLSTATE ${(got.error as { code?: string }).code})` : ''}`,
  );
  verify((got.error as ConcurrencyError).actualVersion, `the actualVersion of the ConcurrencyError of ${call} (the stream's version once the other append committed)`).is(current + 1);
  await expectNoOpenTransaction(r, `the refused ${call}`);
  verify(await storedVersions(r, s.sku), `the versions in events after the refused ${call}`).equals(times(current + 1, (i) => i + 1));
});

it('an append is one transaction: when the database refuses one of its events, none of them is written', async () => {
  const r = await openRig(target, 50);
  const s = newStream();
  await prepare(r, s, times(random.int(0, 3), receive));
  const current = s.accepted.length;
  const count = random.int(2, 4);
  const refused = random.int(2, count);
  await refuseInsert(r, s.sku, current + refused);
  const call = `append("${s.sku}", ${current}, ${count} events) whose event #${refused} the database refuses`;
  const got = await settle(r.events.append(s.sku, current, times(count, anyEvent)));
  if (got.ok) fail(`${call} must reject with the database's error, but it resolved ${show(got.value)}`);
  expectThat(
    !(got.error instanceof ConcurrencyError),
    `${call} rejects with the database's error: nobody else appended, so it is no ConcurrencyError (a caller would reload and retry forever)`,
    `it rejected with ${show(got.error)}`,
  );
  await expectNoOpenTransaction(r, `the failed ${call}`);
  verify(await storedVersions(r, s.sku), `the versions in events after the failed ${call} (one transaction: all of it or nothing)`).equals(times(current, (i) => i + 1));
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

/** The query spans under the span, with their first SQL word: ["BEGIN", "SELECT", "INSERT", "COMMIT"]. */
function statements(span: SpanNode | undefined): string[] {
  return span ? queriesUnder(span).map((q) => firstWord(queryText(q))) : [];
}

it('trace: pg loads after the instrumentation is enabled (read from your imports)', async () => {
  expectLoadOrder(await readImportGraph(targetFolder(EXERCISE)), ENTRIES);
});

it('trace: each command is a handle span whose load, append and snapshot spans parent the CLIENT spans of their queries', async () => {
  const snapshotEvery = random.int(2, 3);
  const r = await openRig(target, snapshotEvery);
  const s = newStream();
  await prepare(r, s, times(random.int(0, snapshotEvery - 1), receive));
  // Up to and past a snapshot version, every kind of command.
  const until = (Math.floor(s.accepted.length / snapshotEvery) + 1) * snapshotEvery + 1;
  while (s.accepted.length < until) {
    const command = acceptedCommand(fold(s.accepted).onHand);
    const before = s.accepted.length;
    otel.reset();
    await handle(r, s, command);
    await otel.settled();
    const k = before + 1;
    const snapshotNow = k % snapshotEvery === 0;
    const snapshotBefore = Math.floor(before / snapshotEvery) * snapshotEvery;
    const children: SpanShape[] = [
      { name: LOAD, attributes: { [ATTR.streamId]: s.sku, [ATTR.version]: before, [ATTR.snapshotVersion]: snapshotBefore, [ATTR.replayed]: before - snapshotBefore } },
      { name: APPEND, kind: 'internal', attributes: { [ATTR.streamId]: s.sku, [ATTR.expectedVersion]: before, [ATTR.eventCount]: 1, [ATTR.version]: k } },
      ...(snapshotNow ? [{ name: SNAPSHOT, kind: 'internal' as const, attributes: { [ATTR.streamId]: s.sku, [ATTR.snapshotVersion]: k } }] : []),
    ];
    const concept = `command #${k}, ${showCommand(command)} (snapshotEvery = ${snapshotEvery})${snapshotNow ? `, which saves a snapshot at version ${k}` : ''}`;
    const tree = expectTrace(otel, { name: `handle ${command.type}`, kind: 'internal', attributes: { [ATTR.sku]: s.sku }, children }, concept);
    const span = (name: string): SpanNode | undefined => tree.spans.find((x) => x.name === name);
    expectQueriesUnder(span(LOAD), tree, `the "${LOAD}" span of ${concept}`);
    expectQueriesUnder(span(APPEND), tree, `the "${APPEND}" span of ${concept}`);
    // The append's statements, in order: BEGIN, its INSERT, COMMIT (other queries may come between).
    const words = statements(span(APPEND));
    const begin = words.findIndex((w) => w === 'BEGIN' || w === 'START');
    const insert = words.findIndex((w, i) => i > begin && w === 'INSERT');
    const commit = words.findIndex((w, i) => i > insert && (w === 'COMMIT' || w === 'END'));
    expectThat(
      begin >= 0 && insert > begin && commit > insert,
      `the queries under "${APPEND}" of ${concept} are one transaction: BEGIN, then the INSERT of the event, then COMMIT, all CLIENT children of the append span`,
      `they were [${words.join(', ') || 'none'}]`,
    );
    if (snapshotNow) {
      verify(statements(span(SNAPSHOT)), `the statements under "${SNAPSHOT}" of ${concept}`).includes('INSERT');
    } else {
      verify(tree.spans.filter((x) => x.name === SNAPSHOT), `the "${SNAPSHOT}" spans of ${concept} (version ${k} is not a multiple of ${snapshotEvery})`).hasCount(0, `"${SNAPSHOT}" span`);
    }
    expectAllEnded(otel);
  }
});

it('trace: query spans carry db.system.name, db.namespace and a parametrized db.query.text, and no value of a query appears in any of them', async () => {
  const r = await openRig(target, 2);
  const s = newStream();
  const orderIds = [random.id('order-'), random.id('order-')];
  const quantity = random.int(100_000, 999_999);
  otel.reset();
  await handleAll(r, s, [
    { type: 'receive', quantity },
    { type: 'ship', quantity: random.int(1, 99), orderId: orderIds[0] ?? '' },
    { type: 'ship', quantity: random.int(1, 99), orderId: orderIds[1] ?? '' },
  ]);
  await r.items.loadAt(s.sku, 1);
  await otel.settled();
  const queries = spansNamed(otel, PG_QUERY).filter((q) => q.kind === 'client');
  if (queries.length === 0) fail(TEXT.noClientSpans('the trace of three commands'));
  for (const query of queries) {
    const what = (key: string): string => `${key} of the query span "${query.name}" (${show(queryText(query))})`;
    verify(query.attributes['db.system.name'], what('db.system.name')).is('postgresql');
    verify(query.attributes['db.namespace'], what('db.namespace')).is(r.database);
    verify(queryText(query), what('db.query.text')).matches(/\S/);
  }
  const inserts = queries.filter((q) => firstWord(queryText(q)) === 'INSERT');
  verify(inserts.length, 'the INSERT query spans of three commands, one of which saves a snapshot').isAtLeast(3);
  for (const insert of inserts) {
    expectThat(/\$1\b/.test(queryText(insert)), 'an INSERT passes its values as parameters: its db.query.text has placeholders like $1 and $2', `one was ${JSON.stringify(queryText(insert))}`);
  }
  const leaks = leakedValues(otel, [s.sku, ...orderIds, String(quantity)]);
  expectThat(
    leaks.length === 0,
    `no value of a query (the stream id "${s.sku}", the order ids, the quantity ${quantity}) appears in a CLIENT span: statements hold placeholders, and the values stay out of the telemetry`,
    leaks.slice(0, 3).join('; '),
  );
});

it('trace: a conflicting append is an ERROR span with error.type, and the stream keeps its version', async () => {
  const r = await openRig(target, 50);
  const s = newStream();
  await prepare(r, s, times(random.int(1, 5), receive));
  const current = s.accepted.length;
  for (const stale of wrongVersions(current)) {
    const batch = times(random.int(1, 3), anyEvent);
    otel.reset();
    await settle(r.events.append(s.sku, stale, batch));
    await otel.settled();
    const tree = expectTrace(
      otel,
      {
        name: APPEND,
        status: 'error',
        attributes: { [ATTR.streamId]: s.sku, [ATTR.expectedVersion]: stale, [ATTR.eventCount]: batch.length, [ATTR.version]: current, 'error.type': 'ConcurrencyError' },
      },
      `an append expecting version ${stale} on a stream at ${current}: ERROR, error.type "ConcurrencyError", and app.event_store.version still ${current} (nothing written)`,
    );
    expectQueriesUnder(tree.roots.find((x) => x.name === APPEND), tree, `the refused "${APPEND}" span`);
    verify(statements(tree.roots.find((x) => x.name === APPEND)), `the statements under the refused "${APPEND}"`).excludes('COMMIT');
    expectAllEnded(otel);
  }
});

it('trace: a refused command is an ERROR handle span with error.type, and sends no INSERT', async () => {
  const r = await openRig(target, 50);
  const s = newStream();
  await prepare(r, s, times(random.int(0, 3), receive));
  const onHand = fold(s.accepted).onHand;
  const command: StockCommand = { type: 'ship', quantity: onHand + random.int(1, 20), orderId: random.id('order-') };
  otel.reset();
  await handle(r, s, command);
  await otel.settled();
  const tree = expectTrace(
    otel,
    { name: 'handle ship', status: 'error', attributes: { [ATTR.sku]: s.sku, 'error.type': 'InsufficientStockError' }, children: [{ name: LOAD }] },
    `${showCommand(command)} with ${onHand} on hand is refused: the handle span is ERROR with error.type = the error's name`,
  );
  verify(spansNamed(otel, APPEND).map((x) => x.name), `the "${APPEND}" spans of the refused ${showCommand(command)}`).equals([]);
  verify(statements(tree.roots[0]), `the statements of the refused ${showCommand(command)}`).excludes('INSERT');
  expectAllEnded(otel);
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('structure: the domain imports neither OpenTelemetry, nor pg, nor the stores', async () => {
  const graph = await readImportGraph(targetFolder(EXERCISE));
  expectNoViolations(
    forbidImports(graph, {
      from: 'domain/**',
      to: ['@opentelemetry/*', 'pg', 'event-store.ts', 'snapshot-store.ts', 'stock-items.ts', 'db.ts', 'migrations.ts', '#kit'],
      because: 'the domain decides and evolves; storing, replaying and tracing belong to the code around it',
      transitive: true,
    }),
    'the domain stays pure',
  );
});


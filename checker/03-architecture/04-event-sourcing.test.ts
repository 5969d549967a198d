import { it } from 'vitest';
import {
  anyNumber,
  expectAllEnded,
  expectNoViolations,
  expectThat,
  expectTrace,
  fail,
  forbidImports,
  holds,
  random,
  readImportGraph,
  show,
  spansNamed,
  targetFolder,
  useTracing,
  verify,
  type SpanShape,
} from '#checks';
import { ConcurrencyError, EventStore } from '#target/03-architecture/04-event-sourcing/event-store.ts';
import { SnapshotStore } from '#target/03-architecture/04-event-sourcing/snapshot-store.ts';
import { StockItems } from '#target/03-architecture/04-event-sourcing/stock-items.ts';
import type { StockCommand, StockState } from '#target/03-architecture/04-event-sourcing/domain/stock-item.ts';
import {
  APPEND,
  ATTR,
  HISTORY_EDGES,
  LOAD,
  SNAPSHOT,
  anyEvent,
  describeHistory,
  errorName,
  fold,
  handle,
  handleAll,
  historyArb,
  newRig,
  receive,
  settle,
  showCommand,
  sortedState,
  times,
  wrongVersions,
} from './04-event-sourcing.rig.ts';
import { verifySequence } from './sequences.ts';

const otel = useTracing();
const target = { EventStore, SnapshotStore, StockItems, ConcurrencyError };
const property = { examples: HISTORY_EDGES, describe: describeHistory, replay: otel, runs: 40, timeLimitMs: 1_000 };

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('property: replaying the stream gives the state the commands built, at the version of its last event', async () => {
  await holds(
    historyArb,
    async ({ commands, snapshotEvery }) => {
      const r = newRig(target, snapshotEvery);
      await handleAll(r, commands);
      const loaded = await r.items.load(r.sku);
      verify({ state: sortedState(loaded?.state), version: loaded?.version }, `load("${r.sku}")`).equals({
        state: sortedState(fold(r.accepted)),
        version: r.accepted.length,
      });
    },
    property,
  );
});

it('property: a snapshot is saved every snapshotEvery events, and loading from it equals replaying every event', async () => {
  await holds(
    historyArb,
    async ({ commands, snapshotEvery }) => {
      const r = newRig(target, snapshotEvery);
      await handleAll(r, commands);
      const version = r.accepted.length;
      for (let at = snapshotEvery; at <= version; at += snapshotEvery) {
        const snapshot = await r.snapshots.latest(r.sku, at);
        verify(snapshot?.version, `the version of snapshots.latest("${r.sku}", ${at}) (the append that made version ${at}, a multiple of ${snapshotEvery}, saves one)`).is(at);
        verify(sortedState(snapshot?.state), `the state in the snapshot at version ${at} (the state after the first ${at} events)`).equals(sortedState(fold(r.accepted.slice(0, at))));
      }
      if (version < snapshotEvery) verify(await r.snapshots.latest(r.sku), `snapshots.latest("${r.sku}") with only ${version} events, fewer than snapshotEvery`).is(undefined);
      const withSnapshots = await r.items.load(r.sku);
      const fromEvents = await new StockItems({ events: r.events, snapshots: new SnapshotStore<StockState>(), snapshotEvery }).load(r.sku);
      verify(
        { state: sortedState(withSnapshots.state), version: withSnapshots.version },
        'load from the snapshots, compared with replaying every event (a second StockItems over the same events and an empty snapshot store)',
      ).equals({ state: sortedState(fromEvents.state), version: fromEvents.version });
    },
    property,
  );
});

it('property: the state as of every past version is the fold of the events up to it, and a version not reached is a RangeError', async () => {
  await holds(
    historyArb,
    async ({ commands, snapshotEvery }) => {
      const r = newRig(target, snapshotEvery);
      await handleAll(r, commands);
      // Every version, 0 and the latest included.
      for (let version = 0; version <= r.accepted.length; version++) {
        const got = await settle(r.items.loadAt(r.sku, version));
        if (!got.ok) fail(`loadAt("${r.sku}", ${version}) rejected with ${show(got.error)}, expected the state after the first ${version} events`);
        verify(sortedState(got.value), `loadAt("${r.sku}", ${version}) (the state after the first ${version} events)`).equals(sortedState(fold(r.accepted.slice(0, version))));
      }
      const beyond = r.accepted.length + random.int(1, 5);
      const future = await settle(r.items.loadAt(r.sku, beyond));
      expectThat(
        !future.ok && errorName(future.error) === 'RangeError',
        `loadAt("${r.sku}", ${beyond}) asks for a version the stream (at ${r.accepted.length}) has not reached: it rejects with a RangeError`,
        future.ok ? `it resolved ${show(future.value)}` : `it rejected with ${show(future.error)}`,
      );
    },
    property,
  );
});

it('the state as of a version before the latest snapshot starts from a snapshot at or before it, never a later one', async () => {
  const snapshotEvery = random.int(2, 5);
  const r = newRig(target, snapshotEvery);
  const count = 2 * snapshotEvery + random.int(1, snapshotEvery);
  await handleAll(r, times(count, receive));
  for (const version of [0, 1, snapshotEvery, snapshotEvery + 1, count]) {
    const got = await settle(r.items.loadAt(r.sku, version));
    const asked = `loadAt("${r.sku}", ${version}) on a stream of ${count} events with snapshots at ${snapshotEvery} and ${2 * snapshotEvery}`;
    if (!got.ok) fail(`${asked} rejected with ${show(got.error)}, expected the state after the first ${version} events`);
    verify(sortedState(got.value), `${asked} (the state after the first ${version} events)`).equals(sortedState(fold(r.accepted.slice(0, version))));
  }
});

it('property: an append with a wrong expected version (behind or ahead) rejects with a ConcurrencyError and writes nothing', async () => {
  await holds(
    historyArb,
    async ({ commands, snapshotEvery }) => {
      const r = newRig(target, snapshotEvery);
      await handleAll(r, commands);
      const current = r.accepted.length;
      const batch = times(random.int(1, 3), anyEvent);
      for (const expectedVersion of wrongVersions(current)) {
        const before = await r.events.read(r.sku);
        const call = `append("${r.sku}", ${expectedVersion}, ${batch.length} events) on a stream at version ${current}`;
        const got = await settle(r.events.append(r.sku, expectedVersion, batch));
        if (got.ok) fail(`${call} must reject with a ConcurrencyError, but it resolved ${show(got.value)}`);
        verify(got.error, `what ${call} rejected with`).isInstanceOf(ConcurrencyError);
        const error = got.error as ConcurrencyError;
        verify({ streamId: error.streamId, expectedVersion: error.expectedVersion, actualVersion: error.actualVersion }, `the ConcurrencyError of ${call}`).equals({
          streamId: r.sku,
          expectedVersion,
          actualVersion: current,
        });
        verifySequence(await r.events.read(r.sku), before, `the stream after the refused ${call} (it writes nothing)`);
      }
      verify(await r.events.append(r.sku, current, batch), `append("${r.sku}", ${current}, ${batch.length} events) with the right expected version`).is(current + batch.length);
    },
    property,
  );
});

it('two appends racing on the same expected version: exactly one is written, the other is a ConcurrencyError', async () => {
  const r = newRig(target, random.int(2, 6));
  await handleAll(r, times(random.int(0, 6), receive));
  const version = r.accepted.length;
  const first = [anyEvent()];
  const second = times(random.int(1, 3), anyEvent);
  const [a, b] = await Promise.all([settle(r.events.append(r.sku, version, first)), settle(r.events.append(r.sku, version, second))]);
  const race = `two appends expecting version ${version}, started together`;
  verify([a, b].filter((x) => x.ok), `${race}: the appends that were written (compare and write with no await in between)`).hasCount(1, 'append');
  const loser = a.ok ? b : a;
  if (!loser.ok) verify(loser.error, `what the other of ${race} rejected with`).isInstanceOf(ConcurrencyError);
  const winner = a.ok ? first : second;
  const stream = await r.events.read(r.sku);
  verifySequence(stream.slice(version).map((e) => e.event), winner, `the events after ${race}: the winner's only, in order`);
  verifySequence(stream.map((e) => e.version), times(stream.length, (i) => i + 1), 'the versions of the stream, 1, 2, 3… with no gap');
});

it('a snapshot is saved only after its append succeeded: two commands racing at a snapshot version leave no snapshot of the state that lost', async () => {
  const snapshotEvery = random.int(2, 6);
  const r = newRig(target, snapshotEvery);
  const before = random.int(1, 3) * snapshotEvery - 1;
  await handleAll(r, times(before, receive));
  const onHand = fold(r.accepted).onHand;
  // Two commands that lead to different states, decided on the same version.
  const racing: StockCommand[] = random.shuffle([
    { type: 'receive', quantity: random.int(1, 50) },
    { type: 'count', quantity: onHand + random.int(51, 99) },
  ]);
  const outcomes = await Promise.all(racing.map((command) => settle(r.items.handle(r.sku, command))));
  const race = `${racing.map(showCommand).join(' and ')}, handled together on a stream at version ${before} (snapshotEvery = ${snapshotEvery})`;
  const won = outcomes.filter((o) => o.ok);
  verify(won.map((o) => (o.ok ? o.value : undefined)), `the versions resolved by ${race}: one append wins`).equals([before + 1]);
  const lost = outcomes.find((o) => !o.ok);
  if (lost && !lost.ok) verify(errorName(lost.error), `the error the other of ${race} rejected with (its append was refused)`).is('ConcurrencyError');
  const stream = (await r.events.read(r.sku)).map((e) => e.event);
  verify(stream, `the stream after ${race}`).hasCount(before + 1, 'event');
  for (const snapshot of r.saved) {
    verify(
      sortedState(snapshot.state),
      `the state in the snapshot saved at version ${snapshot.version} after ${race} (the state the stream holds as of it, not the one whose append was refused)`,
    ).equals(sortedState(fold(stream.slice(0, snapshot.version))));
  }
  verify(r.saved.filter((s) => s.version === before + 1), `the snapshots saved at version ${before + 1}`).hasCount(1, 'snapshot');
});

it('load reads from the event store only the events after the latest snapshot', async () => {
  const snapshotEvery = random.int(2, 6);
  const k = random.int(1, 3);
  // Exactly at a snapshot (nothing to read) and past it, every run.
  for (const count of [k * snapshotEvery, k * snapshotEvery + random.int(1, snapshotEvery - 1)]) {
    const r = newRig(target, snapshotEvery);
    await handleAll(r, times(count, receive));
    const readBefore = r.eventsRead();
    const loaded = await r.items.load(r.sku);
    const snapshotAt = Math.floor(count / snapshotEvery) * snapshotEvery;
    verify(loaded.version, `the version load("${r.sku}") gave for a stream of ${count} events`).is(count);
    verify(
      r.eventsRead() - readBefore,
      `the events load read through events.read with ${count} events and a snapshot at version ${snapshotAt} (events.read(streamId, ${snapshotAt}))`,
    ).is(count - snapshotAt);
  }
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('trace: each command is a handle span with its load, its append and, every snapshotEvery events, a snapshot', async () => {
  const snapshotEvery = random.int(2, 5);
  const r = newRig(target, snapshotEvery);
  // Every kind of command, all of them accepted: receive first, a discontinue last.
  const middle = times(random.int(snapshotEvery, snapshotEvery * 3), () => random.pick(['receive', 'ship', 'count'] as const));
  const kinds = ['receive', ...random.shuffle([...middle, 'ship', 'count']), 'discontinue'] as const;
  for (const [i, kind] of kinds.entries()) {
    const onHand = fold(r.accepted).onHand;
    const command: StockCommand =
      kind === 'receive'
        ? receive()
        : kind === 'ship'
          ? { type: 'ship', quantity: random.int(0, onHand), orderId: random.id('order-') }
          : kind === 'count'
            ? { type: 'count', quantity: random.int(0, 300) }
            : { type: 'discontinue' };
    otel.reset();
    await handle(r, command);
    const k = i + 1;
    const before = k - 1;
    const snapshotBefore = Math.floor(before / snapshotEvery) * snapshotEvery;
    const snapshotNow = k % snapshotEvery === 0;
    const children: SpanShape[] = [
      { name: LOAD, attributes: { [ATTR.streamId]: r.sku, [ATTR.version]: before, [ATTR.snapshotVersion]: snapshotBefore, [ATTR.replayed]: before - snapshotBefore } },
      { name: APPEND, attributes: { [ATTR.streamId]: r.sku, [ATTR.expectedVersion]: before, [ATTR.eventCount]: 1, [ATTR.version]: k } },
      ...(snapshotNow ? [{ name: SNAPSHOT, attributes: { [ATTR.streamId]: r.sku, [ATTR.snapshotVersion]: k } }] : []),
    ];
    const tree = expectTrace(
      otel,
      { name: `handle ${command.type}`, kind: 'internal', attributes: { [ATTR.sku]: r.sku }, children },
      `command #${k}, ${showCommand(command)} (snapshotEvery = ${snapshotEvery}): it loads version ${before} from the snapshot at ${snapshotBefore}, replaying ${before - snapshotBefore} events, appends expecting version ${before}` +
        (snapshotNow ? `, and saves a snapshot at version ${k}, a multiple of ${snapshotEvery}` : ''),
    );
    verify(
      tree.spans.filter((s) => s.name === SNAPSHOT),
      `the snapshot spans of command #${k}, which brings the stream to version ${k}${snapshotNow ? '' : ` (not a multiple of ${snapshotEvery})`}`,
    ).hasCount(snapshotNow ? 1 : 0, `"${SNAPSHOT}" span`);
    expectAllEnded(otel);
  }
});

it('trace: load shows what the snapshot saved, in app.event_store.snapshot_version and events_replayed', async () => {
  const snapshotEvery = random.int(2, 6);
  const r = newRig(target, snapshotEvery);
  const count = random.int(snapshotEvery + 1, snapshotEvery * 5);
  await handleAll(r, times(count, receive));
  otel.reset();
  await r.items.load(r.sku);
  const snapshotAt = Math.floor(count / snapshotEvery) * snapshotEvery;
  expectTrace(
    otel,
    { name: LOAD, kind: 'internal', attributes: { [ATTR.streamId]: r.sku, [ATTR.version]: count, [ATTR.snapshotVersion]: snapshotAt, [ATTR.replayed]: count - snapshotAt } },
    `${count} events with a snapshot every ${snapshotEvery}: load starts from the snapshot at version ${snapshotAt} and replays the ${count - snapshotAt} events after it`,
  );
  // The state as of a version: the first, one at a snapshot, and a random one.
  for (const at of [0, snapshotEvery, random.int(1, count)]) {
    otel.reset();
    await r.items.loadAt(r.sku, at);
    expectTrace(
      otel,
      { name: LOAD, kind: 'internal', attributes: { [ATTR.streamId]: r.sku, [ATTR.version]: at, [ATTR.snapshotVersion]: anyNumber(), [ATTR.replayed]: anyNumber() } },
      `loadAt("${r.sku}", ${at}) is a "${LOAD}" span too, with the version it loaded`,
    );
    const span = spansNamed(otel, LOAD)[0];
    const from = Number(span?.attributes[ATTR.snapshotVersion]);
    verify(from, `app.event_store.snapshot_version of loadAt(${at}) (a snapshot at or before ${at}, or 0 for none)`).isBetween(0, at);
    verify(span?.attributes[ATTR.replayed], `app.event_store.events_replayed of loadAt(${at}), starting from the snapshot at ${from}`).is(at - from);
  }
  expectAllEnded(otel);
});

it('trace: a conflicting append is an ERROR span with error.type, and the stream keeps its version', async () => {
  const r = newRig(target, random.int(2, 6));
  await handleAll(r, times(random.int(1, 8), receive));
  const current = r.accepted.length;
  for (const stale of wrongVersions(current)) {
    const batch = times(random.int(1, 3), anyEvent);
    otel.reset();
    await settle(r.events.append(r.sku, stale, batch));
    expectTrace(
      otel,
      {
        name: APPEND,
        status: 'error',
        attributes: { [ATTR.streamId]: r.sku, [ATTR.expectedVersion]: stale, [ATTR.eventCount]: batch.length, [ATTR.version]: current, 'error.type': 'ConcurrencyError' },
      },
      `an append expecting version ${stale} on a stream at ${current}: ERROR, error.type "ConcurrencyError", and app.event_store.version still ${current} (nothing written)`,
    );
    expectAllEnded(otel);
  }
});

it('trace: a refused command is an ERROR handle span with error.type, and appends nothing', async () => {
  const r = newRig(target, random.int(2, 6));
  await handleAll(r, times(random.int(0, 3), receive));
  const refusals: { command: StockCommand; error: string }[] = [
    { command: { type: 'ship', quantity: fold(r.accepted).onHand + random.int(1, 20), orderId: random.id('order-') }, error: 'InsufficientStockError' },
  ];
  for (const { command, error } of refusals) await checkRefusal(command, error);
  await handle(r, { type: 'discontinue' });
  for (const command of random.shuffle<StockCommand>([receive(), { type: 'discontinue' }])) await checkRefusal(command, 'ItemDiscontinuedError');

  async function checkRefusal(command: StockCommand, error: string): Promise<void> {
    otel.reset();
    const onHand = fold(r.accepted).onHand;
    await handle(r, command);
    expectTrace(
      otel,
      { name: `handle ${command.type}`, status: 'error', attributes: { [ATTR.sku]: r.sku, 'error.type': error }, children: [{ name: LOAD }] },
      `${showCommand(command)} (${onHand} on hand${fold(r.accepted).discontinued ? ', discontinued' : ''}) is refused: the handle span is ERROR with error.type = the error's name`,
    );
    verify(spansNamed(otel, APPEND).map((s) => s.name), `the "${APPEND}" spans of the refused ${showCommand(command)}`).equals([]);
    verify(await r.events.read(r.sku), `the events of the stream after the refused ${showCommand(command)}`).hasCount(r.accepted.length, 'event');
    expectAllEnded(otel);
  }
});

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

it('structure: the domain imports neither OpenTelemetry nor the stores', async () => {
  const graph = await readImportGraph(targetFolder('03-architecture/04-event-sourcing'));
  expectNoViolations(
    forbidImports(graph, {
      from: 'domain/**',
      to: ['@opentelemetry/*', 'event-store.ts', 'snapshot-store.ts', 'stock-items.ts', '#kit'],
      because: 'the domain decides and evolves; storing, replaying and tracing belong to the code around it',
      transitive: true,
    }),
    'the domain stays pure',
  );
});

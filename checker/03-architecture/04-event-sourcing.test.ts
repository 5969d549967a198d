import { expect, it } from 'vitest';
import fc from 'fast-check';
import {
  anyNumber,
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
} from '#checks';
import { ConcurrencyError, EventStore } from '#target/03-architecture/04-event-sourcing/event-store.ts';
import { SnapshotStore } from '#target/03-architecture/04-event-sourcing/snapshot-store.ts';
import { StockItems } from '#target/03-architecture/04-event-sourcing/stock-items.ts';
import type { StockCommand, StockEvent, StockState } from '#target/03-architecture/04-event-sourcing/domain/stock-item.ts';

const otel = useTracing();

const LOAD = 'load stock-item';
const APPEND = 'append events';
const SNAPSHOT = 'save snapshot';
const ATTR = {
  streamId: 'app.event_store.stream_id',
  version: 'app.event_store.version',
  expectedVersion: 'app.event_store.expected_version',
  eventCount: 'app.event_store.event_count',
  snapshotVersion: 'app.event_store.snapshot_version',
  replayed: 'app.event_store.events_replayed',
  sku: 'app.stock.sku',
} as const;

// ---------------------------------------------------------------------------------------------
// The reference: the stock item's rules as the README states them, folded by the checker
// ---------------------------------------------------------------------------------------------

const INITIAL: StockState = { onHand: 0, received: 0, shipped: 0, lastOrderId: null, discontinued: false };

/** The event `command` causes, or the name of the error that refuses it. */
function refDecide(state: StockState, command: StockCommand): StockEvent | string {
  switch (command.type) {
    case 'receive':
      return state.discontinued ? 'ItemDiscontinuedError' : { type: 'StockReceived', quantity: command.quantity };
    case 'ship':
      return command.quantity > state.onHand ? 'InsufficientStockError' : { type: 'StockShipped', quantity: command.quantity, orderId: command.orderId };
    case 'count':
      return { type: 'StockCounted', quantity: command.quantity };
    case 'discontinue':
      return state.discontinued ? 'ItemDiscontinuedError' : { type: 'ItemDiscontinued' };
  }
}

function refEvolve(state: StockState, event: StockEvent): StockState {
  switch (event.type) {
    case 'StockReceived':
      return { ...state, onHand: state.onHand + event.quantity, received: state.received + event.quantity };
    case 'StockShipped':
      return { ...state, onHand: state.onHand - event.quantity, shipped: state.shipped + event.quantity, lastOrderId: event.orderId };
    case 'StockCounted':
      return { ...state, onHand: event.quantity };
    case 'ItemDiscontinued':
      return { ...state, discontinued: true };
  }
}

function fold(events: readonly StockEvent[]): StockState {
  return events.reduce(refEvolve, INITIAL);
}

function show(command: StockCommand): string {
  switch (command.type) {
    case 'receive':
    case 'count':
      return `${command.type} ${command.quantity}`;
    case 'ship':
      return `ship ${command.quantity} (${command.orderId})`;
    case 'discontinue':
      return 'discontinue';
  }
}

// ---------------------------------------------------------------------------------------------
// The rig
// ---------------------------------------------------------------------------------------------

class Mismatch extends Error {}

interface Rig {
  sku: string;
  snapshotEvery: number;
  events: EventStore<StockEvent>;
  snapshots: SnapshotStore<StockState>;
  items: StockItems;
  /** The events the commands must have appended, in order. */
  accepted: StockEvent[];
  /** What happened, for the story a failure tells. */
  log: string[];
}

function rig(snapshotEvery: number): Rig {
  const events = new EventStore<StockEvent>();
  const snapshots = new SnapshotStore<StockState>();
  const items = new StockItems({ events, snapshots, snapshotEvery });
  return { sku: random.id('sku-'), snapshotEvery, events, snapshots, items, accepted: [], log: [] };
}

function mismatch(r: Rig, message: string): Mismatch {
  const story = r.log.length > 0 ? r.log.map((l) => `  ${l}`) : ['  (no commands)'];
  return new Mismatch([message, `With snapshotEvery = ${r.snapshotEvery}, on stream "${r.sku}", the commands were:`, ...story].join('\n'));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

/** Handles `command` and checks the outcome against the reference: the new version, or the right refusal. */
async function handle(r: Rig, command: StockCommand): Promise<void> {
  const expected = refDecide(fold(r.accepted), command);
  let outcome: { version: number } | { error: unknown };
  try {
    outcome = { version: await r.items.handle(r.sku, command) };
  } catch (error) {
    outcome = { error };
  }
  if (typeof expected === 'string') {
    r.log.push(`${show(command)}  → refused (${expected})`);
    if ('version' in outcome) throw mismatch(r, `handle(${show(command)}) must reject with ${expected}, but it resolved version ${outcome.version}`);
    if (errorName(outcome.error) !== expected) {
      throw mismatch(r, `handle(${show(command)}) must reject with ${expected}, but it rejected with ${errorName(outcome.error)}`);
    }
    return;
  }
  r.accepted.push(expected);
  r.log.push(`${show(command)}  → version ${r.accepted.length}`);
  if ('error' in outcome) throw mismatch(r, `handle(${show(command)}) must resolve version ${r.accepted.length}, but it rejected with ${errorName(outcome.error)}: ${outcome.error instanceof Error ? outcome.error.message : ''}`);
  if (outcome.version !== r.accepted.length) throw mismatch(r, `handle(${show(command)}) must resolve the stream's new version, ${r.accepted.length}, not ${outcome.version}`);
}

async function handleAll(r: Rig, commands: readonly StockCommand[]): Promise<void> {
  for (const command of commands) await handle(r, command);
}

/**
 * Runs a fast-check property; a counterexample fails the check with the story of its commands.
 * Only one run's spans are kept: the counterexample's when there is one (it is run once more).
 */
async function property<T>(arbitrary: fc.Arbitrary<T>, run: (value: T) => Promise<void>, numRuns = 60): Promise<void> {
  const each = async (value: T): Promise<void> => {
    otel.reset();
    await run(value);
  };
  const result = await fc.check(fc.asyncProperty(arbitrary, each), { numRuns, interruptAfterTimeLimit: 1_500 });
  if (!result.failed) return;
  if (result.counterexample) await each(result.counterexample[0]).catch(() => undefined);
  const error = result.errorInstance;
  expect.fail(error instanceof Mismatch ? error.message : `${errorName(error)}: ${error instanceof Error ? error.message : String(error)}`);
}

const orderIdArb = fc.integer({ min: 1, max: 99_999 }).map((n) => `order-${n}`);
const commandArb: fc.Arbitrary<StockCommand> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('receive' as const), quantity: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('ship' as const), quantity: fc.integer({ min: 1, max: 40 }), orderId: orderIdArb }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('count' as const), quantity: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'discontinue' as const }) },
);
const historyArb = fc.record({
  commands: fc.array(commandArb, { maxLength: 30 }),
  snapshotEvery: fc.integer({ min: 2, max: 7 }),
});

/** A command the item always accepts, so that k commands make version k. */
function receive(): StockCommand {
  return { type: 'receive', quantity: random.int(1, 500) };
}

function times<T>(n: number, make: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

/** A random event to append directly. */
function anyEvent(): StockEvent {
  return random.pick<StockEvent>([
    { type: 'StockReceived', quantity: random.int(1, 99) },
    { type: 'StockCounted', quantity: random.int(0, 99) },
  ]);
}

/** A version that is not `current`: behind it (a stale read) or, now and then, ahead of it. */
function staleVersion(current: number): number {
  return current > 0 && random.int(1, 4) > 1 ? random.int(0, current - 1) : current + random.int(1, 5);
}

async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('property: replaying the stream gives the state the commands built, at the version of its last event', async () => {
  await property(historyArb, async ({ commands, snapshotEvery }) => {
    const r = rig(snapshotEvery);
    await handleAll(r, commands);
    const loaded = await r.items.load(r.sku);
    const expected = { state: fold(r.accepted), version: r.accepted.length };
    if (loaded?.version !== expected.version || !sameState(loaded.state, expected.state)) {
      throw mismatch(r, `load("${r.sku}") gave ${JSON.stringify(loaded)}, expected ${JSON.stringify(expected)}`);
    }
  });
});

it('property: a snapshot is saved every snapshotEvery events, and loading from it equals replaying every event', async () => {
  await property(historyArb, async ({ commands, snapshotEvery }) => {
    const r = rig(snapshotEvery);
    await handleAll(r, commands);
    const version = r.accepted.length;
    for (let at = snapshotEvery; at <= version; at += snapshotEvery) {
      const snapshot = await r.snapshots.latest(r.sku, at);
      const expected = fold(r.accepted.slice(0, at));
      if (snapshot?.version !== at) {
        throw mismatch(r, `the append that made version ${at} (a multiple of ${snapshotEvery}) must save a snapshot at version ${at}; snapshots.latest("${r.sku}", ${at}) gave ${JSON.stringify(snapshot)}`);
      }
      if (!sameState(snapshot.state, expected)) {
        throw mismatch(r, `the snapshot at version ${at} must hold the state after the first ${at} events, ${JSON.stringify(expected)}; it holds ${JSON.stringify(snapshot.state)}`);
      }
    }
    if (version < snapshotEvery && (await r.snapshots.latest(r.sku)) !== undefined) {
      throw mismatch(r, `the stream has only ${version} events, fewer than snapshotEvery: no snapshot yet`);
    }
    const withSnapshots = await r.items.load(r.sku);
    const withoutSnapshots = await new StockItems({ events: r.events, snapshots: new SnapshotStore<StockState>(), snapshotEvery }).load(r.sku);
    if (withSnapshots.version !== withoutSnapshots.version || !sameState(withSnapshots.state, withoutSnapshots.state)) {
      throw mismatch(
        r,
        `loading from the snapshots gave ${JSON.stringify(withSnapshots)}, but replaying every event (an empty snapshot store) gave ${JSON.stringify(withoutSnapshots)}`,
      );
    }
  });
});

it('property: the state as of any past version is the fold of the events up to it', async () => {
  await property(fc.record({ history: historyArb, pick: fc.double({ min: 0, max: 1, noNaN: true }) }), async ({ history, pick }) => {
    const r = rig(history.snapshotEvery);
    await handleAll(r, history.commands);
    const version = Math.min(r.accepted.length, Math.floor(pick * (r.accepted.length + 1)));
    const expected = fold(r.accepted.slice(0, version));
    const got = await settle(r.items.loadAt(r.sku, version));
    if (!got.ok) throw mismatch(r, `loadAt("${r.sku}", ${version}) rejected with ${errorName(got.error)}, expected the state after the first ${version} events`);
    if (!sameState(got.value, expected)) {
      throw mismatch(r, `loadAt("${r.sku}", ${version}) gave ${JSON.stringify(got.value)}, expected the state after the first ${version} events, ${JSON.stringify(expected)}`);
    }
    const beyond = r.accepted.length + 1 + Math.floor(pick * 5);
    const future = await settle(r.items.loadAt(r.sku, beyond));
    if (future.ok || errorName(future.error) !== 'RangeError') {
      throw mismatch(r, `loadAt("${r.sku}", ${beyond}) asks for a version the stream (at ${r.accepted.length}) has not reached: it must reject with a RangeError, not ${future.ok ? `resolve ${JSON.stringify(future.value)}` : errorName(future.error)}`);
    }
  });
});

it('property: an append with the wrong expected version rejects with a ConcurrencyError and writes nothing', async () => {
  await property(historyArb, async ({ commands, snapshotEvery }) => {
    const r = rig(snapshotEvery);
    await handleAll(r, commands);
    const current = r.accepted.length;
    const before = await r.events.read(r.sku);
    const expectedVersion = staleVersion(current);
    const batch = times(random.int(1, 3), anyEvent);
    const got = await settle(r.events.append(r.sku, expectedVersion, batch));
    if (got.ok) throw mismatch(r, `append("${r.sku}", ${expectedVersion}, …) on a stream at version ${current} must reject with a ConcurrencyError, but it resolved ${got.value}`);
    if (!(got.error instanceof ConcurrencyError)) throw mismatch(r, `append with a wrong expected version must reject with a ConcurrencyError, not ${errorName(got.error)}`);
    if (got.error.expectedVersion !== expectedVersion || got.error.actualVersion !== current || got.error.streamId !== r.sku) {
      throw mismatch(r, `the ConcurrencyError must carry streamId "${r.sku}", expectedVersion ${expectedVersion} and actualVersion ${current}; it carries ${got.error.streamId}, ${got.error.expectedVersion}, ${got.error.actualVersion}`);
    }
    const after = await r.events.read(r.sku);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      throw mismatch(r, `a refused append must write nothing: the stream had ${before.length} events before it and has ${after.length} after it`);
    }
    const appended = await r.events.append(r.sku, current, batch);
    if (appended !== current + batch.length) throw mismatch(r, `append with the right expected version (${current}) of ${batch.length} events must resolve ${current + batch.length}, not ${appended}`);
  });
});

it('two appends racing on the same expected version: exactly one is written, the other is a ConcurrencyError', async () => {
  const r = rig(random.int(2, 6));
  await handleAll(r, times(random.int(0, 6), receive)).catch((e: unknown) => expect.fail(e instanceof Error ? e.message : String(e)));
  const version = r.accepted.length;
  const first = [anyEvent()];
  const second = times(random.int(1, 3), anyEvent);
  const [a, b] = await Promise.all([settle(r.events.append(r.sku, version, first)), settle(r.events.append(r.sku, version, second))]);
  const won = [a, b].filter((x) => x?.ok);
  const lost = [a, b].filter((x) => x && !x.ok);
  expect(won.length, `two appends expecting version ${version}, started together: exactly one may win (compare and write with no await in between)`).toBe(1);
  const loser = lost[0];
  expect(loser && !loser.ok && loser.error instanceof ConcurrencyError, 'the other append must reject with a ConcurrencyError').toBe(true);
  const winner = a?.ok ? first : second;
  const stream = await r.events.read(r.sku);
  expect(stream.length, 'only the winner\'s events are written').toBe(version + winner.length);
  expect(stream.slice(version).map((e) => e.event), 'the events after the race are the winner\'s, in order').toEqual(winner);
  expect(stream.map((e) => e.version), 'versions count 1, 2, 3… with no gap').toEqual(times(stream.length, (i) => i + 1));
});

it('load reads from the event store only the events after the latest snapshot', async () => {
  const snapshotEvery = random.int(2, 6);
  const r = rig(snapshotEvery);
  const count = random.int(snapshotEvery + 1, snapshotEvery * 4);
  try {
    await handleAll(r, times(count, receive));
  } catch (error) {
    expect.fail(error instanceof Error ? error.message : String(error));
  }
  let returned = 0;
  const read = r.events.read.bind(r.events);
  r.events.read = async (...args: Parameters<typeof read>) => {
    const found = await read(...args);
    returned += found.length;
    return found;
  };
  const loaded = await r.items.load(r.sku);
  const snapshotAt = Math.floor(count / snapshotEvery) * snapshotEvery;
  expect(loaded.version, `the stream holds ${count} events`).toBe(count);
  expect(
    returned,
    `with a snapshot at version ${snapshotAt}, load must read only the ${count - snapshotAt} events after it (events.read(streamId, ${snapshotAt})), not ${returned}`,
  ).toBe(count - snapshotAt);
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function loadSpans(): SpanNode[] {
  return spansNamed(otel, LOAD);
}

it('trace: each command is a handle span with its load, its append and, every snapshotEvery events, a snapshot', async () => {
  const snapshotEvery = random.int(2, 5);
  const r = rig(snapshotEvery);
  const count = random.int(snapshotEvery + 1, snapshotEvery * 3);
  for (let k = 1; k <= count; k++) {
    const command = receive();
    await handle(r, command).catch((e: unknown) => expect.fail(e instanceof Error ? e.message : String(e)));
    const before = k - 1;
    const snapshotBefore = Math.floor(before / snapshotEvery) * snapshotEvery;
    const snapshotNow = k % snapshotEvery === 0;
    const tree = expectTrace(
      otel,
      {
        name: 'handle receive',
        kind: 'internal',
        attributes: { [ATTR.sku]: r.sku },
        children: [
          {
            name: LOAD,
            attributes: { [ATTR.streamId]: r.sku, [ATTR.version]: before, [ATTR.snapshotVersion]: snapshotBefore, [ATTR.replayed]: before - snapshotBefore },
          },
          {
            name: APPEND,
            attributes: { [ATTR.streamId]: r.sku, [ATTR.expectedVersion]: before, [ATTR.eventCount]: 1, [ATTR.version]: k },
          },
          ...(snapshotNow ? [{ name: SNAPSHOT, attributes: { [ATTR.streamId]: r.sku, [ATTR.snapshotVersion]: k } }] : []),
        ],
      },
      `command #${k} (snapshotEvery = ${snapshotEvery}): it loads version ${before} from the snapshot at ${snapshotBefore}, replaying ${before - snapshotBefore} events, appends expecting version ${before}` +
        (snapshotNow ? `, and saves a snapshot at version ${k}, a multiple of ${snapshotEvery}` : ''),
    );
    const snapshots = tree.spans.filter((s) => s.name === SNAPSHOT).length;
    expect(snapshots, `command #${k} brings the stream to version ${k}: ${snapshotNow ? 'one snapshot' : `no snapshot (${k} is not a multiple of ${snapshotEvery})`}`).toBe(snapshotNow ? 1 : 0);
    otel.reset();
  }
  expectAllEnded(otel);
});

it('trace: load shows what the snapshot saved, in app.event_store.snapshot_version and events_replayed', async () => {
  const snapshotEvery = random.int(2, 6);
  const r = rig(snapshotEvery);
  const count = random.int(snapshotEvery + 1, snapshotEvery * 5);
  await handleAll(r, times(count, receive)).catch((e: unknown) => expect.fail(e instanceof Error ? e.message : String(e)));
  otel.reset();
  await r.items.load(r.sku);
  const snapshotAt = Math.floor(count / snapshotEvery) * snapshotEvery;
  expectTrace(
    otel,
    {
      name: LOAD,
      kind: 'internal',
      attributes: { [ATTR.streamId]: r.sku, [ATTR.version]: count, [ATTR.snapshotVersion]: snapshotAt, [ATTR.replayed]: count - snapshotAt },
    },
    `${count} events with a snapshot every ${snapshotEvery}: load starts from the snapshot at version ${snapshotAt} and replays the ${count - snapshotAt} events after it`,
  );

  otel.reset();
  const at = random.int(0, count);
  await r.items.loadAt(r.sku, at);
  expectTrace(
    otel,
    { name: LOAD, kind: 'internal', attributes: { [ATTR.streamId]: r.sku, [ATTR.version]: at, [ATTR.snapshotVersion]: anyNumber(), [ATTR.replayed]: anyNumber() } },
    `loadAt("${r.sku}", ${at}) is a "${LOAD}" span too, with the version it loaded`,
  );
  const span = loadSpans()[0];
  const from = Number(span?.attributes[ATTR.snapshotVersion]);
  const replayed = Number(span?.attributes[ATTR.replayed]);
  expect(
    { snapshotVersion: from, replayed },
    `loadAt(${at}): the snapshot it starts from is at or before ${at} (0 for none), and it replays the events from there up to ${at}`,
  ).toEqual({ snapshotVersion: Math.min(from, at), replayed: at - from });
  expectAllEnded(otel);
});

it('trace: a conflicting append is an ERROR span with error.type, and the stream keeps its version', async () => {
  const r = rig(random.int(2, 6));
  await handleAll(r, times(random.int(1, 8), receive)).catch((e: unknown) => expect.fail(e instanceof Error ? e.message : String(e)));
  const current = r.accepted.length;
  const stale = staleVersion(current);
  const batch = times(random.int(1, 3), anyEvent);
  otel.reset();
  await settle(r.events.append(r.sku, stale, batch));
  expectTrace(
    otel,
    {
      name: APPEND,
      status: 'error',
      attributes: {
        [ATTR.streamId]: r.sku,
        [ATTR.expectedVersion]: stale,
        [ATTR.eventCount]: batch.length,
        [ATTR.version]: current,
        'error.type': 'ConcurrencyError',
      },
    },
    `an append expecting version ${stale} on a stream at ${current}: ERROR, error.type "ConcurrencyError", and app.event_store.version still ${current} (nothing written)`,
  );
  expectAllEnded(otel);
});

it('trace: a refused command is an ERROR handle span with error.type, and appends nothing', async () => {
  const r = rig(random.int(2, 6));
  await handleAll(r, times(random.int(0, 3), receive)).catch((e: unknown) => expect.fail(e instanceof Error ? e.message : String(e)));
  const onHand = fold(r.accepted).onHand;
  otel.reset();
  const command: StockCommand = { type: 'ship', quantity: onHand + random.int(1, 20), orderId: random.id('order-') };
  await handle(r, command).catch((e: unknown) => expect.fail(e instanceof Error ? e.message : String(e)));
  expectTrace(
    otel,
    {
      name: 'handle ship',
      status: 'error',
      attributes: { [ATTR.sku]: r.sku, 'error.type': 'InsufficientStockError' },
      children: [{ name: LOAD }],
    },
    `${show(command)} with ${onHand} on hand is refused: the handle span is ERROR with error.type = the error's name`,
  );
  expect(spansNamed(otel, APPEND).map((s) => s.name), 'a refused command appends nothing: no "append events" span').toEqual([]);
  expect((await r.events.read(r.sku)).length, 'a refused command appends nothing').toBe(r.accepted.length);
  expectAllEnded(otel);
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

// ---------------------------------------------------------------------------------------------

function sorted(state: StockState): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state).sort(([a], [b]) => a.localeCompare(b)));
}

function sameState(a: StockState | undefined, b: StockState): boolean {
  return a !== undefined && JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

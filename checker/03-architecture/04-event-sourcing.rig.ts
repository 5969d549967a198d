/**
 * The rig of the event-sourcing checks: the stock item's rules as the README states them (folded by
 * the checker itself), the learner's stores and StockItems with every read and snapshot recorded, and
 * the command sequences fast-check draws.
 */
import fc from 'fast-check';
import { fail, random, show, verify } from '#checks';
import type { ConcurrencyError, EventStore, RecordedEvent } from '#target/03-architecture/04-event-sourcing/event-store.ts';
import type { Snapshot, SnapshotStore } from '#target/03-architecture/04-event-sourcing/snapshot-store.ts';
import type { StockItems } from '#target/03-architecture/04-event-sourcing/stock-items.ts';
import type { StockCommand, StockEvent, StockState } from '#target/03-architecture/04-event-sourcing/domain/stock-item.ts';

export const LOAD = 'load stock-item';
export const APPEND = 'append events';
export const SNAPSHOT = 'save snapshot';
export const ATTR = {
  streamId: 'app.event_store.stream_id',
  version: 'app.event_store.version',
  expectedVersion: 'app.event_store.expected_version',
  eventCount: 'app.event_store.event_count',
  snapshotVersion: 'app.event_store.snapshot_version',
  replayed: 'app.event_store.events_replayed',
  sku: 'app.stock.sku',
} as const;

/** The learner's classes, handed over by the checker file (which imports them through #target/). */
export interface Target {
  EventStore: typeof EventStore;
  SnapshotStore: typeof SnapshotStore;
  StockItems: typeof StockItems;
  ConcurrencyError: typeof ConcurrencyError;
}

// ---------------------------------------------------------------------------------------------
// The reference: the README's table of rules
// ---------------------------------------------------------------------------------------------

export const INITIAL: StockState = { onHand: 0, received: 0, shipped: 0, lastOrderId: null, discontinued: false };

/** The event `command` causes, or the name of the error that refuses it. */
export function refDecide(state: StockState, command: StockCommand): StockEvent | string {
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

export function fold(events: readonly StockEvent[]): StockState {
  return events.reduce(refEvolve, INITIAL);
}

export function showCommand(command: StockCommand): string {
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

/** A history in words, with what each command must do: "receive 5 → version 1, ship 9 → refused (InsufficientStockError)". */
export function describeHistory({ commands, snapshotEvery }: History): string {
  const events: StockEvent[] = [];
  const steps = commands.map((command) => {
    const decided = refDecide(fold(events), command);
    if (typeof decided === 'string') return `${showCommand(command)} → refused (${decided})`;
    events.push(decided);
    return `${showCommand(command)} → version ${events.length}`;
  });
  return `snapshotEvery = ${snapshotEvery}, commands: ${steps.join(', ') || 'none'}`;
}

/** The state without regard to key order, for comparing. */
export function sortedState(state: StockState | undefined): Record<string, unknown> | undefined {
  return state && Object.fromEntries(Object.entries(state).sort(([a], [b]) => a.localeCompare(b)));
}

// ---------------------------------------------------------------------------------------------
// The rig: one stream, the learner's code over it, every read and snapshot recorded
// ---------------------------------------------------------------------------------------------

export interface Rig {
  sku: string;
  snapshotEvery: number;
  events: EventStore<StockEvent>;
  snapshots: SnapshotStore<StockState>;
  items: StockItems;
  /** The events the commands must have appended, in order. */
  accepted: StockEvent[];
  /** Every snapshot saved, as it was handed to `save`. */
  saved: Snapshot<StockState>[];
  /** How many events `events.read` returned since the rig was made. */
  eventsRead(): number;
}

export function newRig(target: Target, snapshotEvery: number): Rig {
  const events = new target.EventStore<StockEvent>();
  const snapshots = new target.SnapshotStore<StockState>();
  const saved: Snapshot<StockState>[] = [];
  let read = 0;
  const save = snapshots.save.bind(snapshots);
  snapshots.save = (snapshot) => {
    saved.push(structuredClone(snapshot));
    return save(snapshot);
  };
  const readEvents = events.read.bind(events);
  events.read = async (...args: Parameters<typeof readEvents>): Promise<RecordedEvent<StockEvent>[]> => {
    const found = await readEvents(...args);
    read += found.length;
    return found;
  };
  const items = new target.StockItems({ events, snapshots, snapshotEvery });
  return { sku: random.id('sku-'), snapshotEvery, events, snapshots, items, accepted: [], saved, eventsRead: () => read };
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

/** Handles `command` and checks the outcome against the reference: the new version, or the right refusal. */
export async function handle(r: Rig, command: StockCommand): Promise<void> {
  const expected = refDecide(fold(r.accepted), command);
  const call = `handle("${r.sku}", ${showCommand(command)}) on a stream at version ${r.accepted.length}`;
  const outcome = await settle(r.items.handle(r.sku, command));
  if (typeof expected === 'string') {
    if (outcome.ok) fail(`${call} must reject with ${expected}, but it resolved ${show(outcome.value)}`);
    verify(errorName(outcome.error), `the error ${call} rejected with`).is(expected);
    return;
  }
  r.accepted.push(expected);
  if (!outcome.ok) fail(`${call} must resolve version ${r.accepted.length}, but it rejected with ${show(outcome.error)}`);
  verify(outcome.value, `the version ${call} resolved`).is(r.accepted.length);
}

export async function handleAll(r: Rig, commands: readonly StockCommand[]): Promise<void> {
  for (const command of commands) await handle(r, command);
}

export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

export interface History {
  commands: StockCommand[];
  snapshotEvery: number;
}

const orderIdArb = fc.integer({ min: 1, max: 99_999 }).map((n) => `order-${n}`);
const commandArb: fc.Arbitrary<StockCommand> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('receive' as const), quantity: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('ship' as const), quantity: fc.integer({ min: 1, max: 40 }), orderId: orderIdArb }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('count' as const), quantity: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'discontinue' as const }) },
);
export const historyArb: fc.Arbitrary<History> = fc.record({
  commands: fc.array(commandArb, { maxLength: 30 }),
  snapshotEvery: fc.integer({ min: 2, max: 7 }),
});

const receiveOf = (quantity: number): StockCommand => ({ type: 'receive', quantity });

/**
 * The edges every property runs first: an empty stream; a stream exactly at a snapshot; refusals
 * right before a snapshot version, a snapshot reached by a count and by a discontinue, refusals after
 * the item is discontinued; two snapshots with nothing after them.
 */
export const HISTORY_EDGES: readonly History[] = [
  { commands: [], snapshotEvery: 3 },
  { commands: [receiveOf(4), receiveOf(9), receiveOf(1)], snapshotEvery: 3 },
  {
    commands: [
      receiveOf(10),
      { type: 'ship', quantity: 11, orderId: 'order-1' },
      { type: 'ship', quantity: 4, orderId: 'order-2' },
      { type: 'count', quantity: 3 },
      { type: 'discontinue' },
      receiveOf(1),
      { type: 'discontinue' },
      { type: 'count', quantity: 0 },
    ],
    snapshotEvery: 2,
  },
  { commands: Array.from({ length: 14 }, (_, i) => receiveOf(i + 1)), snapshotEvery: 7 },
];

/** A command the item always accepts, so that k commands make version k. */
export function receive(): StockCommand {
  return receiveOf(random.int(1, 500));
}

export function times<T>(n: number, make: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

/** A random event to append directly. */
export function anyEvent(): StockEvent {
  return random.pick<StockEvent>([
    { type: 'StockReceived', quantity: random.int(1, 99) },
    { type: 'StockCounted', quantity: random.int(0, 99) },
  ]);
}

/** Versions an append must be refused at: behind the stream (a stale read) when it has events, and ahead of it. */
export function wrongVersions(current: number): number[] {
  return [...(current > 0 ? [random.int(0, current - 1)] : []), current + random.int(1, 5)];
}

/**
 * The composition root: the only file that knows both sides. It hands each side its own store and
 * connects them through the bus.
 */
import type { MessageBus } from '#kit';
import type { BankTopics } from './events.ts';
import { AccountCommands, type WriteStore } from './command/handlers.ts';
import { startProjection } from './query/projection.ts';
import { AccountQueries } from './query/queries.ts';
import type { ReadStore } from './query/read-model.ts';

export interface BankAppOptions {
  bus: MessageBus<BankTopics>;
  writeStore: WriteStore;
  readStore: ReadStore;
}

export interface BankApp {
  commands: AccountCommands;
  queries: AccountQueries;
  /** Stops the projection. */
  stop(): void;
}

export function createBankApp({ bus, writeStore, readStore }: BankAppOptions): BankApp {
  const stop = startProjection(bus, readStore, writeStore);
  return { commands: new AccountCommands(writeStore, bus), queries: new AccountQueries(readStore), stop };
}

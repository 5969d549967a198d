/**
 * The composition root: the only file that knows both sides. It hands each side its own store and
 * connects them through the bus.
 */
// Siblings are imported through #target/ so that this file type-checks where it lies, in wrong/;
// the grader lays it into a copy of the solution, where #target/ names that copy.
import type { MessageBus } from '#kit';
import type { BankTopics } from '#target/03-architecture/03-cqrs/events.ts';
import { AccountCommands, type WriteStore } from '#target/03-architecture/03-cqrs/command/handlers.ts';
import { startProjection } from './query/projection.ts';
import { AccountQueries } from '#target/03-architecture/03-cqrs/query/queries.ts';
import type { ReadStore } from '#target/03-architecture/03-cqrs/query/read-model.ts';

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

/*
 * The composition root, in the outermost ring: the one place that knows every ring, and plugs the
 * infrastructure into the ports the inner rings declare.
 */
import type { HttpHandler, InMemoryDatabase } from '#kit';
import { EventDispatcher } from '../application/event-dispatcher.ts';
import { NotifyPayee, NotifyPayer } from '../application/notify.ts';
import type { Notification, Notifier } from '../application/ports.ts';
import { TransferMoney } from '../application/transfer-money.ts';
import { InMemoryNotifier } from '../infrastructure/in-memory-notifier.ts';
import { transfersHttpHandler } from './http.ts';

export interface AppOptions {
  /** Where accounts are kept: table `accounts`, rows `{ id, balanceCents }` keyed by id. */
  database: InMemoryDatabase;
  /** Where the handlers send notifications. Default: an InMemoryNotifier, whose list is `notifications`. */
  notifier?: Notifier;
}

export interface TransferApp {
  /** Serves POST /transfers: give it to startHttpServer. */
  handler: HttpHandler;
  /** Every notification the InMemoryNotifier sent, in order (empty when `notifier` was given). */
  notifications: readonly Notification[];
}

export function createApp(options: AppOptions): TransferApp {
  const inMemory = new InMemoryNotifier();
  const notifier = options.notifier ?? inMemory;
  const dispatcher = new EventDispatcher([new NotifyPayer(notifier), new NotifyPayee(notifier)]);
  // TODO: TransferMoney should get a UnitOfWorkFactory (infrastructure/database-unit-of-work.ts has one).
  const transferMoney = new TransferMoney(options.database, dispatcher);
  return { handler: transfersHttpHandler(transferMoney), notifications: inMemory.sent };
}

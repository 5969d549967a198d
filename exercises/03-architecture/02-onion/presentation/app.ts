/*
 * The composition root, in the outermost ring: the one place that knows every ring, and plugs the
 * infrastructure into the ports the inner rings declare.
 */
import type { HttpHandler, InMemoryDatabase } from '#kit';
import { EventDispatcher } from '../application/event-dispatcher.ts';
import { NotifyPayee, NotifyPayer } from '../application/notify.ts';
import type { Notification } from '../application/ports.ts';
import { TransferMoney } from '../application/transfer-money.ts';
import { InMemoryNotifier } from '../infrastructure/in-memory-notifier.ts';
import { transfersHttpHandler } from './http.ts';

export interface AppOptions {
  /** Where accounts are kept: table `accounts`, rows `{ id, balanceCents }` keyed by id. */
  database: InMemoryDatabase;
}

export interface TransferApp {
  /** Serves POST /transfers: give it to startHttpServer. */
  handler: HttpHandler;
  /** Every notification sent, in order. */
  notifications: readonly Notification[];
}

export function createApp(options: AppOptions): TransferApp {
  const notifier = new InMemoryNotifier();
  const dispatcher = new EventDispatcher([new NotifyPayer(notifier), new NotifyPayee(notifier)]);
  // TODO: TransferMoney should get a UnitOfWorkFactory (infrastructure/database-unit-of-work.ts has one).
  const transferMoney = new TransferMoney(options.database, dispatcher);
  return { handler: transfersHttpHandler(transferMoney), notifications: notifier.sent };
}

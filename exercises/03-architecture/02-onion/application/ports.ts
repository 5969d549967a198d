import type { AccountRepository } from '../domain/account-repository.ts';
import type { DomainEvent } from '../domain/events.ts';

/** One transaction: the changes made through `accounts` are kept all together by `commit`, or not at all. */
export interface UnitOfWork {
  readonly accounts: AccountRepository;
  commit(): Promise<void>;
  /** Drops the changes; does nothing once committed. */
  rollback(): Promise<void>;
}

export interface UnitOfWorkFactory {
  begin(): UnitOfWork;
}

export interface Notification {
  accountId: string;
  kind: 'debit' | 'credit';
  amountCents: number;
}

/** Tells account holders what happened to their money. */
export interface Notifier {
  send(notification: Notification): Promise<void>;
}

/** Reacts to one type of domain event. */
export interface EventHandler {
  /** Names the handler (its span is named after it). */
  readonly name: string;
  readonly eventType: DomainEvent['type'];
  handle(event: DomainEvent): Promise<void>;
}

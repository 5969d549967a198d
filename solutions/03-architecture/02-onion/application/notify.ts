import type { DomainEvent } from '../domain/events.ts';
import type { EventHandler, Notifier } from './ports.ts';

/** Tells the payer their account was debited. */
export class NotifyPayer implements EventHandler {
  readonly name = 'NotifyPayer';
  readonly eventType = 'MoneyTransferred';

  constructor(private readonly notifier: Notifier) {}

  async handle(event: DomainEvent): Promise<void> {
    await this.notifier.send({ accountId: event.fromAccountId, kind: 'debit', amountCents: event.amountCents });
  }
}

/** Tells the payee their account was credited. */
export class NotifyPayee implements EventHandler {
  readonly name = 'NotifyPayee';
  readonly eventType = 'MoneyTransferred';

  constructor(private readonly notifier: Notifier) {}

  async handle(event: DomainEvent): Promise<void> {
    await this.notifier.send({ accountId: event.toAccountId, kind: 'credit', amountCents: event.amountCents });
  }
}

import { InvalidTransferError, type Account } from './account.ts';
import type { MoneyTransferred } from './events.ts';

/**
 * The domain service: moves money between two accounts and says what happened. It changes the
 * accounts in memory and returns the event; keeping the change and announcing it are the
 * application's business.
 */
export function transfer(from: Account, to: Account, amountCents: number): MoneyTransferred {
  if (!Number.isInteger(amountCents) || amountCents <= 0) {
    throw new InvalidTransferError('the amount must be a whole number of cents, above 0');
  }
  if (from.id === to.id) throw new InvalidTransferError('cannot transfer from an account to itself');
  from.withdraw(amountCents);
  to.deposit(amountCents);
  return { type: 'MoneyTransferred', fromAccountId: from.id, toAccountId: to.id, amountCents };
}

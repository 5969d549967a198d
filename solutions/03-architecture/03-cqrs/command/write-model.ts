/**
 * The write model: the state the commands decide on, and the rules. Pure: no store, no bus, no tracing.
 * It holds only what the rules need (no history): answering queries is not its job.
 */
import type { AccountEvent } from '../events.ts';

export interface Account {
  id: string;
  owner: string;
  balanceCents: number;
}

export class DuplicateAccountError extends Error {
  override readonly name = 'DuplicateAccountError';
}

export class UnknownAccountError extends Error {
  override readonly name = 'UnknownAccountError';
}

export class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError';
}

/** What a command decided: the account as it is now, and the event that says what happened. */
export interface Decision {
  account: Account;
  event: AccountEvent;
}

export function openAccount(current: Account | undefined, accountId: string, owner: string): Decision {
  if (current) throw new DuplicateAccountError(`account ${accountId} already exists`);
  return {
    account: { id: accountId, owner, balanceCents: 0 },
    event: { type: 'AccountOpened', accountId, owner },
  };
}

export function deposit(current: Account | undefined, accountId: string, amountCents: number): Decision {
  if (!current) throw new UnknownAccountError(`no account ${accountId}`);
  return {
    account: { ...current, balanceCents: current.balanceCents + amountCents },
    event: { type: 'MoneyDeposited', accountId, amountCents },
  };
}

export function withdraw(current: Account | undefined, accountId: string, amountCents: number): Decision {
  if (!current) throw new UnknownAccountError(`no account ${accountId}`);
  if (amountCents > current.balanceCents) {
    throw new InsufficientFundsError(`account ${accountId} holds ${current.balanceCents}, cannot withdraw ${amountCents}`);
  }
  return {
    account: { ...current, balanceCents: current.balanceCents - amountCents },
    event: { type: 'MoneyWithdrawn', accountId, amountCents },
  };
}

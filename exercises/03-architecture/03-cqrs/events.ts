/**
 * The contract between the two sides: what the command side publishes after a change, and all the
 * query side ever learns about it. Plain data, no behaviour, no tracing.
 */

/** The topic the command side publishes to and the projection reads from. */
export const ACCOUNT_EVENTS = 'account-events';

export interface AccountOpened {
  type: 'AccountOpened';
  accountId: string;
  owner: string;
}

export interface MoneyDeposited {
  type: 'MoneyDeposited';
  accountId: string;
  amountCents: number;
}

export interface MoneyWithdrawn {
  type: 'MoneyWithdrawn';
  accountId: string;
  amountCents: number;
}

export type AccountEvent = AccountOpened | MoneyDeposited | MoneyWithdrawn;

/** The bus's topics: `MessageBus<BankTopics>` carries AccountEvents on ACCOUNT_EVENTS. */
export interface BankTopics {
  'account-events': AccountEvent;
}

import type { AccountRow } from '../infrastructure/account-row.ts';

/** The account would go below zero. */
export class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError';

  constructor(
    readonly accountId: string,
    readonly amountCents: number,
    readonly balanceCents: number,
  ) {
    super(`account ${accountId} cannot pay ${amountCents} cents: its balance is ${balanceCents}`);
  }
}

/** The transfer itself makes no sense: an amount that is not a positive whole number of cents, or the same account twice. */
export class InvalidTransferError extends Error {
  override readonly name = 'InvalidTransferError';
}

/** An account: an id and a balance that never goes below zero. */
export class Account {
  constructor(
    readonly id: string,
    private balance: number,
  ) {}

  get balanceCents(): number {
    return this.balance;
  }

  withdraw(amountCents: number): void {
    if (amountCents > this.balance) throw new InsufficientFundsError(this.id, amountCents, this.balance);
    this.balance -= amountCents;
  }

  deposit(amountCents: number): void {
    this.balance += amountCents;
  }

  static fromRow(row: AccountRow): Account {
    return new Account(row.id, row.balanceCents);
  }

  toRow(): AccountRow {
    return { id: this.id, balanceCents: this.balance };
  }
}

import { Account } from '../domain/account.ts';

/** The table accounts are kept in. */
export const ACCOUNTS_TABLE = 'accounts';

/** How an account is stored: the persistence model, which the domain never sees. */
export interface AccountRow {
  id: string;
  balanceCents: number;
}

export function toAccount(row: AccountRow): Account {
  return Account.fromRow(row);
}

export function toRow(account: Account): AccountRow {
  return account.toRow();
}

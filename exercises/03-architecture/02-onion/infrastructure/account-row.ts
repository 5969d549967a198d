/** The table accounts are kept in. */
export const ACCOUNTS_TABLE = 'accounts';

/** How an account is stored: the persistence model. */
export interface AccountRow {
  id: string;
  balanceCents: number;
}

// TODO: the mapping between an AccountRow and the domain's Account belongs here, next to the row.

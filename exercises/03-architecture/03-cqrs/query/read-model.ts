/**
 * The read model: accounts shaped the way the screens read them, statement included. Only the
 * projection writes it; the queries only read it. Pure data: no behaviour, no tracing.
 */

export interface Movement {
  kind: 'deposit' | 'withdrawal';
  amountCents: number;
  /** The balance right after this movement. */
  balanceAfterCents: number;
}

export interface AccountView {
  accountId: string;
  owner: string;
  balanceCents: number;
  /** Every deposit and withdrawal, oldest first. */
  movements: Movement[];
}

/** Where the query side keeps its views: the read store, keyed by account id. */
export interface ReadStore {
  get(accountId: string): Promise<AccountView | undefined>;
  set(accountId: string, view: AccountView): Promise<void>;
}

import type { Account } from './account.ts';

/** Where accounts are kept: declared by the domain, implemented further out. */
export interface AccountRepository {
  get(id: string): Promise<Account | undefined>;
  save(account: Account): Promise<void>;
}

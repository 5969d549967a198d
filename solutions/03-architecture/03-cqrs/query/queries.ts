import { trace } from '@opentelemetry/api';
import type { AccountView, ReadStore } from './read-model.ts';

const ATTR_ACCOUNT_ID = 'app.account.id';

const tracer = trace.getTracer('tracecraft.bank.queries');

/** The query side: answers from the read model only, as it stands (eventually consistent). */
export class AccountQueries {
  constructor(private readonly readStore: ReadStore) {}

  /** The account as the projection last wrote it, or undefined when it has not seen the account yet. */
  getAccount(accountId: string): Promise<AccountView | undefined> {
    return tracer.startActiveSpan('query account', { attributes: { [ATTR_ACCOUNT_ID]: accountId } }, async (span) => {
      try {
        return await this.readStore.get(accountId);
      } finally {
        span.end();
      }
    });
  }
}

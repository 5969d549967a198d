import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { InMemoryDatabase, Transaction } from '#kit';
import { Account } from '../domain/account.ts';
import type { AccountRepository } from '../domain/account-repository.ts';
import type { UnitOfWork, UnitOfWorkFactory } from '../application/ports.ts';
import { ACCOUNTS_TABLE, type AccountRow } from './account-row.ts';

const tracer = trace.getTracer('tracecraft.transfers');

/** A call to the database: a CLIENT span that ends however the call ends. */
function databaseCall<T>(name: string, attributes: Attributes, call: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call();
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      span.recordException(err);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, err.name);
      throw error;
    } finally {
      span.end();
    }
  });
}

class DatabaseAccountRepository implements AccountRepository {
  constructor(private readonly transaction: Transaction) {}

  get(id: string): Promise<Account | undefined> {
    return databaseCall('AccountRepository.get', { 'app.account.id': id }, async () => {
      const row = await this.transaction.get<AccountRow>(ACCOUNTS_TABLE, id);
      return row && Account.fromRow(row);
    });
  }

  /** Written into the transaction, kept only when it commits. */
  save(account: Account): Promise<void> {
    return this.transaction.put(ACCOUNTS_TABLE, account.id, account.toRow());
  }
}

export class DatabaseUnitOfWork implements UnitOfWork {
  readonly accounts: AccountRepository;

  constructor(private readonly transaction: Transaction) {
    this.accounts = new DatabaseAccountRepository(transaction);
  }

  commit(): Promise<void> {
    return databaseCall('UnitOfWork.commit', {}, () => this.transaction.commit());
  }

  rollback(): Promise<void> {
    return this.transaction.rollback();
  }
}

export class DatabaseUnitOfWorkFactory implements UnitOfWorkFactory {
  constructor(private readonly database: InMemoryDatabase) {}

  begin(): UnitOfWork {
    return new DatabaseUnitOfWork(this.database.begin());
  }
}

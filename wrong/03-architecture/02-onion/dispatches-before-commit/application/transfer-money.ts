import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Account } from '../domain/account.ts';
import { transfer } from '../domain/transfer.ts';
import type { EventDispatcher } from './event-dispatcher.ts';
import type { UnitOfWork, UnitOfWorkFactory } from './ports.ts';

const tracer = trace.getTracer('tracecraft.transfers');

export class AccountNotFoundError extends Error {
  override readonly name = 'AccountNotFoundError';
}

export interface TransferCommand {
  fromAccountId: string;
  toAccountId: string;
  amountCents: number;
}

export interface TransferResult {
  from: { id: string; balanceCents: number };
  to: { id: string; balanceCents: number };
}

/** The use case: load both accounts, let the domain move the money, commit, and only then announce it. */
export class TransferMoney {
  constructor(
    private readonly unitsOfWork: UnitOfWorkFactory,
    private readonly events: EventDispatcher,
  ) {}

  execute(command: TransferCommand): Promise<TransferResult> {
    return tracer.startActiveSpan('TransferMoney', async (span) => {
      const work = this.unitsOfWork.begin();
      try {
        const from = await load(work, command.fromAccountId);
        const to = await load(work, command.toAccountId);
        const event = transfer(from, to, command.amountCents);
        await this.events.dispatch([event]);
        await work.accounts.save(from);
        await work.accounts.save(to);
        await work.commit();
        return { from: { id: from.id, balanceCents: from.balanceCents }, to: { id: to.id, balanceCents: to.balanceCents } };
      } catch (error) {
        await work.rollback();
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
}

async function load(work: UnitOfWork, id: string): Promise<Account> {
  const account = await work.accounts.get(id);
  if (!account) throw new AccountNotFoundError(`no account ${id}`);
  return account;
}

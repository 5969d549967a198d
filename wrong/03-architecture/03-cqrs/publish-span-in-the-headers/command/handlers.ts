import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { MessageBus } from '#kit';
import { ACCOUNT_EVENTS, type BankTopics } from '../events.ts';
import { deposit, openAccount, withdraw, type Account, type Decision } from './write-model.ts';

const ATTR_ACCOUNT_ID = 'app.account.id';

const tracer = trace.getTracer('tracecraft.bank.commands');

/** Where the command side keeps its accounts: the write store, keyed by account id. */
export interface WriteStore {
  get(accountId: string): Promise<Account | undefined>;
  set(accountId: string, account: Account): Promise<void>;
}

/** The command side: each command loads the account, decides, saves it, and publishes what happened. */
export class AccountCommands {
  constructor(
    private readonly writeStore: WriteStore,
    private readonly bus: MessageBus<BankTopics>,
  ) {}

  openAccount(accountId: string, owner: string): Promise<void> {
    return this.run('open-account', accountId, (current) => openAccount(current, accountId, owner));
  }

  deposit(accountId: string, amountCents: number): Promise<void> {
    return this.run('deposit', accountId, (current) => deposit(current, accountId, amountCents));
  }

  withdraw(accountId: string, amountCents: number): Promise<void> {
    return this.run('withdraw', accountId, (current) => withdraw(current, accountId, amountCents));
  }

  private run(command: string, accountId: string, decide: (current: Account | undefined) => Decision): Promise<void> {
    return tracer.startActiveSpan(`command ${command}`, { attributes: { [ATTR_ACCOUNT_ID]: accountId } }, async (span) => {
      try {
        const { account, event } = decide(await this.writeStore.get(accountId));
        await this.writeStore.set(accountId, account);
        await tracer.startActiveSpan(`publish ${ACCOUNT_EVENTS}`, { kind: SpanKind.PRODUCER }, async (publishSpan) => {
          try {
            const headers: Record<string, string> = {};
            propagation.inject(context.active(), headers);
            await this.bus.publish(ACCOUNT_EVENTS, { headers, body: event });
          } finally {
            publishSpan.end();
          }
        });
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.setAttribute(ATTR_ERROR_TYPE, err.name);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

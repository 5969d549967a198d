import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { BusMessage, MessageBus } from '#kit';
import { ACCOUNT_EVENTS, type AccountEvent, type BankTopics } from '../events.ts';
import type { AccountView, ReadStore } from './read-model.ts';

// Incubating messaging keys, copied as the semantic-conventions package advises.
const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const ATTR_EVENT_TYPE = 'app.event.type';
const ATTR_ACCOUNT_ID = 'app.account.id';

const tracer = trace.getTracer('tracecraft.bank.projection');

/** The view after `event`. Events of one account arrive in the order they were published. */
function apply(view: AccountView | undefined, event: AccountEvent): AccountView {
  if (event.type === 'AccountOpened') {
    return { accountId: event.accountId, owner: event.owner, balanceCents: 0, movements: [] };
  }
  if (!view) throw new Error(`${event.type} for account ${event.accountId}, which was never opened`);
  const deposit = event.type === 'MoneyDeposited';
  const balanceCents = view.balanceCents + (deposit ? event.amountCents : -event.amountCents);
  return {
    ...view,
    balanceCents,
    movements: [{ kind: deposit ? 'deposit' : 'withdrawal', amountCents: event.amountCents, balanceAfterCents: balanceCents }, ...view.movements],
  };
}

/** Keeps the read store current: applies every account event to its view. Returns the function that stops it. */
export function startProjection(bus: MessageBus<BankTopics>, readStore: ReadStore): () => void {
  return bus.subscribe(ACCOUNT_EVENTS, (message) => project(message, readStore), { name: 'account-projection' });
}

function project(message: BusMessage<AccountEvent>, readStore: ReadStore): Promise<void> {
  const event = message.body;
  // The command that caused this event is in another trace, and finished long ago: a link, not a parent.
  const cause = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, message.headers));
  const links: Link[] = cause ? [{ context: cause }] : [];
  const attributes = {
    [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    [ATTR_MESSAGING_DESTINATION_NAME]: ACCOUNT_EVENTS,
    [ATTR_EVENT_TYPE]: event.type,
    [ATTR_ACCOUNT_ID]: event.accountId,
  };
  return tracer.startActiveSpan(`process ${ACCOUNT_EVENTS}`, { kind: SpanKind.CONSUMER, root: true, links, attributes }, async (span) => {
    try {
      const current = event.type === 'AccountOpened' ? undefined : await readStore.get(event.accountId);
      await readStore.set(event.accountId, apply(current, event));
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

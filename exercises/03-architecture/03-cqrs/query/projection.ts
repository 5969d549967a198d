import { propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { MessageBus } from '#kit';
import { ACCOUNT_EVENTS, type AccountEvent, type BankTopics } from '../events.ts';
import type { AccountView, ReadStore } from './read-model.ts';

// Incubating messaging keys, copied as the semantic-conventions package advises.
const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const ATTR_EVENT_TYPE = 'app.event.type';
const ATTR_ACCOUNT_ID = 'app.account.id';

const tracer = trace.getTracer('tracecraft.bank.projection');

/** Keeps the read store current: applies every account event to its view. Returns the function that stops it. */
export function startProjection(bus: MessageBus<BankTopics>, readStore: ReadStore): () => void {
  // TODO: subscribe to ACCOUNT_EVENTS (bus.subscribe returns the function that stops it). For each
  //       message, bring the account's view in readStore up to date with the event in message.body:
  //       - AccountOpened: a new view, balance 0, no movements;
  //       - MoneyDeposited / MoneyWithdrawn: the balance changes, and a movement is added at the end
  //         of the statement, with the balance right after it.
  // TODO: trace each message as a CONSUMER span `process account-events` (with `tracer`) that starts
  //       a trace of its own and links to the command span whose context is in message.headers
  //       (propagation.extract into ROOT_CONTEXT, then trace.getSpanContext), with the attributes
  //       above. Do the read-store work inside it, and end it.
  void [bus, readStore];
  return () => undefined;
}

// TODO: a small pure function for the rules is handy:
//       function apply(view: AccountView | undefined, event: AccountEvent): AccountView { … }

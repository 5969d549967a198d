import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { DomainEvent } from '../domain/events.ts';
import type { EventHandler } from './ports.ts';

const tracer = trace.getTracer('tracecraft.transfers');

export const ATTR_DOMAIN_EVENT_NAME = 'app.domain_event.name';

/** Hands each domain event to the handlers of its type, one after the other. */
export class EventDispatcher {
  constructor(private readonly handlers: readonly EventHandler[]) {}

  async dispatch(events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) {
      // TODO: make each domain event visible on the span that is active (the use case's): a span
      //       event named after the event's type, with app.transfer.from, app.transfer.to and
      //       app.transfer.amount_cents.
      for (const handler of this.handlers.filter((h) => h.eventType === event.type)) {
        // TODO: each handler's work is a span of its own, named after the handler (handler.name),
        //       with app.domain_event.name = the event's type; ERROR with error.type if it throws.
        try {
          await handler.handle(event);
        } catch {
          // A failing handler cannot undo the transfer, which is already committed: it must not fail the use case.
        }
      }
    }
  }
}

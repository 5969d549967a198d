import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { DomainEvent } from '../domain/events.ts';
import type { EventHandler } from './ports.ts';

const tracer = trace.getTracer('tracecraft.transfers');

export const ATTR_DOMAIN_EVENT_NAME = 'app.domain_event.name';

/** What a span event says about a domain event: the facts an operator searches by. */
function attributesOf(event: DomainEvent): Attributes {
  return {
    'app.transfer.from': event.fromAccountId,
    'app.transfer.to': event.toAccountId,
    'app.transfer.amount_cents': event.amountCents,
  };
}

/** Hands each domain event to the handlers of its type, one after the other. */
export class EventDispatcher {
  constructor(private readonly handlers: readonly EventHandler[]) {}

  async dispatch(events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) {
      // A point in time on the span that is active: the use case's, which caused the event.
      trace.getActiveSpan()?.addEvent(event.type, attributesOf(event));
      for (const handler of this.handlers.filter((h) => h.eventType === event.type)) {
        try {
          await this.run(handler, event);
        } catch (error) {
          const err = error instanceof Error ? error : new Error(String(error));
          trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR });
          trace.getActiveSpan()?.setAttribute(ATTR_ERROR_TYPE, err.name);
        }
      }
    }
  }

  /** A handler's work is a span of its own, a child of the use case. A failing handler cannot undo the committed transfer: it is recorded, not rethrown. */
  private run(handler: EventHandler, event: DomainEvent): Promise<void> {
    return tracer.startActiveSpan(handler.name, { attributes: { [ATTR_DOMAIN_EVENT_NAME]: event.type } }, async (span) => {
      try {
        await handler.handle(event);
      } finally {
        span.end();
      }
    });
  }
}

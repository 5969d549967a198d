import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { BusMessage, MessageBus } from '#kit';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_SYSTEM_VALUE_MEMORY,
} from './messaging-attributes.ts';

const tracer = trace.getTracer('tracecraft.shop-services');

let processed = 0;

/** Publishes `body` on `topic`, as a PRODUCER span that travels with the message in its headers. */
export function publish<T extends object, K extends keyof T & string>(bus: MessageBus<T>, topic: K, body: T[K]): Promise<void> {
  const attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_MEMORY,
    [ATTR_MESSAGING_DESTINATION_NAME]: topic,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
    [ATTR_MESSAGING_OPERATION_NAME]: 'publish',
  };
  return tracer.startActiveSpan(`publish ${topic}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    try {
      // The headers are all that reaches the consumer: inject while this PRODUCER span is active,
      // so the traceparent names it.
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      await bus.publish(topic, { headers, body });
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Runs `handler` for every message on `topic`, as a CONSUMER span of `service`, a child of the message's PRODUCER span. */
export function subscribe<T extends object, K extends keyof T & string>(
  bus: MessageBus<T>,
  service: string,
  topic: K,
  handler: (body: T[K], message: BusMessage<T[K]>) => Promise<void>,
): () => void {
  return bus.subscribe(
    topic,
    async (message) => {
      // The bus calls us in the root context: the producer's span comes back only from the headers.
      const parent = propagation.extract(ROOT_CONTEXT, message.headers);
      const attributes = {
        [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_MEMORY,
        [ATTR_MESSAGING_DESTINATION_NAME]: topic,
        [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
        [ATTR_MESSAGING_OPERATION_NAME]: 'process',
        [ATTR_MESSAGING_MESSAGE_ID]: String(++processed),
        [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: service,
      };
      await tracer.startActiveSpan(`process ${topic}`, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
        try {
          // Active: what the handler calls, and what it publishes, become children of this span.
          await handler(message.body, message);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
          throw error;
        } finally {
          span.end();
        }
      });
    },
    { name: `${service} ← ${topic}` },
  );
}

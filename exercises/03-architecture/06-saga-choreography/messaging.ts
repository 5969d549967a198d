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

/** Publishes `body` on `topic`, as a PRODUCER span that travels with the message in its headers. */
export async function publish<T extends object, K extends keyof T & string>(bus: MessageBus<T>, topic: K, body: T[K]): Promise<void> {
  // TODO: a PRODUCER span `publish <topic>` around the publish, with ATTR_MESSAGING_SYSTEM,
  //       ATTR_MESSAGING_DESTINATION_NAME and ATTR_MESSAGING_OPERATION_TYPE ("send").
  // TODO: while it is active, inject the context into the message headers (propagation.inject):
  //       the headers are the only thing that reaches the consumer.
  const headers: Record<string, string> = {};
  await bus.publish(topic, { headers, body });
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
      // TODO: the bus calls this in the root context. Extract the producer's context from
      //       message.headers and start a CONSUMER span `process <topic>` with it as the parent,
      //       with ATTR_MESSAGING_SYSTEM, ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_OPERATION_TYPE
      //       ("process"), ATTR_MESSAGING_MESSAGE_ID (message.id) and ATTR_MESSAGING_CONSUMER_GROUP_NAME (service).
      // TODO: run the handler while that span is active, and end it (ERROR if the handler throws).
      await handler(message.body, message);
    },
    { name: `${service} ← ${topic}` },
  );
}

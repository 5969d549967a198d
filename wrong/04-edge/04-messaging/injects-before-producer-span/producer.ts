import { randomUUID } from 'node:crypto';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import type { BrokerChannel } from '#kit';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_SYSTEM_VALUE_MEMORY,
} from './messaging-attributes.ts';
import type { Order } from './order.ts';

const tracer = trace.getTracer('tracecraft.orders-producer');

/** Sends `order` to `queue` as JSON, and returns the message's id. */
export function publishOrder(channel: BrokerChannel, queue: string, order: Order): string {
  const messageId = randomUUID();
  const attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_MEMORY,
    [ATTR_MESSAGING_DESTINATION_NAME]: queue,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
    [ATTR_MESSAGING_OPERATION_NAME]: 'publish',
    [ATTR_MESSAGING_MESSAGE_ID]: messageId,
  };
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return tracer.startActiveSpan(`publish ${queue}`, { kind: SpanKind.PRODUCER, attributes }, (span) => {
    try {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(order)), {
        messageId,
        headers,
        contentType: 'application/json',
        persistent: true,
      });
      return messageId;
    } finally {
      span.end();
    }
  });
}

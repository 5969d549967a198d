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
  // TODO: make the publish a PRODUCER span "publish <queue>" with the messaging attributes of the
  //       trace contract, and put the trace context into the message headers while that span is
  //       active: the headers are all the consumer will ever see of it.
  channel.sendToQueue(queue, Buffer.from(JSON.stringify(order)), {
    messageId,
    contentType: 'application/json',
    persistent: true,
  });
  return messageId;
}


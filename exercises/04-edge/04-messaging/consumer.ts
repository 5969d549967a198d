import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { BrokerChannel, ConsumeMessage } from '#kit';
import {
  ATTR_DELIVERY_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_OUTCOME,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEM_VALUE_MEMORY,
  type DeliveryOutcome,
} from './messaging-attributes.ts';
import type { Order, OrderHandler } from './order.ts';

const tracer = trace.getTracer('tracecraft.orders-consumer');

export interface ConsumerOptions {
  /** The most deliveries one message gets: the last one that fails dead-letters it. */
  maxDeliveries: number;
}

/** Consumes `queue`: each order is handled, then acknowledged; a failure is retried, then dead-lettered. Resolves with the consumer tag. */
export async function startConsumer(channel: BrokerChannel, queue: string, handle: OrderHandler, options: ConsumerOptions): Promise<string> {
  const { consumerTag } = await channel.consume(queue, (message) => {
    // null: the broker cancelled the consumer (its queue was deleted). Nothing to settle.
    if (message === null) return;
    void processDelivery(channel, queue, message, handle, options.maxDeliveries);
  });
  return consumerTag;
}

async function processDelivery(channel: BrokerChannel, queue: string, message: ConsumeMessage, handle: OrderHandler, maxDeliveries: number): Promise<void> {
  // TODO: a message that always fails is requeued here forever, and blocks the queue. Count the
  //       deliveries (the quorum queue's x-delivery-count header: absent on the first delivery) and
  //       dead-letter the message on its last allowed one (nack without requeue).
  // TODO: make each delivery a CONSUMER span "process <queue>" whose parent is the context extracted
  //       from the message headers, active while the handler runs, with the attributes of the trace
  //       contract; a failed delivery is ERROR with error.type.
  try {
    await handle(JSON.parse(message.content.toString('utf8')) as Order);
    channel.ack(message);
  } catch {
    channel.nack(message);
  }
}

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

function processDelivery(channel: BrokerChannel, queue: string, message: ConsumeMessage, handle: OrderHandler, maxDeliveries: number): Promise<void> {
  const headers = message.properties.headers ?? {};
  // The broker delivers in no context at all: the producer's span comes back only from the headers.
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  // The quorum queue counts the deliveries before this one; absent on the first.
  const deliveryCount = Number(headers['x-delivery-count'] ?? 0) + 1;
  const attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_VALUE_MEMORY,
    [ATTR_MESSAGING_DESTINATION_NAME]: queue,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
    [ATTR_MESSAGING_OPERATION_NAME]: 'process',
    [ATTR_MESSAGING_MESSAGE_ID]: message.properties.messageId,
    [ATTR_DELIVERY_COUNT]: deliveryCount,
  };
  return tracer.startActiveSpan(`process ${queue}`, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    channel.ack(message);
    try {
      await handle(JSON.parse(message.content.toString('utf8')) as Order);
      span.setAttribute(ATTR_OUTCOME, 'ack');
    } catch (error) {
      // Requeue while deliveries are left; the last failure goes to the dead-letter queue, where it
      // stops blocking the queue and waits for someone to look at it.
      const outcome: DeliveryOutcome = deliveryCount < maxDeliveries ? 'requeue' : 'dead_letter';
      span.setAttribute(ATTR_OUTCOME, outcome);
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : typeof error);
    } finally {
      span.end();
    }
  });
}

import { trace } from '@opentelemetry/api';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Pool } from 'pg';
import type { OrderPlaced } from './order.ts';

/** On the CONSUMER span of a delivery: true when its message had been processed already. */
const ATTR_DUPLICATE = 'app.shipping.duplicate';

/** The shipping service: ships each order once, however often its OrderPlaced is delivered. Resolves the consumer tag. */
export async function startConsumer(channel: Channel, queue: string, pool: Pool): Promise<string> {
  const { consumerTag } = await channel.consume(queue, (message) => {
    // null: the broker cancelled the consumer (its queue was deleted). Nothing to settle.
    if (message === null) return;
    void ship(channel, pool, message);
  });
  return consumerTag;
}

async function ship(channel: Channel, pool: Pool, message: ConsumeMessage): Promise<void> {
  try {
    // TODO (idempotency): a message can arrive twice. Record its id (message.properties.messageId) in
    //       processed_messages in the same transaction as the shipment, and ship nothing for an id
    //       recorded already.
    // TODO (the trace): say on the delivery's CONSUMER span (the active span here) whether it was a
    //       duplicate: ATTR_DUPLICATE = true or false.
    void [trace, ATTR_DUPLICATE];
    const event = JSON.parse(message.content.toString('utf8')) as OrderPlaced;
    await pool.query('INSERT INTO shipments (order_id, sku, quantity) VALUES ($1, $2, $3)', [event.orderId, event.sku, event.quantity]);
    channel.ack(message);
  } catch {
    // Not processed: back to the queue, to be tried again.
    channel.nack(message, false, true);
  }
}

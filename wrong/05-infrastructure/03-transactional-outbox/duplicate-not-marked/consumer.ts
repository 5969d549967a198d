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
    const duplicate = await recordShipment(pool, message);
    // After the commit: a crash before the ack redelivers the message, and its recorded id absorbs it.
    channel.ack(message);
  } catch {
    // Not processed: back to the queue, to be tried again.
    channel.nack(message, false, true);
  }
}

/** Ships the order of the message, unless its id was processed already: resolves true for a duplicate. */
async function recordShipment(pool: Pool, message: ConsumeMessage): Promise<boolean> {
  const event = JSON.parse(message.content.toString('utf8')) as OrderPlaced;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The message id is recorded in the same transaction as the shipment: a message delivered twice
    // finds its id there and ships nothing more.
    const recorded = await client.query('INSERT INTO processed_messages (message_id) VALUES ($1) ON CONFLICT DO NOTHING', [message.properties.messageId]);
    const duplicate = recorded.rowCount === 0;
    if (!duplicate) {
      await client.query('INSERT INTO shipments (order_id, sku, quantity) VALUES ($1, $2, $3)', [event.orderId, event.sku, event.quantity]);
    }
    await client.query('COMMIT');
    return duplicate;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { ConfirmChannel } from 'amqplib';
import type { Pool } from 'pg';

interface OutboxRow {
  position: string;
  message_id: string;
  topic: string;
  payload: unknown;
  trace_context: Record<string, string>;
}

/**
 * Publishes every outbox row not sent yet, oldest first, to `exchange`, and marks each one sent once
 * the broker has confirmed it. Resolves how many rows it published. A real service runs it in a loop.
 */
export async function relayOnce(pool: Pool, channel: ConfirmChannel, exchange: string): Promise<number> {
  const { rows } = await pool.query<OutboxRow>(
    'SELECT position, message_id, topic, payload, trace_context FROM outbox WHERE sent_at IS NULL ORDER BY position LIMIT 100',
  );
  for (const row of rows) {
    // TODO (publisher confirms): mark the row only once the broker confirmed the message: give
    //       channel.publish a callback (err => …) and wait for it; a refused publish leaves it unsent.
    // TODO (the trace): publish in the context stored in the row (propagation.extract, context.with),
    //       so that instrumentation-amqplib's PRODUCER span continues the request's trace.
    void [context, propagation, ROOT_CONTEXT];
    channel.publish(exchange, row.topic, Buffer.from(JSON.stringify(row.payload)), {
      messageId: row.message_id,
      contentType: 'application/json',
      persistent: true,
    });
    await pool.query('UPDATE outbox SET sent_at = now() WHERE position = $1', [row.position]);
  }
  return rows.length;
}

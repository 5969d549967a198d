import { randomUUID } from 'node:crypto';
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
    // Published in the context of the request that wrote the row, not in the relay's own: the
    // PRODUCER span that instrumentation-amqplib makes is then a child of that request's span.
    const parent = propagation.extract(ROOT_CONTEXT, row.trace_context);
    await context.with(parent, () => publish(channel, exchange, row));
    // Only after the confirm: a crash before this line publishes the row again (a duplicate the
    // consumer absorbs); marking it first would lose the event if the publish then failed.
    await pool.query('UPDATE outbox SET sent_at = now() WHERE position = $1', [row.position]);
  }
  return rows.length;
}

/** Resolves when the broker confirms the message, rejects when it refuses it or the channel closes. */
function publish(channel: ConfirmChannel, exchange: string, row: OutboxRow): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish(
      exchange,
      row.topic,
      Buffer.from(JSON.stringify(row.payload)),
      { messageId: randomUUID(), contentType: 'application/json', persistent: true },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

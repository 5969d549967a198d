import { randomUUID } from 'node:crypto';
import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Pool } from 'pg';
import { ORDER_PLACED, type Order, type OrderPlaced } from './order.ts';

const ATTR_ORDER_ID = 'app.order.id';

const tracer = trace.getTracer('tracecraft.orders');

/**
 * Places the order: the order and its OrderPlaced event in one transaction, the event as an outbox
 * row that the relay publishes later. Resolves the event's message id.
 */
export function placeOrder(pool: Pool, order: Order): Promise<string> {
  return tracer.startActiveSpan('place order', { attributes: { [ATTR_ORDER_ID]: order.id } }, async (span) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO orders (id, sku, quantity) VALUES ($1, $2, $3)', [order.id, order.sku, order.quantity]);
      const event: OrderPlaced = { type: 'OrderPlaced', orderId: order.id, sku: order.sku, quantity: order.quantity };
      // This span's context goes into the row: the relay publishes in another loop, later, and
      // continues this trace from it.
      const traceContext: Record<string, string> = {};
      propagation.inject(context.active(), traceContext);
      const messageId = randomUUID();
      await client.query('INSERT INTO outbox (message_id, topic, payload, trace_context) VALUES ($1, $2, $3, $4)', [
        messageId,
        ORDER_PLACED,
        event,
        traceContext,
      ]);
      // Both rows or neither: no order without its event, no event without its order.
      await client.query('COMMIT');
      return messageId;
    } catch (error) {
      await client.query('ROLLBACK');
      const err = error instanceof Error ? error : new Error(String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      span.setAttribute(ATTR_ERROR_TYPE, err.name);
      throw error;
    } finally {
      client.release();
      span.end();
    }
  });
}

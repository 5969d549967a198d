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
export async function placeOrder(pool: Pool, order: Order): Promise<string> {
  // TODO (one transaction): the order and its outbox row are written by two statements that each
  //       commit on their own: a failure between them leaves an order without its event. Write both
  //       on one client, between BEGIN and COMMIT, and ROLLBACK on any failure.
  // TODO (the trace): run it all in a "place order" span (ATTR_ORDER_ID = the order's id; ERROR with
  //       ATTR_ERROR_TYPE when it fails), and store that span's context in trace_context
  //       (propagation.inject into a plain object).
  void [context, propagation, SpanStatusCode, ATTR_ERROR_TYPE, ATTR_ORDER_ID, tracer];
  await pool.query('INSERT INTO orders (id, sku, quantity) VALUES ($1, $2, $3)', [order.id, order.sku, order.quantity]);
  const event: OrderPlaced = { type: 'OrderPlaced', orderId: order.id, sku: order.sku, quantity: order.quantity };
  const messageId = randomUUID();
  await pool.query('INSERT INTO outbox (message_id, topic, payload, trace_context) VALUES ($1, $2, $3, $4)', [messageId, ORDER_PLACED, event, {}]);
  return messageId;
}

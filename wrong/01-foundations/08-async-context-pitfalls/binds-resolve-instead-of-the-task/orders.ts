import { context, trace } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { enqueue, runLater, warehouse, type ReservationReply } from './background.ts';

export interface Order {
  id: string;
  sku: string;
  quantity: number;
}

export interface Receipt {
  orderId: string;
  reservationId: string;
}

const tracer = trace.getTracer('tracecraft.orders');

/** Places an order: reserves the stock, schedules a reminder and sends a confirmation, all at once. */
export function placeOrder(order: Order): Promise<Receipt> {
  return tracer.startActiveSpan('place-order', { attributes: { 'app.order.id': order.id } }, async (span) => {
    try {
      const [reservationId] = await Promise.all([reserveStock(order), scheduleReminder(order), sendConfirmation(order)]);
      return { orderId: order.id, reservationId };
    } finally {
      span.end();
    }
  });
}

/** Asks the warehouse to hold the stock. The reply arrives as an event on the shared connection. */
function reserveStock(order: Order): Promise<string> {
  return new Promise((resolve) => {
    const correlationId = `reserve/${order.id}`;
    // A listener runs in the context of whoever emits: here the connection's reader loop.
    // Binding it to the current context makes it run in this order's context instead.
    const onReply = context.bind(context.active(), (reply: ReservationReply) => {
      tracer.startActiveSpan('record-reservation', { attributes: { 'app.order.id': order.id } }, (span) => {
        span.end();
        resolve(reply.reservationId);
      });
    });
    warehouse.once(correlationId, onReply);
    warehouse.send(correlationId, order.sku, order.quantity);
  });
}

/** Reminds the customer a little later, on the shared timer. */
function scheduleReminder(order: Order): Promise<void> {
  return new Promise((resolve) => {
    // The promise's resolve is bound, but the span is started by the task, which still runs in the timer's context.
    const done = context.bind(context.active(), resolve);
    runLater(() => {
      tracer.startActiveSpan('send-reminder', { attributes: { 'app.order.id': order.id } }, (span) => {
        span.end();
        done();
      });
    });
  });
}

/** Sends the confirmation mail through the job queue. */
function sendConfirmation(order: Order): Promise<void> {
  return new Promise((resolve) => {
    // The worker runs every job in its own context: the job carries this order's, bound here.
    enqueue(
      context.bind(context.active(), async () => {
        await tracer.startActiveSpan('send-confirmation', { attributes: { 'app.order.id': order.id } }, async (span) => {
          try {
            await sleep(1); // talking to the mail server
          } finally {
            span.end();
          }
        });
        resolve();
      }),
    );
  });
}

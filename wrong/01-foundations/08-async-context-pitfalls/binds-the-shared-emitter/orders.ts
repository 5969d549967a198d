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
    // Binds the connection itself: it is patched once, by the first order, and every listener added later runs in that order's context.
    context.bind(context.active(), warehouse).once(correlationId, (reply: ReservationReply) => {
      tracer.startActiveSpan('record-reservation', { attributes: { 'app.order.id': order.id } }, (span) => {
        span.end();
        resolve(reply.reservationId);
      });
    });
    warehouse.send(correlationId, order.sku, order.quantity);
  });
}

/** Reminds the customer a little later, on the shared timer. */
function scheduleReminder(order: Order): Promise<void> {
  return new Promise((resolve) => {
    // The shared timer was armed by whichever order came first, and runs every task in that
    // order's context. A bound task carries its own.
    runLater(
      context.bind(context.active(), () => {
        tracer.startActiveSpan('send-reminder', { attributes: { 'app.order.id': order.id } }, (span) => {
          span.end();
          resolve();
        });
      }),
    );
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

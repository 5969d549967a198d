/*
 * The order worker: it charges each order and says what happened in structured log lines, written
 * inside the spans of the work they describe.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import { traceFields } from './logger.ts';

const tracer = trace.getTracer('tracecraft.order-worker');

export const ATTR_ORDER_ID = 'app.order.id';

export interface Order {
  id: string;
  customerId: string;
  amountCents: number;
}

export type ChargeResult = { approved: true } | { approved: false; reason: string };

export interface Payments {
  /** Resolves with the provider's answer; rejects when the provider cannot be reached. */
  charge(order: Order): Promise<ChargeResult>;
}

export type Outcome = 'paid' | 'declined' | 'failed';

export interface OrderWorker {
  /** Charges one order, in a span that is a child of whatever span is active. */
  process(order: Order): Promise<Outcome>;
}

export interface OrderWorkerOptions {
  logger: Logger;
  payments: Payments;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export function createOrderWorker({ logger, payments }: OrderWorkerOptions): OrderWorker {
  logger.info('order worker ready');

  const charge = (order: Order, log: Logger): Promise<ChargeResult> =>
    tracer.startActiveSpan('charge', { kind: SpanKind.CLIENT, attributes: { [ATTR_ORDER_ID]: order.id } }, async (span) => {
      try {
        log.info({ amount_cents: order.amountCents }, 'charging card');
        return await payments.charge(order);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, errorName(error));
        throw error;
      } finally {
        span.end();
      }
    });

  return {
    process: (order) =>
      tracer.startActiveSpan('process order', { attributes: { [ATTR_ORDER_ID]: order.id } }, async (span) => {
        // Every line of this order names its trace.
        const log = logger.child({ order_id: order.id, ...traceFields() });
        try {
          log.info({ amount_cents: order.amountCents }, 'order received');
          const result = await charge(order, log);
          if (result.approved) {
            log.info('order paid');
            return 'paid';
          }
          log.warn({ reason: result.reason }, 'payment declined');
          return 'declined';
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, errorName(error));
          // Under `err`, pino's serializer writes the error's type, message and stack.
          log.error({ err: error }, 'payment failed');
          return 'failed';
        } finally {
          span.end();
        }
      }),
  };
}

/*
 * The order worker: it charges each order and says what happened in structured log lines, written
 * inside the spans of the work they describe.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';

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
        log.info(`charging ${order.amountCents} cents for order ${order.id}`);
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
        // TODO: structured lines, as the README lists them: a constant message, the details in fields.
        const log = logger;
        try {
          log.info(`received order ${order.id} for ${order.amountCents} cents`);
          const result = await charge(order, log);
          if (result.approved) {
            log.info(`order ${order.id} paid`);
            return 'paid';
          }
          log.info(`payment for order ${order.id} declined: ${result.reason}`);
          return 'declined';
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, errorName(error));
          log.info(`payment for order ${order.id} failed: ${String(error)}`);
          return 'failed';
        } finally {
          span.end();
        }
      }),
  };
}

import { SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { InMemoryOrderRepository } from '../adapters/in-memory-order-repository.ts';
import { createOrder, markPaid, markPaymentDeclined } from './order.ts';
import type { PaymentGateway, PlaceOrderCommand, PlaceOrderResult, PlaceOrderUseCase } from './ports.ts';

// TODO: this is the core, and it knows too much. It imports OpenTelemetry, and it asks for one
//       particular adapter (InMemoryOrderRepository) instead of the port (OrderRepository). Make it
//       depend on its ports only, and move the tracing out to decorators in adapters/tracing.ts.
const tracer = trace.getTracer('tracecraft.orders');

/**
 * The use case: price the order, keep it as pending, charge it, and keep the outcome.
 */
export class PlaceOrder implements PlaceOrderUseCase {
  constructor(
    private readonly orders: InMemoryOrderRepository,
    private readonly payments: PaymentGateway,
    private readonly newId: () => string = () => crypto.randomUUID(),
  ) {}

  placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    return tracer.startActiveSpan('PlaceOrder', async (span): Promise<PlaceOrderResult> => {
      try {
        const order = createOrder(this.newId(), command.customerId, command.lines);
        span.setAttribute('app.order.id', order.id);
        await this.orders.save(order);
        const charge = await this.payments.charge({
          orderId: order.id,
          amountCents: order.totalCents,
          paymentToken: command.paymentToken,
        });
        if (charge.approved) {
          await this.orders.save(markPaid(order, charge.paymentId));
          span.setAttribute('app.order.status', 'paid');
          return { orderId: order.id, status: 'paid', totalCents: order.totalCents };
        }
        await this.orders.save(markPaymentDeclined(order, charge.reason));
        span.setAttribute('app.order.status', 'payment_declined');
        return { orderId: order.id, status: 'payment_declined', totalCents: order.totalCents, reason: charge.reason };
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, (error as Error).name);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
